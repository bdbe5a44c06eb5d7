// `storage sync` with MongoDB (the suite's FerretDB) as source and target, through the built
// binary: SQLite → MongoDB → PostgreSQL keeps every value exactly (an integer past 2^53, decimals,
// instants, bytes, nested JSON, NULL as a missing field), a microsecond instant MongoDB cannot keep
// is refused with its column and key, a killed run resumes to an exact copy without duplicates
// (batches and checkpoints are not atomic there: the upserts are what makes a replay harmless),
// and mirror mode deletes exactly the extra documents.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import { Binary, Double, Int32, Long, MongoClient, ObjectId, type Document } from 'mongodb';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { kindsTable, ordersTable } from '../support/sync-tables.js';
import { BIN } from '../support/paths.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

const ORDERS = 6000;
const pgDatabase = uniqueName('e14_sync');
const mongoDatabase = uniqueName('e14_sync');
let sandbox: Sandbox;
let lite: Sqlite.Database;
let mongo: MongoClient;

const pg = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  pgAdmin(async (client) => (await client.query(sql, params)).rows as T[], pgUrlFor(pgDatabase));
const docs = (name: string) => mongo.db(mongoDatabase).collection<Document>(name);
const raw = (name: string, filter: Document = {}) =>
  docs(name)
    .find(filter, { promoteValues: false, sort: { _id: 1 } })
    .toArray();

beforeAll(async () => {
  await pgAdmin((client) => client.query(`create database ${pgDatabase}`));
  mongo = new MongoClient(servers().mongoUrl);
  await mongo.connect();
  sandbox = makeSandbox();
  lite = new Sqlite(path.join(sandbox.dir, 'lite.db'));
  lite.pragma('journal_mode = WAL');
  kindsTable(lite, [
    [
      1,
      9007199254740993n,
      0.1,
      '12.50',
      'zürich ✓',
      1,
      '2023-11-14 22:13:23.123+00',
      '2023-11-14 22:13:23.123456',
      '2023-11-14',
      Buffer.from([0, 255, 1]),
      '{"a":[1,2,{"b":null}],"n":{"deep":true,"x":1.5}}',
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
    ],
    [2, -5, -2.5e-10, '-0.001', '', 0, '2023-11-14T23:13:23.5+01:00', '1999-12-31 23:59:59', '1970-01-01', Buffer.alloc(0), '[]', null],
    [3, null, null, null, null, null, null, null, null, null, null, null],
  ]);
  lite.exec(`create table micro (id integer primary key, at timestamptz)`);
  lite.prepare(`insert into micro values (1, '2023-11-14 22:13:23.123+00'), (2, '2023-11-14 22:13:23.123456+00')`).run();
  lite.exec(`create table pair (a integer, b integer, primary key (a, b))`);
  lite.prepare(`insert into pair values (1, 1)`).run();
  ordersTable(lite, ORDERS);
  lite.exec(`create table accounts (id integer primary key, balance integer not null)`);
  lite.prepare(`insert into accounts values (1, 10), (2, 20), (3, 30)`).run();
  sandbox.writeConfig({
    stores: {
      lite: { engine: 'sqlite', path: 'lite.db' },
      docs: { engine: 'mongodb', url: `${servers().mongoUrl}/${mongoDatabase}` },
      main: { engine: 'postgres', url: pgUrlFor(pgDatabase) },
    },
    sync: {
      jobs: {
        kinds_in: { from: { store: 'lite', table: 'kinds' }, to: { store: 'docs', table: 'kinds' } },
        kinds_out: { from: { store: 'docs', table: 'kinds' }, to: { store: 'main', table: 'public.kinds' } },
        orders: { from: { store: 'lite', table: 'orders' }, to: { store: 'docs', table: 'orders' }, batchSize: 200 },
        mirror: { from: { store: 'lite', table: 'orders' }, to: { store: 'docs', table: 'orders_mirror' }, mode: 'mirror' },
        manual: { from: { store: 'lite', table: 'accounts' }, to: { store: 'docs', table: 'accounts' }, conflict: 'manual' },
      },
    },
  });
}, 120_000);

afterAll(async () => {
  lite?.close();
  await mongo
    ?.db(mongoDatabase)
    .dropDatabase()
    .catch(() => undefined);
  await mongo?.close();
  await pgAdmin((client) => client.query(`drop database if exists ${pgDatabase} with (force)`));
});

describe('storage sync with MongoDB', () => {
  it('SQLite → MongoDB → PostgreSQL keeps every value exactly, NULL as a missing field, and verify agrees at each step', async () => {
    const plan = await sandbox.run(['sync', 'plan', 'kinds_in', '--json']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.json()).toMatchObject({ wouldInsert: 3, target: { exists: false, engine: 'MongoDB' } });

    const run = await sandbox.run(['sync', 'run', 'kinds_in', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ rows: 3, createdTarget: true });
    const [one, two, three] = await raw('kinds');
    // The key column is the document's _id; each value has the BSON type of the README's table.
    expect(one._id).toEqual(Long.fromBigInt(1n));
    expect(one.big).toEqual(Long.fromBigInt(9007199254740993n));
    expect(one.ratio).toEqual(new Double(0.1));
    expect(one.price).toBe('12.5');
    expect(one.name).toBe('zürich ✓');
    expect(one.active).toBe(true);
    expect(one.seen).toEqual(new Date('2023-11-14T22:13:23.123Z'));
    expect(one.local).toBe('2023-11-14T22:13:23.123456');
    expect(one.day).toBe('2023-11-14');
    expect((one.raw as Binary).sub_type).toBe(0);
    expect(Buffer.from((one.raw as Binary).value()).toString('hex')).toBe('00ff01');
    expect(one.doc).toEqual({ a: [new Int32(1), new Int32(2), { b: null }], n: { deep: true, x: new Double(1.5) } });
    expect((one.ref as Binary).sub_type).toBe(4);
    expect(Buffer.from((one.ref as Binary).value()).toString('hex')).toBe('a0eebc999c0b4ef8bb6d6bb9bd380a11');
    expect(one).not.toHaveProperty('id');
    expect(two.seen).toEqual(new Date('2023-11-14T22:13:23.500Z'));
    expect(two.price).toBe('-0.001');
    expect(two).not.toHaveProperty('ref');
    // NULL is a missing field.
    expect(Object.keys(three)).toEqual(['_id']);
    expect((await sandbox.run(['sync', 'verify', 'kinds_in'])).exitCode).toBe(0);

    // MongoDB as the source: the recorded shape gives back the canonical types (and the key's name).
    const out = await sandbox.run(['sync', 'plan', 'kinds_out', '--json']);
    expect(out.exitCode, out.stderr).toBe(0);
    const source = out.json().source;
    expect(source.key).toEqual(['id']);
    expect(source.consistency).toMatch(/no snapshot/);
    expect(Object.fromEntries(source.columns.map((c: { name: string; type: string }) => [c.name, c.type]))).toEqual({
      id: 'integer',
      big: 'integer',
      ratio: 'float',
      price: 'decimal',
      name: 'text',
      active: 'boolean',
      seen: 'timestamptz',
      local: 'timestamp',
      day: 'date',
      raw: 'bytes',
      doc: 'json',
      ref: 'uuid',
    });
    const copied = await sandbox.run(['sync', 'run', 'kinds_out', '--json']);
    expect(copied.exitCode, copied.stderr).toBe(0);
    const rows = await pg<Record<string, string | null>>(
      `select id::text, big::text, ratio::text, price::text, name, active::text, seen::text, local::text, day::text, encode(raw, 'hex') as raw, doc::text, ref::text from kinds order by id`,
    );
    expect(rows[0]).toEqual({
      id: '1',
      big: '9007199254740993',
      ratio: '0.1',
      price: '12.5',
      name: 'zürich ✓',
      active: 'true',
      seen: '2023-11-14 22:13:23.123+00',
      local: '2023-11-14 22:13:23.123456',
      day: '2023-11-14',
      raw: '00ff01',
      doc: '{"a": [1, 2, {"b": null}], "n": {"x": 1.5, "deep": true}}',
      ref: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    });
    expect(rows[1]).toMatchObject({
      big: '-5',
      ratio: '-2.5e-10',
      price: '-0.001',
      name: '',
      active: 'false',
      seen: '2023-11-14 22:13:23.5+00',
      raw: '',
      doc: '[]',
      ref: null,
    });
    expect(Object.entries(rows[2]).filter(([, value]) => value !== null)).toEqual([['id', '3']]);
    expect((await sandbox.run(['sync', 'verify', 'kinds_out'])).exitCode).toBe(0);
    // The round trip: PostgreSQL's copy of MongoDB's copy equals the SQLite original.
    const roundTrip = await sandbox.run(['sync', 'verify', '--from', 'lite:kinds', '--to', 'main:public.kinds']);
    expect(roundTrip.exitCode, roundTrip.stdout).toBe(0);
  });

  it('refuses an instant with microseconds (MongoDB keeps milliseconds) with 65, naming the column and key; the batch is not written', async () => {
    const run = await sandbox.run(['sync', 'run', '--from', 'lite:micro', '--to', 'docs:micro']);
    expect(run.exitCode).toBe(65);
    expect(run.stderr).toMatch(/micro\.at of the row with key 2 holds 2023-11-14T22:13:23\.123456Z, which MongoDB cannot keep/);
    expect(await docs('micro').countDocuments({})).toBe(0);
  });

  it('refuses a composite key into MongoDB with 64, naming the key', async () => {
    const run = await sandbox.run(['sync', 'run', '--from', 'lite:pair', '--to', 'docs:pair']);
    expect(run.exitCode).toBe(64);
    expect(run.stderr).toMatch(/_id alone.*2 columns \(a, b\)/);
  });

  it('a run killed mid-way resumes with --resume to an exact copy, without duplicates', async () => {
    const child = execa(process.execPath, [BIN, 'sync', 'run', 'orders'], {
      cwd: sandbox.dir,
      env: { ...sandbox.env, HOME: sandbox.dir },
      reject: false,
      extendEnv: true,
    });
    for (let i = 0; i < 800; i++) {
      const checkpoint = await docs('storage_sync_checkpoints')
        .findOne({ _id: 'orders' as never })
        .catch(() => null);
      if (Number(checkpoint?.rows ?? 0) >= 1000) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    child.kill('SIGKILL');
    await child;
    const checkpoint = (await docs('storage_sync_checkpoints').findOne({ _id: 'orders' as never }))!;
    expect(checkpoint).toMatchObject({ state: 'running' });
    const before = await docs('orders').countDocuments({});
    // Not atomic: the documents of the batch after the checkpoint may be there too.
    expect(before).toBeGreaterThanOrEqual(Number(checkpoint.rows));
    expect(before).toBeLessThan(ORDERS);

    const again = await sandbox.run(['sync', 'run', 'orders']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/stopped after \d+ rows[\s\S]*--resume/);

    const resumed = await sandbox.run(['sync', 'run', 'orders', '--resume', '--json'], { timeoutMs: 180_000 });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.json().rows).toBe(ORDERS - Number(checkpoint.rows));
    const ids = (
      await docs('orders')
        .find({}, { projection: { _id: 1 } })
        .toArray()
    ).map((document) => Number(document._id));
    expect(ids.length).toBe(ORDERS);
    expect(new Set(ids).size).toBe(ORDERS);
    expect(Math.min(...ids)).toBe(1);
    expect(Math.max(...ids)).toBe(ORDERS);
    expect((await sandbox.run(['sync', 'verify', 'orders'])).exitCode).toBe(0);
    const status = (await sandbox.run(['sync', 'status', 'orders', '--json'])).json().jobs[0];
    expect(status.checkpoint).toMatchObject({ state: 'done', rows: ORDERS });
  }, 240_000);

  it('a batch written but not checkpointed (no transaction holds them together) is written again on --resume, changing nothing', async () => {
    // As if the run had died after writing every batch but checkpointing only the first 1000 rows.
    await docs('storage_sync_checkpoints').updateOne({ _id: 'orders' as never }, { $set: { state: 'running', rows: 1000, lastKey: '[{"i":"1000"}]' } });
    const before = await raw('orders');
    const resumed = await sandbox.run(['sync', 'run', 'orders', '--resume', '--json'], { timeoutMs: 180_000 });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.json()).toMatchObject({ rows: ORDERS - 1000, resumedFrom: '1000' });
    expect(await raw('orders')).toEqual(before);
    expect((await sandbox.run(['sync', 'verify', 'orders'])).exitCode).toBe(0);
  }, 240_000);

  it('append into MongoDB inserts the new documents and leaves the ones there as they are', async () => {
    const job = ['--from', 'lite:kinds', '--to', 'docs:kinds_append', '--mode', 'append'];
    expect((await sandbox.run(['sync', 'run', ...job])).exitCode).toBe(0);
    await docs('kinds_append').updateOne({ _id: Long.fromNumber(1) as never }, { $set: { name: 'changed here' } });
    await docs('kinds_append').deleteOne({ _id: Long.fromNumber(3) as never });
    const again = await sandbox.run(['sync', 'run', ...job, '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await raw('kinds_append')).map((document) => [Number(document._id), document.name ?? null])).toEqual([
      [1, 'changed here'],
      [2, ''],
      [3, null],
    ]);
  });

  it('mirror mode into MongoDB deletes exactly the extra documents and puts a changed one back', async () => {
    const first = await sandbox.run(['sync', 'run', 'mirror', '--confirm', 'mirror'], { timeoutMs: 180_000 });
    expect(first.exitCode, first.stderr).toBe(0);
    await docs('orders_mirror').insertMany([
      { _id: Long.fromNumber(70001), customer: 'only here', total: Long.fromNumber(1), updated_at: 'x' },
      { _id: Long.fromNumber(70002), customer: 'only here', total: Long.fromNumber(2), updated_at: 'y' },
    ] as never[]);
    await docs('orders_mirror').updateOne({ _id: Long.fromNumber(5) as never }, { $set: { customer: 'changed' } });
    const plan = await sandbox.run(['sync', 'plan', 'mirror', '--json']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.json()).toMatchObject({ wouldInsert: 0, wouldUpdate: 1, wouldDelete: 2 });
    const run = await sandbox.run(['sync', 'run', 'mirror', '--confirm', 'mirror', '--json'], { timeoutMs: 180_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json().deleted).toBe(2);
    expect(await docs('orders_mirror').countDocuments({})).toBe(ORDERS);
    expect(await docs('orders_mirror').countDocuments({ _id: { $gt: ORDERS } } as never)).toBe(0);
    expect((await docs('orders_mirror').findOne({ _id: Long.fromNumber(5) as never }))?.customer).toBe('customer 5');
    expect((await sandbox.run(['sync', 'verify', 'mirror'])).exitCode).toBe(0);
  }, 240_000);

  it('a collection sync did not create is described from its documents: ObjectId _ids as text, ints and longs as integer; mixed types are refused', async () => {
    const ids = [new ObjectId(), new ObjectId(), new ObjectId()];
    await docs('native').insertMany([
      { _id: ids[0], n: new Int32(1), big: Long.fromBigInt(2n ** 60n), score: new Double(2), tags: ['a'], at: new Date('2024-01-01T00:00:00.001Z') },
      { _id: ids[1], n: Long.fromNumber(2), score: new Double(2.5), tags: { k: 'v' } },
      { _id: ids[2], n: new Int32(3), big: null, score: new Int32(3), tags: [] },
    ] as never[]);
    const plan = await sandbox.run(['sync', 'plan', '--from', 'docs:native', '--to', 'main:native', '--json']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    const columns = Object.fromEntries(
      plan.json().source.columns.map((c: { name: string; type: string; nullable: boolean }) => [c.name, [c.type, c.nullable]]),
    );
    expect(columns).toEqual({
      _id: ['text', false],
      n: ['integer', false],
      big: ['integer', true],
      score: ['float', false],
      tags: ['json', false],
      at: ['timestamptz', true],
    });
    expect(plan.json().source.key).toEqual(['_id']);
    const run = await sandbox.run(['sync', 'run', '--from', 'docs:native', '--to', 'main:native']);
    expect(run.exitCode, run.stderr).toBe(0);
    const rows = await pg<Record<string, string | null>>(`select "_id", n::text, big::text, score::text, tags::text, at::text from native order by "_id"`);
    expect(rows.map((row) => row._id)).toEqual(ids.map((id) => id.toHexString()).sort());
    expect(rows.find((row) => row._id === ids[0].toHexString())).toMatchObject({ big: String(2n ** 60n), score: '2', at: '2024-01-01 00:00:00.001+00' });
    expect((await sandbox.run(['sync', 'verify', '--from', 'docs:native', '--to', 'main:native'])).exitCode).toBe(0);

    await docs('mixed').insertMany([
      { _id: 1, v: 'text' },
      { _id: 2, v: 2 },
    ] as never[]);
    const mixed = await sandbox.run(['sync', 'plan', '--from', 'docs:mixed', '--to', 'main:mixed']);
    expect(mixed.exitCode).toBe(64);
    expect(mixed.stderr).toMatch(/mixed\.v holds values of several types \(int, string\)/);
  });

  it('conflicts into MongoDB: a document changed on both sides is kept and recorded, then resolved taking the source', async () => {
    expect((await sandbox.run(['sync', 'run', 'manual'])).exitCode).toBe(0);
    lite.exec(`update accounts set balance = 11 where id in (1, 2)`);
    await docs('accounts').updateOne({ _id: new Long(1) as never }, { $set: { balance: new Long(99) } });
    const run = await sandbox.run(['sync', 'run', 'manual', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json().conflicts).toMatchObject({ detected: 1, pending: 1 });
    const balance = async (id: number) => Number((await docs('accounts').findOne({ _id: new Long(id) as never }))?.balance);
    expect(await balance(1)).toBe(99);
    expect(await balance(2)).toBe(11);
    expect((await sandbox.run(['sync', 'conflicts', 'list', 'manual', '--json'])).json().conflicts).toMatchObject([
      { key: '1', differences: [{ column: 'balance', source: '11', target: '99' }] },
    ]);
    expect((await sandbox.run(['sync', 'conflicts', 'resolve', 'manual', '1', '--take', 'source'])).exitCode).toBe(0);
    expect(await balance(1)).toBe(11);
    expect((await sandbox.run(['sync', 'conflicts', 'list', 'manual', '--json'])).json().conflicts).toEqual([]);
    expect((await sandbox.run(['sync', 'verify', 'manual'])).exitCode).toBe(0);
  }, 120_000);
});
