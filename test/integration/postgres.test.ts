import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase } from '../../src/engine/db/admin.js';
import { checkHealth } from '../../src/engine/db/health.js';
import { poolReports, storeInfo } from '../../src/engine/db/inspect.js';
import type { StorageError } from '../../src/engine/errors.js';
import type { Fleet } from '../../src/engine/fleet.js';
import { fleetFor } from '../support/fleet.js';
import { startCountingProxy } from '../support/net.js';
import { WRONG_PASSWORD } from '../support/secrets.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

describe('PostgreSQL provider (real server)', () => {
  const database = uniqueName('storage_it');
  let fleet: Fleet;

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${database}`));
    await pgAdmin(async (client) => {
      await client.query(
        'create schema app; create table app.orders (id serial primary key, note text); create index on app.orders (note); create view app.v as select 1',
      );
    }, pgUrlFor(database));
    fleet = await fleetFor({ stores: { main: { engine: 'postgres', url: pgUrlFor(database) } } });
  });

  afterAll(async () => {
    await fleet.close();
    await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
  });

  it('reports health: up, server version, role and writability', async () => {
    const [health] = await checkHealth(fleet, fleet.select(['main']));
    expect(health).toMatchObject({ store: 'main', status: 'up', role: 'standalone', readOnly: false, error: null });
    expect(health.serverVersion).toMatch(/^\d+\.\d+/);
    expect(health.latencyMs).toBeGreaterThan(0);
  });

  it('reports info: databases with sizes, and object counts of the current one', async () => {
    const info = await storeInfo(fleet, 'main');
    const current = info.databases.find((db) => db.current);
    expect(current?.name).toBe(database);
    expect(current?.sizeBytes).toBeGreaterThan(1000);
    expect(current?.objects).toMatchObject({ tables: 1, views: 1, sequences: 1, schemas: 2 });
    expect(current?.objects?.indexes).toBeGreaterThanOrEqual(2);
    expect(info.databases.map((db) => db.name)).toContain('postgres');
    expect(info.sizeBytes).toBeGreaterThanOrEqual(current!.sizeBytes!);
  });

  it("reports the client pool and the server's connections by state", async () => {
    const [report] = await poolReports(fleet, fleet.select(['main']));
    if ('error' in report) throw new Error(report.error.message);
    expect(report.client.max).toBe(5);
    expect(report.client.total).toBeGreaterThanOrEqual(1);
    expect(report.server.active).toBeGreaterThanOrEqual(1);
    expect(report.details.maxConnections).toBeGreaterThan(0);
  });

  it('creates and drops a database, quoting odd names safely', async () => {
    const name = `${uniqueName('odd')} "quoted"`;
    await createDatabase(fleet, 'main', name);
    const exists = await pgAdmin((client) => client.query('select 1 from pg_database where datname = $1', [name]));
    expect(exists.rowCount).toBe(1);
    await expect(createDatabase(fleet, 'main', name)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const result = await dropDatabase(fleet, { store: 'main', database: name, confirm: name, force: false });
    expect(result).toMatchObject({ dropped: true });
    const gone = await pgAdmin((client) => client.query('select 1 from pg_database where datname = $1', [name]));
    expect(gone.rowCount).toBe(0);
  });

  it('refuses to drop without the matching confirmation and drops nothing', async () => {
    const name = uniqueName('keep');
    await createDatabase(fleet, 'main', name);
    await expect(dropDatabase(fleet, { store: 'main', database: name, confirm: undefined, force: false })).rejects.toMatchObject({
      code: 'CONFIRMATION_REQUIRED',
    });
    await expect(dropDatabase(fleet, { store: 'main', database: name, confirm: 'other', force: false })).rejects.toMatchObject({
      code: 'CONFIRMATION_MISMATCH',
    });
    const still = await pgAdmin((client) => client.query('select 1 from pg_database where datname = $1', [name]));
    expect(still.rowCount).toBe(1);
    await dropDatabase(fleet, { store: 'main', database: name, confirm: name, force: false });
  });

  it('refuses to drop a database that has other sessions, naming them; --force terminates them', async () => {
    const name = uniqueName('busy');
    await createDatabase(fleet, 'main', name);
    const other = new pg.Client({ connectionString: pgUrlFor(name), application_name: 'orders-worker' });
    other.on('error', () => undefined);
    await other.connect();
    try {
      const refusal = (await dropDatabase(fleet, { store: 'main', database: name, confirm: name, force: false }).catch((error) => error)) as StorageError;
      expect(refusal.code).toBe('IN_USE');
      expect(refusal.message).toContain('orders-worker');
      expect(refusal.hint).toContain('--force');
      const forced = await dropDatabase(fleet, { store: 'main', database: name, confirm: name, force: true });
      expect(forced).toMatchObject({ dropped: true, terminatedSessions: 1 });
    } finally {
      await other.end().catch(() => undefined);
    }
  });

  it('will not drop the maintenance database, and a missing database is nothing to do', async () => {
    await expect(dropDatabase(fleet, { store: 'main', database: 'postgres', confirm: 'postgres', force: false })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    await expect(dropDatabase(fleet, { store: 'main', database: 'no_such_db_x', confirm: 'no_such_db_x', force: false })).resolves.toMatchObject({
      dropped: false,
      reason: 'absent',
    });
  });

  it('fails a wrong password at once with AUTH_FAILED: one connection, no retries', async () => {
    const auth = new URL(servers().pgAuthUrl);
    const proxy = await startCountingProxy(Number(auth.port), 'forward');
    const wrong = await fleetFor({
      stores: { secure: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, password: WRONG_PASSWORD } },
    });
    try {
      const [health] = await checkHealth(wrong, wrong.select(['secure']));
      expect(health.status).toBe('down');
      expect(health.error?.code).toBe('AUTH_FAILED');
      expect(JSON.stringify(health)).not.toContain(WRONG_PASSWORD);
      expect(proxy.connections).toBe(1);
    } finally {
      await wrong.close();
      await proxy.close();
    }
  });

  it('retries a server that drops connections, then reports it unreachable (exit 69) naming the host', async () => {
    const proxy = await startCountingProxy(1, 'reset');
    const flaky = await fleetFor({
      stores: { flaky: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, connectTimeout: '3s' } },
    });
    try {
      const [health] = await checkHealth(flaky, flaky.select(['flaky']));
      expect(health.status).toBe('down');
      expect(health.error?.code).toBe('UNREACHABLE');
      expect(health.error?.message).toContain(`127.0.0.1:${proxy.port}`);
      expect(proxy.connections).toBeGreaterThan(1);
      expect(proxy.connections).toBeLessThanOrEqual(4);
    } finally {
      await flaky.close();
      await proxy.close();
    }
  });
});
