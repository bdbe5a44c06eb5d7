// The payload pipeline (src/engine/repository/payload.ts) on real files: what writePayload records
// (sizes, the SHA-256 of the stored bytes) is what is on disk, every compression and cipher reads
// back to the same bytes, and any change to the stored bytes or the manifest's facts is BAD_DATA
// (65) before a restore could use it.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/engine/errors.js';
import type { Compression, PayloadFile } from '../../src/engine/repository/manifest.js';
import { discard, payloadName, readPayload, writePayload } from '../../src/engine/repository/payload.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-payload-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Compressible but not trivial: text with random words.
function data(bytes: number): Buffer {
  const words = Array.from({ length: 64 }, () => randomBytes(6).toString('hex'));
  let text = '';
  while (text.length < bytes) text += `${words[Math.floor(Math.random() * words.length)]} `;
  return Buffer.from(text.slice(0, bytes));
}

function collect(): { sink: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  return {
    sink: new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        parts.push(chunk);
        callback();
      },
    }),
    bytes: () => Buffer.concat(parts),
  };
}

async function bad(work: Promise<unknown>): Promise<StorageError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe('BAD_DATA');
  expect((error as StorageError).exitCode).toBe(65);
  return error as StorageError;
}

let n = 0;
async function written(input: Buffer, compression: Compression, key?: Buffer): Promise<{ entry: PayloadFile; file: string; sub: string }> {
  const sub = path.join(dir, `p${++n}`);
  fs.mkdirSync(sub);
  const name = payloadName('sqlite', { compression, encrypted: key !== undefined });
  const entry = await writePayload(Readable.from([input.subarray(0, 1000), input.subarray(1000)]), sub, name, { compression, key, context: `b/${name}` });
  return { entry, file: path.join(sub, name), sub };
}

describe('payload files', () => {
  it('names say what they hold', () => {
    expect(payloadName('sqlite', { compression: 'zstd', encrypted: true })).toBe('payload.sqlite.zst.enc');
    expect(payloadName('pgdump', { compression: 'gzip', encrypted: false })).toBe('payload.pgdump.gz');
    expect(payloadName('bson', { compression: 'none', encrypted: true })).toBe('payload.bson.enc');
    expect(payloadName('bson', { compression: 'none', encrypted: false })).toBe('payload.bson');
  });

  for (const compression of ['zstd', 'gzip', 'none'] as const) {
    for (const encrypted of [true, false]) {
      it(`${compression}${encrypted ? ', encrypted' : ''}: records the stored bytes' size and SHA-256, the plain size; reads back byte for byte`, async () => {
        const input = data(300_000);
        const key = encrypted ? randomBytes(32) : undefined;
        const { entry, file, sub } = await written(input, compression, key);
        const stored = fs.readFileSync(file);
        expect(entry).toEqual({
          name: path.basename(file),
          bytes: stored.length,
          sha256: createHash('sha256').update(stored).digest('hex'),
          plainBytes: input.length,
          compression,
        });
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        if (compression !== 'none') expect(stored.length).toBeLessThan(input.length);
        if (compression === 'none' && !encrypted) expect(stored.equals(input)).toBe(true);
        if (encrypted) expect(stored.includes(input.subarray(5000, 5032))).toBe(false);
        const out = collect();
        expect(await readPayload(sub, entry, { key, context: `b/${entry.name}` }, out.sink)).toBe(input.length);
        expect(out.bytes().equals(input)).toBe(true);
      });
    }
  }

  it('reports progress each time the stored bytes have grown by more than 4 MiB since the last report', async () => {
    const piece = 64 * 1024;
    const input = randomBytes(160 * piece); // 10 MiB in 64 KiB pieces
    const sub = path.join(dir, 'progress');
    fs.mkdirSync(sub);
    const seen: number[] = [];
    const pieces = Array.from({ length: 160 }, (_, i) => input.subarray(i * piece, (i + 1) * piece));
    const entry = await writePayload(Readable.from(pieces), sub, 'payload.bin', { compression: 'none', context: 'x', onProgress: (bytes) => seen.push(bytes) });
    expect(entry.bytes).toBe(input.length);
    // 65 pieces is the first count past 4 MiB; then 65 more past that report.
    expect(seen).toEqual([65 * piece, 130 * piece]);
  });

  it('the zstd level is the one asked for (19 packs tighter than 1); the default one (3) when none is', async () => {
    const input = data(150_000);
    const sizes: Record<string, number> = {};
    for (const level of [1, 19, undefined]) {
      const sub = path.join(dir, `level-${String(level)}`);
      fs.mkdirSync(sub);
      sizes[String(level)] = (await writePayload(Readable.from([input]), sub, 'payload.x.zst', { compression: 'zstd', level, context: 'x' })).bytes;
    }
    expect(sizes['19']).toBeLessThan(sizes['1']);
    expect(sizes['undefined']).toBeGreaterThan(sizes['19']);
  });

  it('a file-system error of the pipeline without a path is given the payload file; one with a path keeps it; other errors are left as they are', async () => {
    const failing = (error: Error) =>
      new Readable({
        read() {
          this.destroy(error);
        },
      });
    const sub = path.join(dir, 'errors');
    fs.mkdirSync(sub);
    const caught = (source: Readable) =>
      writePayload(source, sub, 'payload.y', { compression: 'none', context: 'x' }).then(
        () => undefined,
        (error: unknown) => error as NodeJS.ErrnoException,
      );
    const bare = await caught(failing(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' })));
    expect(bare?.code).toBe('ENOSPC');
    expect(bare?.path).toBe(path.join(sub, 'payload.y'));
    const named = await caught(failing(Object.assign(new Error('EIO'), { code: 'EIO', syscall: 'read', path: '/dev/sdz' })));
    expect(named?.path).toBe('/dev/sdz');
    const other = await caught(failing(new Error('the dump tool died')));
    expect(other?.message).toBe('the dump tool died');
    expect(other?.path).toBeUndefined();
  });

  it('a flipped byte of a plain payload is caught by its SHA-256 alone (same size), naming the file; nothing reaches the sink unchecked', async () => {
    const input = data(50_000);
    const { entry, file, sub } = await written(input, 'none');
    const bytes = fs.readFileSync(file);
    bytes[20_000] ^= 0x01;
    fs.writeFileSync(file, bytes);
    const error = await bad(readPayload(sub, entry, { context: 'x' }, discard()));
    expect(error.message).toBe(`${entry.name} does not match its manifest (50000 bytes, expected 50000; SHA-256 differs).`);
    expect(error.details).toEqual({ file: entry.name });
  });

  it('a truncated payload is caught by its size, even when the manifest SHA-256 is of the truncated bytes', async () => {
    const input = data(50_000);
    const { entry, file, sub } = await written(input, 'none');
    fs.truncateSync(file, 49_999);
    const cut = fs.readFileSync(file);
    const forged = { ...entry, sha256: createHash('sha256').update(cut).digest('hex') };
    const error = await bad(readPayload(sub, forged, { context: 'x' }, discard()));
    expect(error.message).toContain('(49999 bytes, expected 50000; SHA-256 matches)');
  });

  it('a manifest whose plain size is wrong fails after decoding; a missing file fails before reading', async () => {
    const input = data(40_000);
    const { entry, sub } = await written(input, 'zstd');
    const wrong = await bad(readPayload(sub, { ...entry, plainBytes: entry.plainBytes + 1 }, { context: 'x' }, discard()));
    expect(wrong.message).toBe(`${entry.name} decodes to 40000 bytes, the manifest says 40001.`);
    expect(wrong.hint).toBe('Do not restore from this backup.');
    expect(wrong.details).toEqual({ file: entry.name });
    const missing = await bad(readPayload(sub, { ...entry, name: 'payload.gone' }, { context: 'x' }, discard()));
    expect(missing.message).toBe('payload.gone is missing from the backup.');
    expect(missing.details).toEqual({ file: 'payload.gone' });
  });

  it('a missing payload file ends the sink it was given (destroyed, its late error swallowed)', async () => {
    const { entry, sub } = await written(data(1_000), 'none');
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const missing = await bad(readPayload(sub, { ...entry, name: 'payload.gone' }, { context: 'x' }, sink));
    expect(missing.message).toBe('payload.gone is missing from the backup.');
    expect(sink.destroyed).toBe(true);
    sink.emit('error', new Error('late failure of the sink'));
  });

  it('a gzip payload whose bytes and manifest were both replaced (matching SHA-256) fails decoding as BAD_DATA, not a crash', async () => {
    const input = data(40_000);
    const { entry, file, sub } = await written(input, 'gzip');
    const junk = randomBytes(entry.bytes);
    fs.writeFileSync(file, junk);
    const forged = { ...entry, sha256: createHash('sha256').update(junk).digest('hex') };
    const error = await bad(readPayload(sub, forged, { context: 'x' }, discard()));
    expect(error.message).toMatch(new RegExp(`^${entry.name.replace(/\./g, '\\.')} cannot be read back: `));
    expect(error.details).toEqual({ file: entry.name });
  });

  it('an encrypted payload read with another key or context is BAD_DATA; with its own it reads', async () => {
    const input = data(40_000);
    const key = randomBytes(32);
    const { entry, sub } = await written(input, 'zstd', key);
    await bad(readPayload(sub, entry, { key: randomBytes(32), context: `b/${entry.name}` }, discard()));
    await bad(readPayload(sub, entry, { key, context: `other/${entry.name}` }, discard()));
    expect(await readPayload(sub, entry, { key, context: `b/${entry.name}` }, discard())).toBe(input.length);
  });

  it('a sink that fails (disk full where the data goes) is a FAILED file-system error naming the sink, or the payload file, not a damaged backup', async () => {
    const input = data(40_000);
    const { entry, file, sub } = await written(input, 'none');
    const sinkFailing = (syscall: string, sinkPath?: string) =>
      Object.assign(
        new Writable({
          write: (_chunk, _encoding, callback) =>
            callback(Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { code: 'ENOSPC', syscall })),
        }),
        sinkPath ? { path: sinkPath } : {},
      );
    const failure = async (sink: Writable) => {
      const error = await readPayload(sub, entry, { context: 'x' }, sink).then(
        () => undefined,
        (caught: unknown) => caught as StorageError,
      );
      expect(error).toBeInstanceOf(StorageError);
      expect(error!.code).toBe('FAILED');
      expect(error!.message).toContain('ENOSPC');
      return error!;
    };
    // A write error names the sink's file when it has one, else no file (the payload was read fine).
    expect((await failure(sinkFailing('write', '/restore/target.db'))).details).toEqual({ errno: 'ENOSPC', path: '/restore/target.db' });
    expect((await failure(sinkFailing('write'))).details).toEqual({ errno: 'ENOSPC' });
    // Any other file-system error is the payload file's.
    expect((await failure(sinkFailing('read', '/restore/target.db'))).details).toEqual({ errno: 'ENOSPC', path: file });
  });

  it('a write into a directory that is gone names the payload file it could not write', async () => {
    const error = await writePayload(Readable.from([Buffer.from('x')]), path.join(dir, 'no-such-dir'), 'payload.x', { compression: 'none', context: 'x' }).then(
      () => undefined,
      (caught: unknown) => caught as NodeJS.ErrnoException,
    );
    expect(error?.code).toBe('ENOENT');
    expect(error?.path).toBe(path.join(dir, 'no-such-dir', 'payload.x'));
  });
});
