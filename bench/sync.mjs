#!/usr/bin/env node
// Sync benchmark (issue 14): in one run, on BENCH_SYNC_ROWS rows (default 1M, ~100 MB):
//   SQLite → PostgreSQL initial copy against psql \copy of the same rows from a CSV file (ratio);
//   PostgreSQL → SQLite rows/s; `sync verify` of equal tables; peak RSS of a run at N and 4N rows (the issue's bar).
// Uses the PostgreSQL at BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { psqlAt, pgUrlFor } from './common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/run.js');
const rows = Number(process.env.BENCH_SYNC_ROWS ?? 1_000_000);
const base = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-bench-sync-'));
const db = `storage_bench_sync_${process.pid}`;
const url = pgUrlFor(base, db);

function makeSqlite(file, n) {
  // The sqlite3 shell builds the file and its CSV twin (the psql \copy reference reads the same rows).
  const sql = `
create table orders (id integer primary key, customer text not null, total integer not null, note text, updated_at text not null);
with recursive n(i) as (select 1 union all select i + 1 from n where i < ${n})
insert into orders select i, 'customer ' || (i % 9973), i * 3, 'a note of about fifty characters, the same on every row', '2026-01-01T00:00:' || printf('%02d', i % 60) || 'Z' from n;`;
  const made = spawnSync('sqlite3', [file], { input: sql, encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`sqlite3 failed: ${made.stderr}`);
}

function timed(command, args, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', command, ...args], { encoding: 'utf8', cwd: dir, maxBuffer: 64 * 2 ** 20, ...options });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr.slice(-2000)}`);
  const rssKb = Number(result.stderr.trim().split('\n').at(-1));
  return { ms, rssMb: rssKb / 1024, stdout: result.stdout };
}

const storage = (...args) => timed(process.execPath, [bin, ...args]);

try {
  psqlAt(base, `create database ${db}`);
  console.log(`sync benchmark: ${rows} rows (node ${process.version}, ${os.cpus().length} cores), in ${dir}`);
  makeSqlite(path.join(dir, 'lite.db'), rows);
  makeSqlite(path.join(dir, 'lite4.db'), rows * 4);
  spawnSync('sqlite3', ['-csv', path.join(dir, 'lite.db'), 'select * from orders'], {
    stdio: ['ignore', fs.openSync(path.join(dir, 'orders.csv'), 'w'), 'inherit'],
  });
  fs.writeFileSync(path.join(dir, 'back.db'), '');
  fs.writeFileSync(
    path.join(dir, 'storage.config.yaml'),
    `stores:\n  lite: { engine: sqlite, path: lite.db }\n  lite4: { engine: sqlite, path: lite4.db }\n  back: { engine: sqlite, path: back.db }\n  main: { engine: postgres, url: "${url}", statementTimeout: 1h }\n`,
  );
  spawnSync('sqlite3', [path.join(dir, 'back.db'), 'vacuum']);
  psqlAt(url, 'create table ref (id bigint primary key, customer text not null, total bigint not null, note text, updated_at text not null)');

  const copy = timed('psql', ['-X', '-q', '-d', url, '-c', `\\copy ref from '${path.join(dir, 'orders.csv')}' csv`]);
  const toPg = storage('sync', 'run', '--from', 'lite:orders', '--to', 'main:orders', '--batch-size', '20000');
  const toLite = storage('sync', 'run', '--from', 'main:orders', '--to', 'back:orders', '--batch-size', '20000');
  const verify = storage('sync', 'verify', '--from', 'lite:orders', '--to', 'main:orders');
  // One changed row among them all: verify must name it (exit 3).
  const middle = Math.ceil(rows / 2);
  psqlAt(url, `update orders set total = total + 1 where id = ${middle}`);
  const started = process.hrtime.bigint();
  const changed = spawnSync(process.execPath, [bin, 'sync', 'verify', '--from', 'lite:orders', '--to', 'main:orders', '--json'], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const changedMs = Number(process.hrtime.bigint() - started) / 1e6;
  const found = changed.status === 3 ? JSON.parse(changed.stdout).difference : undefined;
  const foundOne = found?.update === 1 && found.insert === 0 && found.samples?.[0]?.key === String(middle);
  const big = storage('sync', 'run', '--from', 'lite4:orders', '--to', 'main:orders4', '--batch-size', '20000');

  const rate = (ms, n) => Math.round((n / ms) * 1000);
  console.log(`psql \\copy from CSV             ${(copy.ms / 1000).toFixed(2)} s  (${rate(copy.ms, rows)} rows/s)`);
  console.log(
    `sync SQLite → PostgreSQL         ${(toPg.ms / 1000).toFixed(2)} s  (${rate(toPg.ms, rows)} rows/s)  speed ${(copy.ms / toPg.ms).toFixed(2)}× psql \\copy  (bar ≥ 0.8×: ${copy.ms / toPg.ms >= 0.8 ? 'ok' : 'UNDER'})`,
  );
  console.log(
    `sync PostgreSQL → SQLite         ${(toLite.ms / 1000).toFixed(2)} s  (${rate(toLite.ms, rows)} rows/s)  (bar ≥ 150k rows/s: ${rate(toLite.ms, rows) >= 150_000 ? 'ok' : 'UNDER'})`,
  );
  console.log(`sync verify, equal tables        ${(verify.ms / 1000).toFixed(2)} s  (bar ≤ 2 s: ${verify.ms <= 2000 ? 'ok' : 'OVER'})`);
  console.log(
    `sync verify, one row changed     ${(changedMs / 1000).toFixed(2)} s  exit ${changed.status}, ${foundOne ? `found exactly key ${middle}` : `NOT FOUND as one row: ${JSON.stringify(found ?? changed.stderr.slice(-300))}`}`,
  );
  console.log(
    `peak RSS, sync run               ${toPg.rssMb.toFixed(0)} MB at ${rows} rows, ${big.rssMb.toFixed(0)} MB at ${rows * 4} rows (flat ±20%: ${Math.abs(big.rssMb / toPg.rssMb - 1) <= 0.2 ? 'ok' : 'NO'})`,
  );
} finally {
  try {
    psqlAt(base, `drop database if exists ${db} with (force)`);
  } catch {
    // already gone
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
