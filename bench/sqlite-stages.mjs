#!/usr/bin/env node
// What each stage of a SQLite backup costs, on one file (run by bench/backup.mjs; needs `npm run build`).
// The stages are added one at a time to the page reader, each run reading the whole snapshot:
// read pages → zstd → encrypt → SHA-256 → write → fsync. A stage's cost is the time it adds.
// Prints one JSON line: { stages: [{ name, ms }], ... }.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (module) => import(path.join(root, 'dist/engine', module));
const { default: Sqlite } = await import(path.join(root, 'node_modules/better-sqlite3/lib/index.js'));
const { openSnapshot } = await dist('engines/sqlite/pages.js');
const { HeldFiles } = await dist('engines/sqlite/held-files.js');
const { ParallelZstd } = await dist('repository/zstd.js');
const { EncryptStream } = await dist('repository/crypto.js');

const file = process.argv[2];
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'storage-bench-stages-')), 'payload');
const key = randomBytes(32);
const hashing = () => {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
};
const discard = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

async function run(stages) {
  const db = new Sqlite(file, { readonly: true });
  const held = new HeldFiles();
  const started = performance.now();
  const reader = openSnapshot(db, held);
  if (!reader) throw new Error('the page reader cannot be used on this file');
  await pipeline(Readable.from(reader.pages(), { objectMode: false, highWaterMark: 1 }), ...stages());
  reader.counts();
  reader.end();
  const ms = performance.now() - started;
  db.close();
  held.closeAll();
  return ms;
}

const steps = [
  ['read pages (+ row counts)', () => [discard()]],
  ['+ zstd level 3', () => [new ParallelZstd(3), discard()]],
  ['+ encrypt (AES-256-GCM)', () => [new ParallelZstd(3), new EncryptStream(key, 'bench'), discard()]],
  ['+ SHA-256', () => [new ParallelZstd(3), new EncryptStream(key, 'bench'), hashing(), discard()]],
  ['+ write', () => [new ParallelZstd(3), new EncryptStream(key, 'bench'), hashing(), fs.createWriteStream(out)]],
];
const stages = [];
for (const [name, make] of steps) stages.push({ name, ms: await run(make) });
const started = performance.now();
const fd = fs.openSync(out, 'r+');
fs.fsyncSync(fd);
fs.closeSync(fd);
stages.push({ name: '+ fsync', ms: stages.at(-1).ms + (performance.now() - started) });
fs.rmSync(path.dirname(out), { recursive: true, force: true });
console.log(JSON.stringify({ stages }));
