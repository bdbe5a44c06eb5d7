// Real PostgreSQL, FerretDB and SQLite behind one config, driven through the built binary.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { startBlackhole, type Blackhole } from '../support/net.js';
import { SUPERUSER_PASSWORD, WRONG_PASSWORD } from '../support/secrets.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

describe('storage db against real servers', () => {
  let sandbox: Sandbox;
  const database = uniqueName('cli');
  const blackholes: Blackhole[] = [];

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${database}`));
    sandbox = makeSandbox();
    sandbox.writeConfig({
      stores: {
        main: { engine: 'postgres', url: pgUrlFor(database) },
        events: { engine: 'mongodb', url: `${servers().mongoUrl}/${database}` },
        lite: { engine: 'sqlite', path: 'data/app.db' },
      },
    });
    // The SQLite file of a configured store must exist; make it as an application would.
    const { default: Sqlite } = await import('better-sqlite3');
    const fs = await import('node:fs');
    fs.mkdirSync(`${sandbox.dir}/data`, { recursive: true });
    new Sqlite(`${sandbox.dir}/data/app.db`).exec('create table t (x)');
  });

  afterAll(async () => {
    for (const hole of blackholes) await hole.close();
    await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
  });

  it('db list shows every store with its engine, masked target and reachability', async () => {
    const result = await sandbox.run(['db', 'list', '--json']);
    expect(result.exitCode).toBe(0);
    expect(result.json().stores).toEqual([
      expect.objectContaining({ store: 'main', engine: 'postgres', reachable: true }),
      expect.objectContaining({ store: 'events', engine: 'mongodb', reachable: true }),
      expect.objectContaining({ store: 'lite', engine: 'sqlite', reachable: true }),
    ]);
  });

  it('db health probes all three engines', async () => {
    const result = await sandbox.run(['db', 'health', '--json']);
    expect(result.exitCode).toBe(0);
    const byStore = Object.fromEntries(result.json().stores.map((entry: { store: string }) => [entry.store, entry]));
    expect(byStore.main).toMatchObject({ status: 'up', role: 'standalone' });
    expect(byStore.events).toMatchObject({ status: 'up', role: 'standalone' });
    expect(byStore.lite).toMatchObject({ status: 'up' });
  });

  it('db info shows databases with sizes and object counts', async () => {
    const result = await sandbox.run(['db', 'info', 'main']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`${database} *`);
    const csv = await sandbox.run(['db', 'info', 'main', '--csv']);
    expect(csv.stdout.split('\n')[0]).toMatch(/^database,current,size_bytes,tables/);
    const noStore = await sandbox.run(['db', 'info']);
    expect(noStore.exitCode).toBe(64);
  });

  it('db create and db drop --force on PostgreSQL, with another session connected', async () => {
    const name = uniqueName('cli_new');
    expect((await sandbox.run(['db', 'create', 'main', name])).exitCode).toBe(0);
    const other = new pg.Client({ connectionString: pgUrlFor(name), application_name: 'report-job' });
    other.on('error', () => undefined);
    await other.connect();
    try {
      const refused = await sandbox.run(['db', 'drop', 'main', name, '--confirm', name]);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain('report-job');
      expect(refused.stderr).toContain('--force');
      const forced = await sandbox.run(['db', 'drop', 'main', name, '--confirm', name, '--force', '--json']);
      expect(forced.exitCode).toBe(0);
      expect(forced.json()).toMatchObject({ dropped: true, terminatedSessions: 1 });
    } finally {
      await other.end().catch(() => undefined);
    }
  });

  it('an unreachable store exits 69 after bounded retries, naming the host and a hint', async () => {
    const dead = makeSandbox();
    dead.writeConfig({ stores: { dead: { engine: 'postgres', url: 'postgres://app@127.0.0.1:1/app' } } });
    const result = await dead.run(['db', 'health']);
    expect(result.exitCode).toBe(69);
    expect(result.stdout + result.stderr).toContain('127.0.0.1:1');
    expect(result.stderr).toMatch(/Hint: Is the server running/);
  });

  it('a wrong password fails with AUTH_FAILED (78) at once, and the password never appears', async () => {
    const auth = new URL(servers().pgAuthUrl);
    const sb = makeSandbox();
    sb.writeConfig({ stores: { secure: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${auth.port}/postgres`, password: WRONG_PASSWORD } } });
    const wrong = await sb.run(['db', 'health', '--json']);
    expect(wrong.exitCode).toBe(78);
    expect(wrong.json().stores[0].error.code).toBe('AUTH_FAILED');
    expect(wrong.stdout + wrong.stderr).not.toContain(WRONG_PASSWORD);
    // The right password from the environment overrides the file.
    const right = await sb.run(['db', 'health', '--json'], { env: { STORAGE_STORE_SECURE_PASSWORD: SUPERUSER_PASSWORD } });
    expect(right.exitCode).toBe(0);
    expect(right.stdout + right.stderr).not.toContain(SUPERUSER_PASSWORD);
  });

  it('probes stores concurrently: three hung stores cost one connect timeout, not three', async () => {
    for (let i = 0; i < 3; i++) blackholes.push(await startBlackhole());
    const sb = makeSandbox();
    const hung = Object.fromEntries(
      blackholes.map((hole, i) => [`hung${i}`, { engine: 'postgres', url: `postgres://app@127.0.0.1:${hole.port}/app`, connectTimeout: '2s' }]),
    );
    sb.writeConfig({
      stores: { main: { engine: 'postgres', url: pgUrlFor(database) }, lite: { engine: 'sqlite', path: `${sandbox.dir}/data/app.db` }, ...hung },
    });
    const result = await sb.run(['db', 'health', '--json']);
    expect(result.exitCode).toBe(2);
    const doc = result.json();
    expect(doc.stores.filter((s: { status: string }) => s.status === 'up').map((s: { store: string }) => s.store)).toEqual(['main', 'lite']);
    for (const store of doc.stores.filter((s: { status: string }) => s.status === 'down')) expect(store.error.code).toBe('TIMEOUT');
    // Sequential probing would take at least 3 × 2 s; concurrent probing about one timeout.
    expect(result.durationMs).toBeLessThan(5000);
  });
});
