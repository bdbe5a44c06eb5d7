#!/usr/bin/env node
// Snapshot benchmark (issue 5): on PostgreSQL pgbench scale $BENCH_PG_SCALE (default 50), in one
// run, `snapshot create` against `backup create` and `snapshot restore` against `backup restore`
// of the same database (medians of $BENCH_ROUNDS rounds, default 2). Bars: both ≤ 0.5×.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, pgbenchDatabase, pgUrlFor, psqlAt } from './common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/run.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-bench-snapshot-'));
const base = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const scale = Number(process.env.BENCH_PG_SCALE ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const env = { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config'), XDG_DATA_HOME: path.join(work, 'data') };
delete env.STORAGE_BACKUP_PASSPHRASE;
const url = (name) => pgUrlFor(base, name);

function run(command, args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', env, cwd: work, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr.slice(-2000)}`);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, stdout: result.stdout };
}
const psql = (sql) => psqlAt(url('postgres'), sql, env);
const storage = (...args) => run(process.execPath, [bin, ...args, '--config', config]);
const dropLike = (pattern) => {
  for (const name of psql(`select datname from pg_database where datname like '${pattern}'`).split('\n').filter(Boolean))
    psql(`drop database "${name}" with (force)`);
};

const db = pgbenchDatabase(base, scale, env);
const config = path.join(work, 'storage.config.yaml');
fs.writeFileSync(config, `stores:\n  bench: { engine: postgres, url: "${url(db)}" }\nbackup: { repository: ${path.join(work, 'repo')} }\n`);
const size = psql(`select pg_size_pretty(pg_database_size('${db}'))`);
const times = { backupCreate: [], snapshotCreate: [], backupRestore: [], snapshotRestore: [] };
let backupId;
try {
  for (let round = 0; round < rounds; round++) {
    psql('checkpoint');
    const backup = storage('backup', 'create', 'bench', '--json', '-q');
    times.backupCreate.push(backup.ms);
    backupId = JSON.parse(backup.stdout).stores[0].backup.id;
    psql('checkpoint');
    times.snapshotCreate.push(storage('snapshot', 'create', 'bench', '--name', `r${round}`, '--force').ms);
    psql('checkpoint');
    times.backupRestore.push(storage('backup', 'restore', backupId, '--to', 'bench', '--database', `${db}_brestore`).ms);
    dropLike(`${db}_brestore`);
    psql('checkpoint');
    times.snapshotRestore.push(storage('snapshot', 'restore', `r${round}`, '--store', 'bench', '--confirm', db).ms);
    dropLike(`${db}__pre_restore_%`);
  }
} finally {
  dropLike(`${db}__snap_%`);
  dropLike(`${db}__pre_restore_%`);
  dropLike(`${db}__restoring_%`);
  dropLike(`${db}_brestore`);
  fs.rmSync(work, { recursive: true, force: true });
}
let ok = true;
console.log(`snapshot benchmark, PostgreSQL pgbench scale ${scale} (${size}), median of ${rounds} (node ${process.version}, ${os.cpus().length} cores)`);
for (const [name, ours, reference] of [
  ['snapshot create vs backup create', times.snapshotCreate, times.backupCreate],
  ['snapshot restore vs backup restore', times.snapshotRestore, times.backupRestore],
]) {
  const ratio = median(ours) / median(reference);
  ok &&= ratio <= 0.5;
  console.log(
    `${name.padEnd(36)} ${(median(ours) / 1000).toFixed(2)} s vs ${(median(reference) / 1000).toFixed(2)} s  ${ratio.toFixed(2)}×  ${ratio <= 0.5 ? 'ok' : 'OVER'} (bar ≤ 0.5×)`,
  );
}
process.exitCode = ok ? 0 : 1;
