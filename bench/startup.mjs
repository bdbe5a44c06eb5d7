#!/usr/bin/env node
// Start-up benchmark: median wall time of `storage --version`, `storage --help` and
// `storage db health` (embedded SQLite default, no config) against `node -e ''` in the same run,
// printed as ratios. Bars (issue 2): --version ≤ 2×, --help ≤ 3×, db health ≤ 4×.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/run.js');
const runs = Number(process.env.BENCH_RUNS ?? 21);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-bench-'));
const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data') };

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

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const baseline = median(samples.get(cases[0].name));
let failed = false;
console.log(`start-up, median of ${runs} runs (node ${process.version}, ${os.cpus().length} cores)`);
for (const c of cases) {
  const ms = median(samples.get(c.name));
  const ratio = ms / baseline;
  const verdict = c.bar === undefined ? 'baseline' : ratio <= c.bar ? `ok (bar ${c.bar}×)` : `OVER the ${c.bar}× bar`;
  if (c.bar !== undefined && ratio > c.bar) failed = true;
  console.log(`${c.name.padEnd(20)} ${ms.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}×  ${verdict}`);
}
fs.rmSync(home, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
