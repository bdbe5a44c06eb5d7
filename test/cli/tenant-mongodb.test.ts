// `storage tenant` on MongoDB (the suite's FerretDB), through the built binary: a database per
// tenant, declarative JSON migrations applied in each (collections, indexes, a renamed field, a
// default where missing, read back with the driver), a second migrate-all that touches nothing, an
// interrupted migration resumed at the step it was in (never replaying the steps before it), an
// edited applied migration and an invalid file refused before anything runs, suspend/resume as a
// catalog flag (FerretDB v1 has no roles; tenancy.roles: true is refused there with a clear error),
// and --stats counting documents. Collections stay tiny: FerretDB is slow per write.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BIN } from '../support/paths.js';
import { servers, uniqueName } from '../support/servers.js';

const home = uniqueName('tmongo_home');
// tenancy.prefix: lower-case letters, digits and _, at most 20.
const prefix = `tm${process.pid % 100000}${Math.random().toString(36).slice(2, 6)}_`;
const TENANTS = ['acme', 'globex', 'initech'];
let sandbox: Sandbox;
let mongo: MongoClient;
let migrations: string;

interface Item {
  _id: number;
  [field: string]: unknown;
}
interface Entry {
  _id: string;
  [field: string]: unknown;
}

const tenantDb = (name: string) => mongo.db(`${prefix}${name}`);
const items = (name: string) =>
  tenantDb(name)
    .collection<Item>('items')
    .find({}, { sort: { _id: 1 } })
    .toArray();
const indexNames = async (name: string) => (await tenantDb(name).collection('items').indexes()).map((index) => index.name).sort();
const collections = async (name: string) => (await tenantDb(name).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
const databases = async () => (await mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((db) => db.name);
const catalog = () => mongo.db(home).collection<Entry>('storage_tenants');
const ledger = () => mongo.db(home).collection<Entry>('storage_tenant_migrations');
const writeMigration = (file: string, steps: unknown) => fs.writeFileSync(path.join(migrations, file), `${JSON.stringify(steps, null, 2)}\n`);

const FIELDS = [
  { renameField: { collection: 'items', from: 'label', to: 'title' } },
  { setDefault: { collection: 'items', field: 'price', value: 0 } },
  { createIndex: { collection: 'items', keys: { price: -1 }, name: 'items_price', unique: false } },
  { dropIndex: { collection: 'items', name: 'items_name' } },
];

beforeAll(async () => {
  mongo = new MongoClient(servers().mongoUrl);
  await mongo.connect();
  sandbox = makeSandbox();
  migrations = path.join(sandbox.dir, 'migrations');
  fs.mkdirSync(migrations);
  writeMigration('0001_items.json', [
    { createCollection: 'items' },
    { createIndex: { collection: 'items', keys: { name: 1 }, name: 'items_name', unique: true } },
  ]);
  const tenancy = { store: 'docs', migrations: 'migrations', prefix, roles: false };
  const stores = { docs: { engine: 'mongodb', url: `${servers().mongoUrl}/${home}` } };
  sandbox.writeConfig({ stores, tenancy, backup: { repository: './repo' } });
  // The default, tenancy.roles: true, on a server without role management.
  sandbox.writeConfig({ stores, tenancy: { ...tenancy, roles: undefined } }, 'with-roles.yaml');
}, 120_000);

afterAll(async () => {
  for (const name of await databases().catch(() => [])) if (name.startsWith(prefix) || name === home) await mongo.db(name).dropDatabase();
  await mongo?.close();
});

describe('storage tenant on MongoDB', () => {
  it('creates each tenant as a database with every migration applied, and refuses names a MongoDB database cannot portably hold before creating any', async () => {
    const created = await sandbox.run(['tenant', 'create', ...TENANTS, '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.json().tenants.map((t: { outcome: string }) => t.outcome)).toEqual(['created', 'created', 'created']);
    for (const name of TENANTS) {
      expect(await collections(name)).toEqual(['_storage_created', 'items']);
      expect(await indexNames(name)).toEqual(['_id_', 'items_name']);
    }
    const entry = await catalog().findOne({ _id: 'acme' });
    expect(entry).toMatchObject({ container: `${prefix}acme`, status: 'active', version: '0001_items', role: false });
    expect(await ledger().countDocuments({ name: '0001_items', appliedAt: { $type: 'date' } })).toBe(3);

    // Non-ASCII (FerretDB refuses it, and MongoDB tools turn it into file names) and over 63 bytes: refused, and so is the whole command.
    for (const bad of ['über', `a${'b'.repeat(63 - prefix.length)}`]) {
      const refused = await sandbox.run(['tenant', 'create', 'zeta', bad]);
      expect(refused.exitCode).toBe(64);
      expect(refused.stderr).toContain(`Tenant "${bad}" cannot be kept in MongoDB as "${prefix}${bad}"`);
    }
    expect(await databases()).not.toContain(`${prefix}zeta`);
    const fits = `a${'b'.repeat(62 - prefix.length)}`; // exactly 63 bytes with the prefix
    const made = await sandbox.run(['tenant', 'create', fits]);
    expect(made.exitCode, made.stderr).toBe(0);
    expect(await databases()).toContain(`${prefix}${fits}`);
    const listed = await sandbox.run(['tenant', 'list', '--json']);
    expect(listed.json().tenants.map((t: { name: string }) => t.name)).toEqual([fits, ...TENANTS]);
    // Tidy: the long one is not part of the rest of this file.
    await mongo.db(`${prefix}${fits}`).dropDatabase();
    await catalog().deleteOne({ _id: fits });
    await ledger().deleteMany({ tenant: fits });

    const again = await sandbox.run(['tenant', 'create', 'acme']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('1 already there');
  });

  it('refuses to make tenant roles on a server without role management (FerretDB), leaving nothing behind', async () => {
    const refused = await sandbox.run(['tenant', 'create', 'roled', '--config', 'with-roles.yaml']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('no role management');
    expect(refused.stderr).toContain('tenancy.roles: false');
    expect(await catalog().findOne({ _id: 'roled' })).toBeNull();
    expect(await databases()).not.toContain(`${prefix}roled`);
  });

  it('migrate --all applies the JSON steps in every tenant database: a field renamed where present, a default set where missing, an index made and one dropped', async () => {
    await tenantDb('acme')
      .collection<Item>('items')
      .insertMany([
        { _id: 1, name: 'a', label: 'first' },
        { _id: 2, name: 'b', label: 'second', price: 5 },
        { _id: 3, name: 'c' },
      ]);
    writeMigration('0002_fields.json', FIELDS);
    const run = await sandbox.run(['tenant', 'migrate', '--all', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ migrated: 3, current: 0, failed: 0, latest: '0002_fields' });
    expect(await items('acme')).toEqual([
      { _id: 1, name: 'a', title: 'first', price: 0 },
      { _id: 2, name: 'b', title: 'second', price: 5 },
      { _id: 3, name: 'c', price: 0 },
    ]);
    for (const name of TENANTS) expect(await indexNames(name)).toEqual(['_id_', 'items_price']);
    expect(await catalog().countDocuments({ version: '0002_fields' })).toBe(3);
  });

  it('a second migrate --all touches nothing: every tenant is current, the catalog and the ledger unchanged', async () => {
    const snapshot = async () => ({
      catalog: await catalog()
        .find({}, { sort: { _id: 1 } })
        .toArray(),
      ledger: await ledger()
        .find({}, { sort: { _id: 1 } })
        .toArray(),
    });
    const before = await snapshot();
    const run = await sandbox.run(['tenant', 'migrate', '--all', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ migrated: 0, current: 3, failed: 0 });
    expect(run.json().tenants.map((t: { outcome: string }) => t.outcome)).toEqual(['current', 'current', 'current']);
    expect(await snapshot()).toEqual(before);
  });

  it('resumes a migration cut short at the step it was in, never replaying the steps before it', async () => {
    // Replayed, the rename would move the new default over the renamed value.
    const steps = [{ renameField: { collection: 'items', from: 'note', to: 'memo' } }, { setDefault: { collection: 'items', field: 'note', value: 'none' } }];
    writeMigration('0003_notes.json', steps);
    const body = fs.readFileSync(path.join(migrations, '0003_notes.json'), 'utf8');
    await tenantDb('acme').collection<Item>('items').insertOne({ _id: 4, name: 'd', note: 'kept' });
    // As a run killed after acme's second step, before its progress was written, leaves it: both steps done, the catalog saying one.
    await tenantDb('acme')
      .collection('items')
      .updateMany({ note: { $exists: true } }, { $rename: { note: 'memo' } });
    await tenantDb('acme')
      .collection('items')
      .updateMany({ note: { $exists: false } }, { $set: { note: 'none' } });
    const checksum = createHash('sha256').update(body).digest('hex');
    await catalog().updateOne({ _id: 'acme' }, { $set: { progress: { migration: '0003_notes', checksum, steps: 1, of: 2 } } });
    const listed = await sandbox.run(['tenant', 'list', '--json']);
    expect(listed.json().tenants.find((t: { name: string }) => t.name === 'acme')).toMatchObject({ version: '0002_fields', pending: ['0003_notes'] });

    const run = await sandbox.run(['tenant', 'migrate', '--all', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ migrated: 3, failed: 0 });
    expect((await items('acme')).find((doc) => doc._id === 4)).toEqual({ _id: 4, name: 'd', memo: 'kept', note: 'none' });
    expect(await ledger().findOne({ _id: 'acme/0003_notes' })).toMatchObject({ tenant: 'acme', name: '0003_notes', checksum, appliedAt: expect.any(Date) });
    expect(await catalog().findOne({ _id: 'acme' })).toMatchObject({ progress: { migration: '0003_notes', steps: 2, of: 2 } });
    expect(await catalog().countDocuments({ version: '0003_notes' })).toBe(3);
  });

  it('refuses an edited, already applied migration before anything runs (exit 1), applying nothing else', async () => {
    const file = path.join(migrations, '0001_items.json');
    const original = fs.readFileSync(file, 'utf8');
    const ledgerBefore = await ledger()
      .find({}, { sort: { _id: 1 } })
      .toArray();
    try {
      writeMigration('0001_items.json', [{ createCollection: 'items' }, { createCollection: 'edited' }]);
      writeMigration('0004_more.json', [{ createCollection: 'more' }]);
      const run = await sandbox.run(['tenant', 'migrate', '--all']);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('0001_items edited after it was applied');
      expect(run.stderr).toContain('Nothing was migrated');
      for (const name of TENANTS) expect(await collections(name)).toEqual(['_storage_created', 'items']);
      expect(
        await ledger()
          .find({}, { sort: { _id: 1 } })
          .toArray(),
      ).toEqual(ledgerBefore);
    } finally {
      fs.writeFileSync(file, original);
      fs.rmSync(path.join(migrations, '0004_more.json'));
    }
  });

  it('refuses an invalid migration file naming the file and the step, before anything is applied', async () => {
    writeMigration('0004_bad.json', [{ createCollection: 'more' }, { createIndex: { collection: 'items', keys: { a: 1 }, name: 'a', sparse: true } }]);
    try {
      const run = await sandbox.run(['tenant', 'migrate', '--all']);
      expect(run.exitCode).toBe(78);
      expect(run.stderr).toContain('Migration 0004_bad.json, step 2 of 2: createIndex has no field "sparse"');
      expect(run.stderr).toContain('{"setDefault": {"collection": "items", "field": "price", "value": 0}}');
      for (const name of TENANTS) expect(await collections(name)).toEqual(['_storage_created', 'items']);
    } finally {
      fs.rmSync(path.join(migrations, '0004_bad.json'));
    }
  });

  it('suspend and resume flip the status the application reads in the catalog (tenancy.roles: false)', async () => {
    const suspended = await sandbox.run(['tenant', 'suspend', 'acme']);
    expect(suspended.exitCode, suspended.stderr).toBe(0);
    expect(suspended.stdout).toContain('with tenancy.roles: false only its catalog entry (storage_tenants) says suspended');
    expect(await catalog().findOne({ _id: 'acme' })).toMatchObject({ status: 'suspended' });
    const shown = await sandbox.run(['tenant', 'show', 'acme', '--json']);
    expect(shown.json()).toMatchObject({ status: 'suspended', version: '0003_notes', pending: [] });
    // The data stays.
    expect(await items('acme')).toHaveLength(4);
    const twice = await sandbox.run(['tenant', 'suspend', 'acme']);
    expect(twice.stdout).toContain('already suspended');

    const resumed = await sandbox.run(['tenant', 'resume', 'acme']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await catalog().findOne({ _id: 'acme' })).toMatchObject({ status: 'active' });
  });

  it('list --stats counts each tenant’s documents per collection, leaving out the marker', async () => {
    const run = await sandbox.run(['tenant', 'list', '--stats', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const byName = Object.fromEntries(run.json().tenants.map((t: { name: string }) => [t.name, t]));
    expect(byName.acme).toMatchObject({ rows: { items: 4 }, status: 'active', pending: [], problems: [] });
    expect(byName.globex).toMatchObject({ rows: { items: 0 } });
    expect(byName.acme.bytes).toBeGreaterThan(0);
  });

  it('kill -9 mid migrate-all, then a rerun: every tenant at the latest migration, no step before the interrupted one replayed', async () => {
    const more = Array.from({ length: 8 }, (_, i) => `k${i + 1}`);
    expect((await sandbox.run(['tenant', 'create', ...more])).exitCode).toBe(0);
    for (const name of more)
      await tenantDb(name)
        .collection<Item>('items')
        .insertMany([1, 2].map((id) => ({ _id: id, name: `n${id}`, f0: `v${id}` })));
    // f0 → f1 → … → f10, each old name then given a default: any replayed rename would move a default over a value.
    const CHAIN = 10;
    writeMigration(
      '0004_chain.json',
      Array.from({ length: CHAIN }, (_, i) => [
        { renameField: { collection: 'items', from: `f${i}`, to: `f${i + 1}` } },
        { setDefault: { collection: 'items', field: `f${i}`, value: `d${i}` } },
      ]).flat(),
    );
    const run = execa(process.execPath, [BIN, 'tenant', 'migrate', '--all', '--concurrency', '2'], {
      cwd: sandbox.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    // Killed once one of the chained tenants is part-way through the migration (past a default, so a replay from the start would show).
    const partWay = (least: number) => ({ _id: { $in: more }, 'progress.migration': '0004_chain', 'progress.steps': { $gte: least, $lt: 2 * CHAIN } });
    const deadline = Date.now() + 30_000;
    while (!(await catalog().findOne(partWay(3)))) {
      if (Date.now() > deadline || (run.exitCode !== undefined && run.exitCode !== null)) throw new Error('the run ended before it could be killed mid-way');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    run.kill('SIGKILL');
    expect((await run).signal).toBe('SIGKILL');
    expect(await catalog().findOne(partWay(2))).not.toBeNull();
    const applied = await ledger().countDocuments({ name: '0004_chain' });
    expect(applied).toBeLessThan(TENANTS.length + more.length);

    const rerun = await sandbox.run(['tenant', 'migrate', '--all', '--json']);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.json()).toMatchObject({ migrated: TENANTS.length + more.length - applied, current: applied, failed: 0 });
    expect(await catalog().countDocuments({ version: '0004_chain' })).toBe(TENANTS.length + more.length);
    expect(await ledger().countDocuments({ name: '0004_chain' })).toBe(TENANTS.length + more.length);
    expect(await catalog().countDocuments({ 'progress.migration': '0004_chain', 'progress.steps': 2 * CHAIN })).toBe(TENANTS.length + more.length);
    const expected = (id: number) => ({
      _id: id,
      name: `n${id}`,
      ...Object.fromEntries(Array.from({ length: CHAIN }, (_, i) => [`f${i}`, `d${i}`])),
      [`f${CHAIN}`]: `v${id}`,
    });
    for (const name of more) expect(await items(name), name).toEqual([expected(1), expected(2)]);
  });

  it('tenant drop backs the tenant database up first; backup restore --tenant brings its documents and catalog entry back; a restore over a live tenant is refused', async () => {
    const before = await items('acme');
    expect(before.length).toBeGreaterThan(0);
    const dropped = await sandbox.run(['tenant', 'drop', 'acme', '--confirm', 'acme', '--json']);
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    const { backup } = dropped.json();
    expect(backup).toBeTruthy();
    expect(await databases()).not.toContain(`${prefix}acme`);
    expect(await catalog().findOne({ _id: 'acme' })).toBeNull();
    const restored = await sandbox.run(['backup', 'restore', backup, '--tenant', 'acme']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await items('acme')).toEqual(before);
    expect(await catalog().findOne({ _id: 'acme' })).toMatchObject({ container: `${prefix}acme`, status: 'active' });
    expect((await sandbox.run(['tenant', 'migrate', 'acme', '--json'])).json()).toMatchObject({ current: 1, failed: 0 });
    const over = await sandbox.run(['backup', 'restore', backup, '--tenant', 'acme', '--confirm', 'acme']);
    expect(over.exitCode).toBe(64);
    expect(over.stderr).toMatch(/cannot be set aside and replaced safely/);
    expect(await items('acme')).toEqual(before);
  });
});
