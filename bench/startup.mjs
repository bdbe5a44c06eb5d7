#!/usr/bin/env node
// Start-up benchmark: median wall time of `storage --version`, `storage --help` and
// `storage db health` (embedded SQLite default, no config) against `node -e ''` in the same run,
// printed as ratios. Bars (issue 2): --version ≤ 2×, --help ≤ 3×, db health ≤ 4×.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/run.js');
const runs = Number(process.env.BENCH_RUNS ?? 21);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-bench-'));
const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data') };
// Two code caches: oclif's bundle is compiled from the V8 code cache `npm run build` made (every
// Node), and bin/run.js turns on Node's module compile cache for the rest where Node has it
// (≥ 22.1). NODE_DISABLE_COMPILE_CACHE=1 measures without either.
if (process.env.NODE_DISABLE_COMPILE_CACHE) env.NODE_DISABLE_COMPILE_CACHE = process.env.NODE_DISABLE_COMPILE_CACHE;
const nodeCache = (await import('node:module')).default.enableCompileCache ? 'Node module cache' : 'no Node module cache in this Node';
const compileCache = env.NODE_DISABLE_COMPILE_CACHE ? 'off' : `oclif bundle's, ${nodeCache}`;

const cases = [
  { name: "node -e ''", args: ['-e', ''] },
  { name: 'storage --version', args: [bin, '--version'], bar: 2 },
  { name: 'storage --help', args: [bin, '--help'], bar: 3 },
  { name: 'storage db health', args: [bin, 'db', 'health'], bar: 4 },
];

function once(args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: home, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

// Warm the file cache and create the embedded store once, then interleave the cases so drift
// in machine load hits them all alike.
for (const c of cases) once(c.args);
const samples = new Map(cases.map((c) => [c.name, []]));
for (let i = 0; i < runs; i++) for (const c of cases) samples.get(c.name).push(once(c.args));

const baseline = median(samples.get(cases[0].name));
let failed = false;
console.log(`start-up, median of ${runs} runs (node ${process.version}, ${os.cpus().length} cores, code caches: ${compileCache})`);
for (const c of cases) {
  const ms = median(samples.get(c.name));
  const ratio = ms / baseline;
  const verdict = c.bar === undefined ? 'baseline' : ratio <= c.bar ? `ok (bar ${c.bar}×)` : `OVER the ${c.bar}× bar`;
  if (c.bar !== undefined && ratio > c.bar) failed = true;
  console.log(`${c.name.padEnd(20)} ${ms.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}×  ${verdict}`);
}
// Concurrency bar: three stores, one of them a hung server (accepts, never answers), with a 2 s
// connect timeout. Concurrent probing returns in about one timeout, not the sum.
const net = await import('node:net');
const hung = net.createServer(() => undefined);
await new Promise((resolve) => hung.listen(0, '127.0.0.1', resolve));
const config = path.join(home, 'three.yaml');
fs.writeFileSync(
  config,
  [
    'stores:',
    '  a: { engine: sqlite, path: a.db }',
    '  b: { engine: sqlite, path: b.db }',
    `  hung: { engine: postgres, url: "postgres://x@127.0.0.1:${hung.address().port}/x", connectTimeout: 2s }`,
  ].join('\n'),
);
for (const name of ['a.db', 'b.db']) fs.writeFileSync(path.join(home, name), '');
const started = process.hrtime.bigint();
const probe = await new Promise((resolve) => {
  const child = spawn(process.execPath, [bin, 'db', 'health', '--config', config, '--json'], { cwd: home, env, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.on('close', (code) => resolve({ code, out }));
});
const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
hung.close();
const down = JSON.parse(probe.out)
  .stores.filter((s) => s.status === 'down')
  .map((s) => `${s.store} ${s.error.code}`);
const within = elapsed < 2000 * 1.5 + 1000;
if (!within) failed = true;
console.log(
  `db health, 3 stores, 1 hung (connect timeout 2 s): ${elapsed.toFixed(0)} ms, exit ${probe.code}, down: ${down.join(', ')}  ${within ? 'ok (about one timeout)' : 'OVER: looks sequential'}`,
);

fs.rmSync(home, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
