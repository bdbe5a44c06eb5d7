#!/usr/bin/env node
// Failover benchmark (issue 13): $BENCH_ROUNDS (default 10) planned switchovers of a throwaway
// PostgreSQL 15 primary + 2 standbys (loopback ports, physical slots, data checksums, local
// control of every member), each with a ledger writer running: a pg client inserting sequential
// ids into `ledger` on whichever member is primary, recording an id only once its INSERT returned.
// The target rotates pg1 → pg2 → pg3 → pg1 …, so every member is promoted and rejoins in turn.
// Per round: acknowledged commits lost on the new primary (goal 0), the writer's longest gap
// between two acknowledged commits (goal ≤ 250 ms median), the tool's own `unavailableMs`, and
// the time from the command's end until the old primary streams again (goal ≤ 3 s, every round;
// the command waits for that itself with local control, so its total duration is shown too).
// Exits 1 if any acknowledged commit was lost. Needs the PostgreSQL 15 binaries
// ($BENCH_PG_BIN, default /usr/lib/postgresql/15/bin) and, as root, the `postgres` OS user.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { stringify } from 'yaml';
import { median } from './common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/run.js');
const pgBin = process.env.BENCH_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const FSYNC = process.env.BENCH_FSYNC ?? 'off';
const NAMES = ['pg1', 'pg2', 'pg3'];
const GOALS = { unavailableMs: 250, streamingMs: 3000 };
const asRoot = process.getuid?.() === 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-bench-failover-'));
const clusterDir = path.join(work, 'cluster');
const nodes = [];
let running; // the switchover command in flight, killed on cleanup

// ---- the cluster -------------------------------------------------------------------------------

function asPostgres(program, args, timeout = 120_000) {
  const file = path.join(pgBin, program);
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout, cwd: os.tmpdir() });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startCluster() {
  fs.mkdirSync(clusterDir, { mode: 0o755 });
  fs.chmodSync(work, 0o755);
  if (asRoot) execFileSync('chown', ['postgres', clusterDir]);
  const settings = {
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${clusterDir}'`,
    wal_level: 'replica',
    max_wal_senders: 10,
    max_replication_slots: 10,
    hot_standby: 'on',
    wal_log_hints: 'on',
    fsync: FSYNC,
    autovacuum: 'off',
    max_connections: 40,
    wal_keep_size: 0,
  };
  for (const [index, name] of NAMES.entries()) {
    const port = await freePort();
    const dataDir = path.join(clusterDir, name);
    if (index === 0) {
      asPostgres('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--data-checksums', '--no-sync']);
      const conf = Object.entries(settings).map(([key, value]) => `${key} = ${value}`);
      fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `\n${conf.join('\n')}\nport = ${port}\n`);
      fs.appendFileSync(path.join(dataDir, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 trust\n');
    } else {
      // pg_basebackup copies the primary's postgresql.conf; each standby appends its own port, and -C -S makes its slot.
      const args = ['-h', '127.0.0.1', '-p', String(nodes[0].port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast', '-C', '-S', name];
      asPostgres('pg_basebackup', args);
      fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `\nport = ${port}\n`);
    }
    asPostgres('pg_ctl', ['-D', dataDir, '-l', path.join(clusterDir, `${name}.log`), '-w', '-t', '60', 'start']);
    nodes.push({ name, port, dataDir, url: `postgres://postgres@127.0.0.1:${port}/postgres` });
  }
}

function storeConfig() {
  const [first, ...rest] = nodes;
  return {
    stores: {
      main: {
        engine: 'postgres',
        url: first.url,
        member: first.name,
        control: { dataDir: first.dataDir },
        connectTimeout: '3s',
        standbys: rest.map((node) => ({ name: node.name, url: node.url, control: { dataDir: node.dataDir } })),
      },
    },
  };
}

let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (running && running.exitCode === null) running.kill('SIGKILL');
  for (const node of nodes) {
    try {
      if (fs.existsSync(path.join(node.dataDir, 'postmaster.pid'))) asPostgres('pg_ctl', ['-D', node.dataDir, '-m', 'immediate', '-w', 'stop'], 30_000);
    } catch {
      // already down
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
process.on('exit', cleanup);

// ---- clients -----------------------------------------------------------------------------------

async function query(url, sql, params = [], timeoutMs = 1000) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function currentPrimary() {
  for (const node of nodes) {
    try {
      const [row] = await query(node.url, 'select pg_is_in_recovery() as recovery');
      if (!row.recovery) return node;
    } catch {
      // down, fenced or restarting
    }
  }
  return undefined;
}

async function streams(node) {
  try {
    const [row] = await query(node.url, 'select status from pg_stat_wal_receiver');
    return row?.status === 'streaming';
  } catch {
    return false;
  }
}

async function untilStreaming(node, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await streams(node)) return performance.now();
    if (performance.now() > deadline) return undefined;
    await sleep(10);
  }
}

/** Every id ever acknowledged, across rounds, and the next id to write. */
const ledger = { acknowledged: [], next: 1 };

/** Starts a writer for one round: it keeps going through the switchover, reconnecting to whichever member is primary. */
function startWriter() {
  const writer = { running: true, longestGapMs: 0, acks: 0, firstAckOn: new Map() };
  writer.done = (async () => {
    let client;
    let on;
    let last = performance.now();
    while (writer.running) {
      try {
        if (!client) {
          on = await currentPrimary();
          if (!on) throw new Error('no primary');
          client = new pg.Client({ connectionString: on.url, connectionTimeoutMillis: 1000 });
          client.on('error', () => undefined);
          await client.connect();
          const [row] = (await client.query('select pg_is_in_recovery() as r')).rows;
          if (row.r) throw new Error('standby');
        }
        const id = ledger.next++;
        await client.query('insert into ledger (id) values ($1)', [id]);
        const now = performance.now();
        ledger.acknowledged.push(id);
        writer.acks++;
        if (!writer.firstAckOn.has(on.name)) writer.firstAckOn.set(on.name, now);
        writer.longestGapMs = Math.max(writer.longestGapMs, now - last);
        last = now;
      } catch {
        await client?.end().catch(() => undefined);
        client = undefined;
        await sleep(5);
      }
    }
    await client?.end().catch(() => undefined);
  })();
  writer.stop = async () => {
    writer.running = false;
    await writer.done;
  };
  return writer;
}

// ---- the CLI -----------------------------------------------------------------------------------

const env = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: work,
  LANG: 'C.UTF-8',
  XDG_CONFIG_HOME: path.join(work, 'xdg-config'),
  XDG_DATA_HOME: path.join(work, 'xdg-data'),
};

function storage(args, timeoutMs = 180_000) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    running = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      running = undefined;
      resolve({ code, stdout, stderr, ended: performance.now(), ms: performance.now() - started });
    });
  });
}

// ---- the rounds --------------------------------------------------------------------------------

async function round(index, configFile) {
  const from = await currentPrimary();
  if (!from) throw new Error('no member answers as primary');
  const to = nodes[(nodes.indexOf(from) + 1) % nodes.length];
  // Every standby streams before the switchover starts, or the preflight (rightly) refuses.
  for (const node of nodes.filter((n) => n !== from))
    if ((await untilStreaming(node, 30_000)) === undefined) throw new Error(`${node.name} does not stream from ${from.name} before round ${index + 1}`);

  const writer = startWriter();
  await sleep(300);
  const result = await storage(['failover', 'switchover', 'main', '--to', to.name, '--confirm', 'main', '--json', '--config', configFile]);
  if (result.code !== 0) {
    await writer.stop();
    throw new Error(`round ${index + 1}: switchover ${from.name} → ${to.name} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  }
  const event = JSON.parse(result.stdout);
  const streamingAt = await untilStreaming(from, 60_000);
  // Let the writer show it goes on writing on the new primary before the round ends.
  const until = performance.now() + 30_000;
  while (!writer.firstAckOn.has(to.name) && performance.now() < until) await sleep(10);
  await sleep(200);
  await writer.stop();

  const primaryNow = await currentPrimary();
  if (primaryNow !== to) throw new Error(`round ${index + 1}: ${primaryNow?.name ?? 'no member'} answers as primary, not ${to.name}`);
  const have = new Set((await query(to.url, 'select id from ledger', [], 5000)).map((row) => row.id));
  const lost = ledger.acknowledged.filter((id) => !have.has(id));
  const firstOnNew = writer.firstAckOn.get(to.name);
  return {
    from: from.name,
    to: to.name,
    acks: writer.acks,
    lost: lost.length,
    lostIds: lost.slice(0, 10),
    gapMs: writer.longestGapMs,
    toolUnavailableMs: event.unavailableMs,
    streamingAfterEndMs: streamingAt === undefined ? Infinity : Math.max(0, streamingAt - result.ended),
    streamingAfterFirstWriteMs: streamingAt === undefined || firstOnNew === undefined ? Infinity : streamingAt - firstOnNew,
    commandMs: result.ms,
    toolDurationMs: event.durationMs,
    oldPrimary: event.oldPrimary,
  };
}

const fmtMs = (ms) => (Number.isFinite(ms) ? (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`) : 'never');

async function main() {
  console.log(`Failover benchmark: ${ROUNDS} planned switchovers of a PostgreSQL 15 primary + 2 standbys (fsync ${FSYNC}), a ledger writer running`);
  await startCluster();
  await query(nodes[0].url, 'create table ledger (id int primary key, at timestamptz default now())');
  const configFile = path.join(work, 'storage.config.yaml');
  fs.writeFileSync(configFile, stringify(storeConfig()));
  console.log(`cluster: ${nodes.map((n) => `${n.name} 127.0.0.1:${n.port}`).join(', ')} in ${clusterDir}\n`);

  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round(i, configFile);
    rounds.push(r);
    console.log(
      `round ${String(i + 1).padStart(2)}  ${r.from} → ${r.to}  acked ${String(r.acks).padStart(5)}  lost ${r.lost}${r.lost ? ` (e.g. ${r.lostIds.join(', ')})` : ''}  ` +
        `writer gap ${fmtMs(r.gapMs).padStart(7)}  tool unavailableMs ${fmtMs(r.toolUnavailableMs).padStart(7)}  ` +
        `old primary streaming ${fmtMs(r.streamingAfterEndMs)} after the command (${fmtMs(r.streamingAfterFirstWriteMs)} after the first write on ${r.to})  ` +
        `command ${fmtMs(r.commandMs)}`,
    );
  }

  const figures = [
    { name: 'acknowledged commits lost', key: 'lost', unit: 'n', goal: 'worst = 0', ok: (v) => v.worst === 0 },
    { name: 'write unavailability (writer-seen gap)', key: 'gapMs', goal: `median ≤ ${GOALS.unavailableMs} ms`, ok: (v) => v.median <= GOALS.unavailableMs },
    { name: "tool's unavailableMs (fence → write proved)", key: 'toolUnavailableMs' },
    {
      name: 'old primary streaming after command end',
      key: 'streamingAfterEndMs',
      goal: `worst ≤ ${GOALS.streamingMs / 1000} s`,
      ok: (v) => v.worst <= GOALS.streamingMs,
    },
    { name: 'old primary streaming after 1st new write', key: 'streamingAfterFirstWriteMs' },
    { name: 'switchover command, wall time', key: 'commandMs' },
    { name: "switchover, tool's durationMs", key: 'toolDurationMs' },
  ];
  console.log(`\n${'figure'.padEnd(46)} ${'median'.padStart(9)} ${'worst'.padStart(9)}  goal`);
  let lostAny = false;
  for (const figure of figures) {
    const values = rounds.map((r) => r[figure.key]);
    const v = { median: median(values), worst: Math.max(...values) };
    const fmt = figure.unit === 'n' ? (n) => String(n) : fmtMs;
    const verdict = figure.ok ? `${figure.goal}: ${figure.ok(v) ? 'ok' : 'OVER'}` : '(for context)';
    console.log(`${figure.name.padEnd(46)} ${fmt(v.median).padStart(9)} ${fmt(v.worst).padStart(9)}  ${verdict}`);
    if (figure.key === 'lost' && v.worst > 0) lostAny = true;
  }
  console.log(`\n${ledger.acknowledged.length} commits acknowledged over ${rounds.length} rounds; every one checked on each round's new primary.`);
  return lostAny ? 1 : 0;
}

main()
  .then((code) => {
    cleanup();
    process.exit(code);
  })
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    cleanup();
    process.exit(2);
  });
