#!/usr/bin/env node
// Follow-mode benchmark (issue 14): apply lag of `storage sync run JOB --follow` against native
// logical replication (CREATE PUBLICATION / SUBSCRIPTION), in one run, on the same machine. Two
// throwaway PostgreSQL 15 clusters on loopback (56xxx ports): the source (wal_level = logical) and
// the target (one database for the subscription, one for the tool). A writer on two connections
// sends $BENCH_RATE (default 2000) single-statement transactions per second for $BENCH_SECONDS
// (default 20): 50% inserts, 35% updates, 15% deletes. Inserts and updates stamp the row with
// clock_timestamp() at the source; deletes are stamped by the writer when they return. A trigger
// on each target table (ENABLE ALWAYS, so the subscription's apply worker fires it too) records
// clock_timestamp() when the row is written there: lag = arrival − stamp, per change → p50/p99.
// The arrival is taken as the apply writes the row, a moment before its transaction commits (both
// sides alike). Needs the PostgreSQL 15 binaries ($BENCH_PG_BIN) and, as root, the `postgres` user.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/run.js');
const pgBin = process.env.BENCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const GOAL_P99_MS = 50;
const asRoot = process.getuid?.() === 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'follow-bench-'));
fs.chmodSync(work, 0o755);
if (asRoot) execFileSync('chown', ['postgres', work]);
const clusters = [];
let follower;

function asPostgres(program, args) {
  const file = path.join(pgBin, program);
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, cwd: os.tmpdir() });
}

async function portIn56k() {
  for (;;) {
    const port = 56000 + Math.floor(Math.random() * 1000);
    const free = await new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function startCluster(name, settings) {
  const data = path.join(work, name);
  const port = await portIn56k();
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  const options = Object.entries({ port, listen_addresses: "'127.0.0.1'", unix_socket_directories: `'${work}'`, fsync: 'off', ...settings })
    .map(([key, value]) => `${key} = ${value}`)
    .join('\n');
  fs.appendFileSync(path.join(data, 'postgresql.conf'), `\n${options}\n`);
  asPostgres('pg_ctl', ['-D', data, '-l', path.join(work, `${name}.log`), '-w', 'start']);
  const cluster = { name, data, port, url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}` };
  clusters.push(cluster);
  return cluster;
}

async function sql(url, text, params = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

const TABLE = `create table bench (id bigint primary key, payload text, n int, stamped timestamptz not null)`;
const ARRIVALS = `create table arrivals (id bigint, op text, stamped timestamptz, arrived timestamptz);
  create function note_arrival() returns trigger language plpgsql as $$
  begin
    if tg_op = 'DELETE' then insert into public.arrivals values (old.id, tg_op, null, clock_timestamp()); return old; end if;
    insert into public.arrivals values (new.id, tg_op, new.stamped, clock_timestamp()); return new;
  end $$;
  create trigger arrival after insert or update or delete on bench for each row execute function note_arrival();
  alter table bench enable always trigger arrival;`;

/** RATE single-statement transactions per second on two connections; returns the deletes' send stamps (id → ms). */
async function writeLoad(url) {
  const deleted = new Map();
  const live = [];
  let next = 1_000_000 + Math.floor(Math.random() * 1e6) * 10;
  let sent = 0;
  const end = Date.now() + SECONDS * 1000;
  const perConnection = RATE / 2;
  const connection = async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const start = Date.now();
    let count = 0;
    while (Date.now() < end) {
      const due = start + (count / perConnection) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      const pick = Math.random();
      if (pick < 0.5 || live.length < 100) {
        const id = next++;
        await client.query(`insert into bench values ($1, $2, 0, clock_timestamp())`, [id, `row ${id} it's`]);
        live.push(id);
      } else if (pick < 0.85) {
        const id = live[Math.floor(Math.random() * live.length)];
        await client.query(`update bench set n = n + 1, payload = 'updated', stamped = clock_timestamp() where id = $1`, [id]);
      } else {
        const at = Math.floor(Math.random() * live.length);
        const id = live[at];
        live.splice(at, 1);
        await client.query(`delete from bench where id = $1`, [id]);
        deleted.set(String(id), Date.now());
      }
      count++;
      sent++;
    }
    await client.end();
  };
  await Promise.all([connection(), connection()]);
  return { deleted, sent };
}

async function drained(sourceUrl, targetUrl) {
  const [{ n }] = await sql(sourceUrl, `select count(*)::int as n from bench`);
  for (let i = 0; i < 600; i++) {
    const [{ m }] = await sql(targetUrl, `select count(*)::int as m from bench`);
    if (m === n) return;
    await sleep(100);
  }
  throw new Error('the target did not catch up within 60 s');
}

/** Lag per change from the target's arrivals: rows by their source stamp, deletes by the writer's. */
async function lags(targetUrl, deleted, since) {
  const rows = await sql(
    targetUrl,
    `select id::text, op, extract(epoch from stamped) * 1000 as stamped, extract(epoch from arrived) * 1000 as arrived from arrivals where arrived >= $1`,
    [since],
  );
  const values = [];
  for (const row of rows) {
    const stamped = row.op === 'DELETE' ? deleted.get(row.id) : Number(row.stamped);
    if (stamped !== undefined) values.push(Math.max(0, Number(row.arrived) - stamped));
  }
  values.sort((a, b) => a - b);
  const at = (p) => values[Math.min(values.length - 1, Math.floor((values.length - 1) * p))];
  return { changes: values.length, p50: at(0.5), p99: at(0.99), max: values.at(-1) };
}

async function main() {
  console.log(`follow-mode apply lag: ${RATE} writes/s for ${SECONDS} s (50% insert, 35% update, 15% delete), two throwaway PostgreSQL 15 clusters`);
  const source = await startCluster('source', { wal_level: 'logical', max_replication_slots: 10, max_wal_senders: 10 });
  const target = await startCluster('target', { max_logical_replication_workers: 4 });
  await sql(source.url(), TABLE);
  await sql(source.url(), `insert into bench select g, 'seed', 0, now() from generate_series(1, 10000) g`);
  for (const db of ['native', 'tool']) {
    await sql(target.url(), `create database ${db}`);
    await sql(target.url(db), TABLE);
    await sql(target.url(db), ARRIVALS);
  }
  const results = {};

  // Native logical replication: the reference.
  await sql(source.url(), `create publication bench_pub for table bench`);
  await sql(target.url('native'), `create subscription bench_sub connection '${source.url()}' publication bench_pub`);
  await drained(source.url(), target.url('native'));
  await sleep(1000);
  let since = new Date().toISOString();
  let load = await writeLoad(source.url());
  await drained(source.url(), target.url('native'));
  results.native = { ...(await lags(target.url('native'), load.deleted, since)), sent: load.sent };
  await sql(target.url('native'), `drop subscription bench_sub`);
  await sql(source.url(), `drop publication bench_pub`);

  // storage sync run --follow.
  const dir = path.join(work, 'tool');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'storage.config.yaml'),
    stringify({
      stores: { source: { engine: 'postgres', url: source.url() }, target: { engine: 'postgres', url: target.url('tool') } },
      backup: { repository: path.join(dir, 'repo') },
      sync: { jobs: { bench: { from: { store: 'source', table: 'public.bench' }, to: { store: 'target', table: 'bench' } } } },
    }),
  );
  follower = spawn(process.execPath, [bin, 'sync', 'run', 'bench', '--follow'], {
    cwd: dir,
    env: {
      ...process.env,
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      XDG_DATA_HOME: path.join(dir, 'data'),
      XDG_STATE_HOME: path.join(dir, 'state'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  follower.stderr.on('data', (chunk) => (stderr += chunk));
  for (let i = 0; ; i++) {
    const rows = await sql(target.url('tool'), `select checkpoint->'follow'->>'state' as s from storage_sync_checkpoints where job = 'bench'`).catch(() => []);
    if (rows[0]?.s === 'following') break;
    if (i > 600 || follower.exitCode !== null) throw new Error(`the follow did not start: ${stderr}`);
    await sleep(100);
  }
  await sleep(1000);
  since = new Date().toISOString();
  load = await writeLoad(source.url());
  await drained(source.url(), target.url('tool'));
  results.tool = { ...(await lags(target.url('tool'), load.deleted, since)), sent: load.sent };
  const exited = new Promise((resolve) => follower.once('exit', (code) => resolve(code)));
  follower.kill('SIGINT');
  const code = await exited;
  follower = undefined;
  const slotsLeft = await sql(source.url(), `select count(*)::int as n from pg_replication_slots`);

  const show = (name, r) =>
    `${name.padEnd(34)} ${String(r.changes).padStart(7)} changes   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms   max ${r.max.toFixed(1).padStart(7)} ms   (${(r.sent / SECONDS).toFixed(0)} writes/s sent)`;
  console.log(show('native logical replication', results.native));
  console.log(show('storage sync run --follow', results.tool));
  console.log(
    `p99 ratio (tool / native): ${(results.tool.p99 / results.native.p99).toFixed(1)}×; goal p99 ≤ ${GOAL_P99_MS} ms: ${results.tool.p99 <= GOAL_P99_MS ? 'met' : 'NOT met'}`,
  );
  console.log(`SIGINT: exit ${code}; replication slots left on the source: ${slotsLeft[0].n}`);
}

function cleanup() {
  follower?.kill('SIGKILL');
  for (const cluster of clusters.reverse()) {
    try {
      asPostgres('pg_ctl', ['-D', cluster.data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already down
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
}

try {
  await main();
} catch (error) {
  console.error(error);
  for (const cluster of clusters) {
    const log = path.join(work, `${cluster.name}.log`);
    if (fs.existsSync(log)) console.error(`--- ${cluster.name}.log (end)\n${fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`);
  }
  process.exitCode = 1;
} finally {
  cleanup();
}
