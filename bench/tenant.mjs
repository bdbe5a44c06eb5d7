#!/usr/bin/env node
// Tenant benchmark (issue 15), in one run on a throwaway PostgreSQL 15 cluster (default settings,
// fsync as BENCH_FSYNC, default on; max_locks_per_transaction untouched — one tenant per
// transaction never needs more):
//   provision BENCH_TENANTS tenants (default 10,000; schema + role + table + index + catalog +
//   ledger each) with `tenant create --concurrency 4` (bar ≥ 500 tenants/s, ≤ 4 connections);
//   a realistic migration (a column with a default + an index + the ledger row) across all of
//   them with `tenant migrate --all --concurrency 4` (bar ≤ 30 s at 10,000, ≤ 4 connections);
//   `tenant migrate --all` with nothing pending (bar ≤ 1 s at 10,000);
// then the same on BENCH_SQLITE_TENANTS SQLite files (default 2000) and BENCH_MONGO_TENANTS FerretDB
// databases (default 500; the suite's FerretDB build, or BENCH_MONGO_URL) as smaller runs.
// The busiest moment's connections are counted from pg_stat_activity every 20 ms.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pgUrlFor, throwawayCluster } from './common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/run.js');
const TENANTS = Number(process.env.BENCH_TENANTS ?? 10_000);
const SQLITE_TENANTS = Number(process.env.BENCH_SQLITE_TENANTS ?? 2000);
const MONGO_TENANTS = Number(process.env.BENCH_MONGO_TENANTS ?? 500);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-bench-tenant-'));

const cluster = await throwawayCluster({ fsync: process.env.BENCH_FSYNC ?? 'on', max_connections: 40 });
process.on('exit', () => {
  cluster.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const admin = new pg.Client({ connectionString: cluster.url, application_name: 'bench-watcher' });
await admin.connect();
await admin.query('create database bench');
const url = pgUrlFor(cluster.url, 'bench');

/** Runs the CLI in `cwd`, counting the busiest moment's connections to the bench database. */
async function timed(cwd, args) {
  let peak = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const { rows } = await admin.query(`select count(*)::int as n from pg_stat_activity where datname = 'bench' and application_name <> 'bench-watcher'`);
      peak = Math.max(peak, rows[0].n);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const started = process.hrtime.bigint();
  const result = await new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('close', (status) => resolve({ status, stderr }));
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  watching = false;
  await watcher;
  if (result.status !== 0) throw new Error(`storage ${args.join(' ')} exited ${result.status}: ${result.stderr.slice(-2000)}`);
  return { ms, peak };
}

function setUp(name, config, migrations) {
  const at = path.join(dir, name);
  fs.mkdirSync(path.join(at, 'migrations'), { recursive: true });
  for (const [file, body] of Object.entries(migrations)) fs.writeFileSync(path.join(at, 'migrations', file), body);
  fs.writeFileSync(path.join(at, 'storage.config.yaml'), config);
  const count = { pg: TENANTS, lite: SQLITE_TENANTS, mongo: MONGO_TENANTS }[name];
  const names = Array.from({ length: count }, (_, i) => `tenant${String(i).padStart(5, '0')}`);
  fs.writeFileSync(path.join(at, 'names.txt'), `${names.join('\n')}\n`);
  return at;
}

const rate = (n, ms) => Math.round((n / ms) * 1000);
const verdict = (ok) => (ok ? 'ok' : 'MISSED');
console.log(
  `tenant benchmark: ${TENANTS} PostgreSQL schemas, ${SQLITE_TENANTS} SQLite files (node ${process.version}, ${os.cpus().length} cores, fsync ${process.env.BENCH_FSYNC ?? 'on'})`,
);

const pgDir = setUp('pg', `stores:\n  main: { engine: postgres, url: "${url}", statementTimeout: 1h }\ntenancy: { store: main, migrations: migrations }\n`, {
  '001_items.sql':
    'create table items (id bigserial primary key, name text not null, created_at timestamptz not null default now());\ncreate index items_name on items (name);\n',
});
const create = await timed(pgDir, ['tenant', 'create', '--from-file', 'names.txt', '--concurrency', '4']);
console.log(
  `provision ${TENANTS} schema tenants   ${(create.ms / 1000).toFixed(2)} s  ${rate(TENANTS, create.ms)} tenants/s (bar ≥ 500: ${verdict(rate(TENANTS, create.ms) >= 500)}), peak ${create.peak} connections (bar ≤ 4: ${verdict(create.peak <= 4)})`,
);
fs.writeFileSync(
  path.join(pgDir, 'migrations', '002_price.sql'),
  'alter table items add column price numeric not null default 0;\ncreate index items_price on items (price);\n',
);
const migrate = await timed(pgDir, ['tenant', 'migrate', '--all', '--concurrency', '4']);
const bar = (30_000 * TENANTS) / 10_000;
console.log(
  `migrate ${TENANTS} tenants (column + index)   ${(migrate.ms / 1000).toFixed(2)} s  (bar ≤ ${(bar / 1000).toFixed(0)} s: ${verdict(migrate.ms <= bar)}), peak ${migrate.peak} connections (bar ≤ 4: ${verdict(migrate.peak <= 4)})`,
);
const noop = await timed(pgDir, ['tenant', 'migrate', '--all']);
console.log(
  `migrate --all, nothing pending        ${(noop.ms / 1000).toFixed(2)} s  (bar ≤ 1 s at 10,000: ${verdict(noop.ms <= (1000 * TENANTS) / 10_000 || noop.ms <= 1000)})`,
);

const liteDir = setUp('lite', `stores:\n  lite: { engine: sqlite, path: app.db }\ntenancy: { store: lite, migrations: migrations }\n`, {
  '001_items.sql': 'create table items (id integer primary key, name text not null);\ncreate index items_name on items (name);\n',
});
fs.writeFileSync(path.join(liteDir, 'app.db'), '');
const liteCreate = await timed(liteDir, ['tenant', 'create', '--from-file', 'names.txt']);
fs.writeFileSync(
  path.join(liteDir, 'migrations', '002_price.sql'),
  'alter table items add column price integer not null default 0;\ncreate index items_price on items (price);\n',
);
const liteMigrate = await timed(liteDir, ['tenant', 'migrate', '--all']);
const liteNoop = await timed(liteDir, ['tenant', 'migrate', '--all']);
console.log(
  `SQLite: provision ${SQLITE_TENANTS} files ${(liteCreate.ms / 1000).toFixed(2)} s (${rate(SQLITE_TENANTS, liteCreate.ms)}/s), migrate ${(liteMigrate.ms / 1000).toFixed(2)} s, nothing pending ${(liteNoop.ms / 1000).toFixed(2)} s`,
);

if (MONGO_TENANTS > 0) {
  let url = process.env.BENCH_MONGO_URL;
  let server;
  if (!url) {
    const binary = spawnSync(process.execPath, [path.join(root, 'test/support/build-ferretdb.mjs')], { encoding: 'utf8' }).stdout.trim();
    const ferretDir = fs.mkdtempSync(path.join(dir, 'ferret-'));
    server = spawn(binary, ['-listen', '127.0.0.1:27124', '-dir', ferretDir], { stdio: 'ignore' });
    process.on('exit', () => server.kill());
    url = 'mongodb://127.0.0.1:27124';
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
  const mongoDir = setUp(
    'mongo',
    `stores:\n  docs: { engine: mongodb, url: "${url}/tenant_bench" }\ntenancy: { store: docs, migrations: migrations, roles: false }\n`,
    {
      '001_items.json': `${JSON.stringify([{ createCollection: 'items' }, { createIndex: { collection: 'items', keys: { name: 1 }, name: 'items_name', unique: false } }])}\n`,
    },
  );
  const mongoCreate = await timed(mongoDir, ['tenant', 'create', '--from-file', 'names.txt']);
  fs.writeFileSync(
    path.join(mongoDir, 'migrations', '002_price.json'),
    `${JSON.stringify([{ setDefault: { collection: 'items', field: 'price', value: 0 } }, { createIndex: { collection: 'items', keys: { price: 1 }, name: 'items_price', unique: false } }])}\n`,
  );
  const mongoMigrate = await timed(mongoDir, ['tenant', 'migrate', '--all']);
  const mongoNoop = await timed(mongoDir, ['tenant', 'migrate', '--all']);
  console.log(
    `FerretDB: provision ${MONGO_TENANTS} databases ${(mongoCreate.ms / 1000).toFixed(2)} s (${rate(MONGO_TENANTS, mongoCreate.ms)}/s), migrate ${(mongoMigrate.ms / 1000).toFixed(2)} s, nothing pending ${(mongoNoop.ms / 1000).toFixed(2)} s`,
  );
  server?.kill();
}
await admin.end();
