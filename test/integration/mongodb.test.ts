import { Binary, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase } from '../../src/engine/db/admin.js';
import { checkHealth } from '../../src/engine/db/health.js';
import { poolReports, storeInfo } from '../../src/engine/db/inspect.js';
import type { Fleet } from '../../src/engine/fleet.js';
import { fleetFor } from '../support/fleet.js';
import { servers, uniqueName } from '../support/servers.js';

function mongoUrlFor(database: string): string {
  const url = new URL(servers().mongoUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

describe('MongoDB provider (real MongoDB-wire server)', () => {
  const database = uniqueName('events');
  let fleet: Fleet;
  let client: MongoClient;

  beforeAll(async () => {
    client = new MongoClient(servers().mongoUrl);
    await client.connect();
    const db = client.db(database);
    await db.collection('orders').insertMany([
      { n: 1, blob: new Binary(Buffer.from('x')), at: new Date() },
      { n: 2, tags: ['a', 'b'] },
      { n: 3, nested: { deep: true } },
    ]);
    await db.collection('orders').createIndex({ n: 1 }, { unique: true });
    await db.collection('audit').insertOne({ ok: true });
    fleet = await fleetFor({ stores: { events: { engine: 'mongodb', url: mongoUrlFor(database) } } });
  });

  afterAll(async () => {
    await fleet.close();
    await client.db(database).dropDatabase();
    await client.close();
  });

  it('reports health: up, server version and standalone role', async () => {
    const [health] = await checkHealth(fleet, fleet.select(['events']));
    expect(health).toMatchObject({ status: 'up', role: 'standalone', readOnly: false, error: null });
    expect(health.serverVersion).toMatch(/^\d+\.\d+/);
  });

  it('reports info: databases with collection, document and index counts', async () => {
    const info = await storeInfo(fleet, 'events');
    const current = info.databases.find((db) => db.name === database);
    expect(current?.current).toBe(true);
    expect(current?.objects).toMatchObject({ collections: 2, documents: 4 });
    expect(current?.objects?.indexes).toBeGreaterThanOrEqual(3);
  });

  it("counts the client pool's connections from the driver's pool events", async () => {
    const [report] = await poolReports(fleet, fleet.select(['events']));
    if ('error' in report) throw new Error(report.error.message);
    expect(report.client.max).toBe(5);
    expect(report.client.total).toBeGreaterThanOrEqual(1);
    expect(report.client.waiting).toBe(0);
  });

  it('creates a database (MongoDB has no empty ones: a marker collection makes it) and drops it', async () => {
    const name = uniqueName('newdb');
    await createDatabase(fleet, 'events', name);
    const listed = await client.db('admin').admin().listDatabases({ nameOnly: true });
    expect(listed.databases.map((db) => db.name)).toContain(name);
    await expect(createDatabase(fleet, 'events', name)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(dropDatabase(fleet, { store: 'events', database: name, confirm: name, force: false })).resolves.toMatchObject({ dropped: true });
    const after = await client.db('admin').admin().listDatabases({ nameOnly: true });
    expect(after.databases.map((db) => db.name)).not.toContain(name);
  });

  it('refuses system databases and invalid names', async () => {
    await expect(dropDatabase(fleet, { store: 'events', database: 'admin', confirm: 'admin', force: false })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    await expect(createDatabase(fleet, 'events', 'bad/name')).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('reports a store nobody listens on as unreachable within the connect timeout', async () => {
    const dead = await fleetFor({ stores: { gone: { engine: 'mongodb', url: 'mongodb://127.0.0.1:1/x', connectTimeout: '1s' } } });
    try {
      const [health] = await checkHealth(dead, dead.select(['gone']));
      expect(health.status).toBe('down');
      expect(['UNREACHABLE', 'TIMEOUT']).toContain(health.error?.code);
      expect(health.error?.message).toContain('127.0.0.1:1');
    } finally {
      await dead.close();
    }
  });
});
