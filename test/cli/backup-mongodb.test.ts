// Backups of MongoDB stores through the built binary, against the real MongoDB-wire server
// (FerretDB v1: no Decimal128, no transactions, no $out; the dump needs none of them).
import { BSON, Binary, Double, Int32, Long, MongoClient, ObjectId } from 'mongodb';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipByte, payloadFile } from '../support/backups.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { servers, uniqueName } from '../support/servers.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

describe('MongoDB backups', () => {
  const database = uniqueName('shop');
  let client: MongoClient;
  let sandbox: Sandbox;
  const canonical = async (db: string, name: string) =>
    BSON.EJSON.stringify(
      await client
        .db(db)
        .collection(name)
        .find({}, { sort: { _id: 1 }, promoteValues: false, promoteLongs: false })
        .toArray(),
      { relaxed: false },
    );

  beforeAll(async () => {
    client = new MongoClient(servers().mongoUrl);
    await client.connect();
    const db = client.db(database);
    await db.collection('orders').insertMany(
      Array.from({ length: 1500 }, (_, i) => ({
        n: i,
        sku: `s${i % 40}`,
        at: new Date(1_700_000_000_000 + i * 1000),
        nested: { tags: ['a', 'b', { deep: i }], ok: i % 2 === 0 },
        blob: new Binary(Buffer.from([i % 256, 7])),
        ref: new ObjectId(),
        big: Long.fromNumber(2 ** 40 + i),
        small: new Int32(i),
        ratio: new Double(i / 3),
      })),
    );
    await db.collection('orders').createIndex({ sku: 1, n: 1 }, { unique: true, name: 'sku_n_unique' });
    await db.collection('customers').insertMany([{ name: 'Ann' }, { name: 'Bo', since: new Date(0) }]);
    sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { events: { engine: 'mongodb', url: `${servers().mongoUrl}/${database}` } }, backup: { repository: './repo' } });
  });

  afterAll(async () => {
    const names = (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases
      .map((db) => db.name)
      .filter((name) => name.startsWith(database));
    for (const name of names) await client.db(name).dropDatabase();
    await client.close();
  });

  it('a store whose database has no collections (a typo in the url) is an error, not a complete empty backup', async () => {
    const typo = makeSandbox();
    typo.writeConfig({ stores: { events: { engine: 'mongodb', url: `${servers().mongoUrl}/${database}_typo` } }, backup: { repository: './repo' } });
    const created = await typo.run(['backup', 'create', '--json'], { env });
    expect(created.exitCode).toBe(1);
    expect(created.json().stores[0]).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', message: expect.stringContaining('nothing to back up') } });
    const listed = await typo.run(['backup', 'list', '--json'], { env });
    expect(listed.json().backups).toHaveLength(0);
  });

  it('round-trips nested documents, arrays, dates, ObjectIds, binary, 64-bit and 32-bit ints and a unique compound index', async () => {
    const created = await sandbox.run(['backup', 'create', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = created.json().stores[0].backup;
    expect(backup.counts).toEqual({ customers: 2, orders: 1500 });
    const target = `${database}_copy`;
    const restored = await sandbox.run(['backup', 'restore', backup.id, '--to', 'events', '--database', target, '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await canonical(target, 'orders')).toBe(await canonical(database, 'orders'));
    expect(await canonical(target, 'customers')).toBe(await canonical(database, 'customers'));
    const indexes = await client.db(target).collection('orders').listIndexes().toArray();
    expect(indexes.find((index) => index.name === 'sku_n_unique')).toMatchObject({ key: { sku: 1, n: 1 }, unique: true });
    const test = await sandbox.run(['backup', 'verify', backup.id, '--restore-test'], { env });
    expect(test.exitCode, test.stderr).toBe(0);
  });

  it('a database name MongoDB cannot take (a dot, over 63 characters) is a usage error (64) for restore and snapshot, and creates nothing', async () => {
    const backup = (await sandbox.run(['backup', 'list', '--json'], { env })).json().backups.find((entry: { status: string }) => entry.status === 'complete');
    for (const name of ['bad.name', 'x'.repeat(80)]) {
      const restored = await sandbox.run(['backup', 'restore', backup.id, '--to', 'events', '--database', name, '--json'], { env });
      expect(restored.exitCode).toBe(64);
      expect(restored.json().error.message).toContain('not a valid MongoDB database name');
    }
    const snap = await sandbox.run(['snapshot', 'create', 'events', '--database', 'bad.name', '--json'], { env });
    expect(snap.exitCode).toBe(64);
    const names = (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((db) => db.name);
    expect(names.filter((name) => name.startsWith('bad') || name.startsWith('xxx'))).toEqual([]);
  });

  it('exports the mongodump layout: <db>/<collection>.bson and .metadata.json', async () => {
    const id = (await sandbox.run(['backup', 'create', '--json'], { env })).json().stores[0].backup.id;
    const out = path.join(sandbox.dir, 'export');
    const exported = await sandbox.run(['backup', 'export', id, '--out', out], { env });
    expect(exported.exitCode, exported.stderr).toBe(0);
    const bson = fs.readFileSync(path.join(out, id, database, 'orders.bson'));
    let documents = 0;
    for (let offset = 0; offset < bson.length; offset += bson.readInt32LE(offset)) documents++;
    expect(documents).toBe(1500);
    const metadata = JSON.parse(fs.readFileSync(path.join(out, id, database, 'orders.metadata.json'), 'utf8'));
    expect(metadata.indexes.map((index: { name: string }) => index.name)).toContain('sku_n_unique');
  });

  it('refuses a tampered backup and creates no database; will not restore over an existing one', async () => {
    const id = (await sandbox.run(['backup', 'create', '--json'], { env })).json().stores[0].backup.id;
    const target = `${database}_never`;
    const copyDir = path.join(sandbox.dir, 'repo', 'backups', id);
    const intact = path.join(sandbox.dir, 'intact');
    fs.cpSync(copyDir, intact, { recursive: true });
    flipByte(payloadFile(copyDir));
    const restore = await sandbox.run(['backup', 'restore', id, '--to', 'events', '--database', target], { env });
    expect(restore.exitCode).toBe(65);
    const names = (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((db) => db.name);
    expect(names).not.toContain(target);
    fs.rmSync(copyDir, { recursive: true });
    fs.cpSync(intact, copyDir, { recursive: true });
    const over = await sandbox.run(['backup', 'restore', id, '--to', 'events', '--database', database, '--confirm', database], { env });
    expect(over.exitCode).toBe(64);
    expect(over.stderr).toMatch(/new database/);
  });
});
