// PostgreSQL backups when the server misbehaves: every failure takes the documented error path
// (one JSON document, a hint, the exit code, no lock or complete-looking backup left), and a
// backup's own work is not cut short by the store's statement timeout. Throwaway clusters.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDirs, startCli } from '../support/backups.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { freePort } from '../support/net.js';
import { startCluster, type PgCluster } from '../support/pg-cluster.js';

/** Signals the server's processes; one that ended between listing and signalling (ESRCH) is left alone. */
function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

const clusters: PgCluster[] = [];

async function cluster(settings: Record<string, string | number> = {}): Promise<PgCluster> {
  const started = startCluster(await freePort(), { settings });
  clusters.push(started);
  return started;
}

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function sandboxFor(url: string, store: Record<string, unknown> = {}, backup: Record<string, unknown> = {}): Sandbox {
  const sandbox = makeSandbox();
  sandbox.writeConfig({ stores: { db: { engine: 'postgres', url, ...store } }, backup: { repository: './repo', encryption: { enabled: false }, ...backup } });
  return sandbox;
}

/** Nothing of a failed run may remain: no lock, no backup directory (a complete one has a manifest). */
function expectNothingLeft(sandbox: Sandbox): void {
  const repo = path.join(sandbox.dir, 'repo');
  expect(fs.existsSync(path.join(repo, 'locks')) ? fs.readdirSync(path.join(repo, 'locks')) : []).toEqual([]);
  expect(backupDirs(repo).filter((dir) => fs.existsSync(path.join(dir, 'manifest.json')))).toEqual([]);
}

/** The failure went through the documented path: one JSON document, no stack trace or crash. */
function failedCleanly(stdout: string, stderr: string): { code: string; message: string; hint: string } {
  expect(stderr).not.toMatch(/Node\.js v\d|^\s+at .+\(.+:\d+:\d+\)$|Unhandled 'error' event/m);
  const outcome = JSON.parse(stdout).stores[0];
  expect(outcome.ok).toBe(false);
  return outcome.error;
}

afterAll(() => {
  for (const started of clusters) {
    try {
      signalAll(started.pids(), 'SIGCONT');
    } catch {
      // already gone
    }
    started.stop();
  }
});

describe('PostgreSQL backups when the server misbehaves', () => {
  let shared: PgCluster;

  beforeAll(async () => {
    // A small lock table: max_locks_per_transaction (10) × server processes (about 14) plus slack, far below 1200 tables.
    shared = await cluster({ max_locks_per_transaction: 10, max_connections: 10, max_worker_processes: 0, max_wal_senders: 0 });
    await sql(shared.url, 'create database many');
    // In batches: one transaction creating them all would itself run out of lock space.
    for (let batch = 0; batch < 12; batch++)
      await sql(
        shared.url.replace(/\/postgres$/, '/many'),
        `do $$ begin for i in ${batch * 100 + 1}..${batch * 100 + 100} loop execute format('create table t%s (id int)', i); end loop; end $$;`,
      );
    await sql(shared.url, 'create database big');
    await sql(shared.url.replace(/\/postgres$/, '/big'), 'create table big as select g as id, md5(g::text) as v from generate_series(1, 2000000) g');
  });

  it('counts rows of a table whose count takes longer than the statement timeout: the backup completes with exact counts', async () => {
    const sandbox = sandboxFor(shared.url.replace(/\/postgres$/, '/big'), { statementTimeout: '50ms' }, { rowCounts: 'exact' });
    const result = await sandbox.run(['backup', 'create', 'db', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.json().stores[0].backup.counts).toEqual({ 'public.big': 2000000 });
    expect(result.json().stores[0].backup.rowCounts).toBe('exact');
  });

  it('a database with more tables than the server can lock at once fails with exit 1 and says to raise max_locks_per_transaction', async () => {
    const sandbox = sandboxFor(shared.url.replace(/\/postgres$/, '/many'));
    const result = await sandbox.run(['backup', 'create', 'db', '--json']);
    expect(result.exitCode).toBe(1);
    const error = failedCleanly(result.stdout, result.stderr);
    expect(error.hint).toMatch(/max_locks_per_transaction/);
    expectNothingLeft(sandbox);
  });

  it('a table held in an exclusive lock fails the run after the lock wait (statementTimeout) with a hint, instead of hanging', async () => {
    const url = shared.url.replace(/\/postgres$/, '/big');
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('lock table big in access exclusive mode');
      const sandbox = sandboxFor(url, { statementTimeout: '500ms' });
      const result = await sandbox.run(['backup', 'create', 'db', '--json']);
      expect(result.exitCode).toBe(1);
      const error = failedCleanly(result.stdout, result.stderr);
      expect(`${error.message} ${error.hint}`).toMatch(/lock/i);
      expectNothingLeft(sandbox);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await holder.end();
    }
  });
});

describe('PostgreSQL backups when the server goes away mid-dump', () => {
  async function busyCluster(): Promise<PgCluster> {
    const started = await cluster();
    // Big enough that the server is still sending a_big when the test strikes.
    await sql(
      started.url,
      'create table a_big as select g as id, md5(g::text) as v from generate_series(1, 1000000) g; create table b_after as select g as id from generate_series(1, 10) g',
    );
    return started;
  }

  /** Starts a backup and waits until the server is sending a_big to pg_dump (an active COPY in pg_stat_activity). */
  async function midDump(sandbox: Sandbox, started: PgCluster) {
    const run = startCli(sandbox, ['backup', 'create', 'db', '--json']);
    const watcher = new pg.Client({ connectionString: started.url });
    await watcher.connect();
    try {
      for (let copying = false; !copying; await new Promise((resolve) => setTimeout(resolve, 20))) {
        const rows = await watcher.query(
          "select 1 from pg_stat_activity where application_name = 'pg_dump' and state = 'active' and query like 'COPY public.a_big%'",
        );
        copying = rows.rows.length > 0;
        if (run.exitCode !== null) throw new Error('the backup ended before pg_dump started copying');
      }
    } finally {
      await watcher.end();
    }
    // Wrapped: returning the run itself from an async function would wait for it to finish.
    return { run };
  }

  it('a server that dies mid-dump (kill -9) fails the run through the documented error path, lock released', async () => {
    const started = await busyCluster();
    const sandbox = sandboxFor(started.url, { connectTimeout: '1s' });
    const { run } = await midDump(sandbox, started);
    // kill -9 rather than `pg_ctl stop -m immediate`: a backend blocked sending COPY data can
    // outlive an immediate stop by seconds (the postmaster's SIGKILL grace), which makes the moment vague.
    signalAll(started.pids(), 'SIGKILL');
    const result = await run;
    expect([1, 69]).toContain(result.exitCode);
    failedCleanly(String(result.stdout), String(result.stderr));
    expectNothingLeft(sandbox);
  });

  it('a server that stops answering (SIGSTOP) ends the run with exit 69 after a few probes, instead of waiting forever', async () => {
    const started = await busyCluster();
    const sandbox = sandboxFor(started.url, { connectTimeout: '1s' });
    const { run } = await midDump(sandbox, started);
    signalAll(started.pids(), 'SIGSTOP');
    try {
      const result = await run;
      expect(result.exitCode).toBe(69);
      const error = failedCleanly(String(result.stdout), String(result.stderr));
      expect(error.code).toBe('TIMEOUT');
      expectNothingLeft(sandbox);
    } finally {
      signalAll(started.pids(), 'SIGCONT');
    }
  });
});
