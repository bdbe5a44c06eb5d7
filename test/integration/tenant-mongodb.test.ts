// The MongoDB tenancy adapter's parts no command reaches yet, on the suite's FerretDB: the tenant
// databases it sees (by prefix, never the store's own database), and drop (the database, then the
// ledger and the catalog entry, so a drop cut short is still listed and can be run again).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fleet } from '../../src/engine/fleet.js';
import { createTenants, dropTenant, openTenancy, tenantRecord } from '../../src/engine/tenant/service.js';
import { fleetFor } from '../support/fleet.js';
import { servers, uniqueName } from '../support/servers.js';

const home = uniqueName('tmongo_int');
const prefix = `ti${process.pid % 100000}${Math.random().toString(36).slice(2, 6)}_`;
let fleet: Fleet;
let mongo: MongoClient;

const databases = async () => (await mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((db) => db.name);

beforeAll(async () => {
  mongo = new MongoClient(servers().mongoUrl);
  await mongo.connect();
  const migrations = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-tenant-mongo-'));
  fs.writeFileSync(path.join(migrations, '0001_items.json'), JSON.stringify([{ createCollection: 'items' }]));
  fleet = await fleetFor({
    stores: { docs: { engine: 'mongodb', url: `${servers().mongoUrl}/${home}` } },
    tenancy: { store: 'docs', migrations, prefix, roles: false },
  });
});

afterAll(async () => {
  await fleet?.close();
  for (const name of await databases().catch(() => [])) if (name.startsWith(prefix) || name === home) await mongo.db(name).dropDatabase();
  await mongo?.close();
});

describe('MongoDB tenancy: containers and drop', () => {
  it('lists the tenant databases by prefix, and drop removes the database, its ledger and its catalog entry', async () => {
    const made = await createTenants(fleet, ['acme', 'globex']);
    expect(made.map((t) => t.outcome)).toEqual(['created', 'created']);
    // A database with the prefix that no tenant owns is listed too (that is how orphans are found).
    await mongo.db(`${prefix}stray`).collection('x').insertOne({ a: 1 });
    const tenancy = await openTenancy(fleet);
    expect(await tenancy.impl.containers(tenancy.provider, tenancy.settings)).toEqual([`${prefix}acme`, `${prefix}globex`, `${prefix}stray`]);

    const { record } = await tenantRecord(fleet, 'acme');
    await mongo
      .db(`${prefix}acme`)
      .collection('items')
      .insertOne({ _id: 1 } as never);
    await dropTenant(fleet, 'acme');
    expect(await databases()).not.toContain(`${prefix}acme`);
    expect(
      await mongo
        .db(home)
        .collection('storage_tenants')
        .countDocuments({ _id: 'acme' } as never),
    ).toBe(0);
    expect(await mongo.db(home).collection('storage_tenant_migrations').countDocuments({ tenant: 'acme' })).toBe(0);
    expect(await mongo.db(home).collection('storage_tenant_migrations').countDocuments({ tenant: 'globex' })).toBe(1);
    expect(await tenancy.impl.containers(tenancy.provider, tenancy.settings)).toEqual([`${prefix}globex`, `${prefix}stray`]);
    // Dropped again (as after a drop cut short between the database and the catalog): nothing to do, no error.
    await expect(tenancy.impl.drop(tenancy.provider, record, tenancy.settings)).resolves.toBeUndefined();
  });

  it('refuses to take over a database that exists but is not in the catalog', async () => {
    const [outcome] = await createTenants(fleet, ['stray']);
    expect(outcome).toMatchObject({
      outcome: 'failed',
      error: expect.stringContaining(`Database ${prefix}stray exists but the catalog has no tenant "stray"`),
    });
    expect(await mongo.db(`${prefix}stray`).collection('x').countDocuments()).toBe(1);
  });
});
