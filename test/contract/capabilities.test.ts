// The contract every engine meets, run against every engine on its real server: health, create and
// drop, a backup round trip and a snapshot round trip that bring back exactly the data (by content
// hash), and a clear refusal (64) of a capability the engine lacks. A fourth engine, or a new
// capability, is tested by adding one entry below.
import Sqlite from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/engine/backup/create.js';
import { openRepository } from '../../src/engine/backup/open.js';
import { restoreBackup } from '../../src/engine/backup/restore.js';
import { createDatabase, dropDatabase } from '../../src/engine/db/admin.js';
import { checkHealth } from '../../src/engine/db/health.js';
import type { Engine } from '../../src/engine/config/schema.js';
import type { CapabilityName } from '../../src/engine/engines/spec.js';
import { StorageError } from '../../src/engine/errors.js';
import type { Fleet } from '../../src/engine/fleet.js';
import { createSnapshot, restoreSnapshot } from '../../src/engine/snapshot/service.js';
import { fleetFor } from '../support/fleet.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

const ROWS = 250;
const row = (i: number) => ({ id: i, name: `item ${i}`, price: i * 3 + 1 });

/** How the contract reaches each engine's data from outside the tool: seed rows, change them, hash what is there. */
interface EngineWorld {
  engine: Engine;
  /** The store's config, pointing at a new database `db`. */
  store(db: string): Record<string, unknown>;
  /** Creates `db` holding the ROWS items. */
  seed(db: string): Promise<void>;
  /** Deletes some items and changes others. */
  mutate(db: string): Promise<void>;
  /** The items in `db`, canonical and hashed. */
  fingerprint(db: string): Promise<string>;
  /** Whether `db` exists. */
  exists(db: string): Promise<boolean>;
  cleanup(prefix: string): Promise<void>;
  /** The optional capabilities this engine offers (the others must be refused). */
  offers: CapabilityName[];
}

const hash = (items: unknown[]) => createHash('sha256').update(JSON.stringify(items)).digest('hex');
const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-contract-'));
let mongo: MongoClient;

const worlds: EngineWorld[] = [
  {
    engine: 'postgres',
    store: (db) => ({ engine: 'postgres', url: pgUrlFor(db) }),
    seed: async (db) => {
      await pgAdmin((client) => client.query(`create database "${db}"`));
      await pgAdmin(async (client) => {
        await client.query('create table items (id int primary key, name text not null, price int)');
        await client.query('insert into items select g, $1 || g, g * 3 + 1 from generate_series(1, $2) g', ['item ', ROWS]);
      }, pgUrlFor(db));
    },
    mutate: async (db) => {
      await pgAdmin(
        (client) => client.query("delete from items where id % 7 = 0; update items set name = name || ' (changed)' where id % 5 = 0"),
        pgUrlFor(db),
      );
    },
    fingerprint: (db) => pgAdmin(async (client) => hash((await client.query('select id, name, price from items order by id')).rows), pgUrlFor(db)),
    exists: (db) => pgAdmin(async (client) => (await client.query('select 1 from pg_database where datname = $1', [db])).rows.length > 0),
    cleanup: (prefix) =>
      pgAdmin(async (client) => {
        for (const { datname } of (await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${prefix}%`])).rows)
          await client.query(`drop database "${datname}" with (force)`);
      }),
    offers: ['rotatePassword', 'clientTools', 'failover', 'sync', 'tenancy'],
  },
  {
    engine: 'mongodb',
    store: (db) => ({ engine: 'mongodb', url: `${servers().mongoUrl}/${db}` }),
    seed: async (db) => {
      await mongo
        .db(db)
        .collection('items')
        .insertMany(Array.from({ length: ROWS }, (_, i) => ({ _id: i + 1, ...row(i + 1) })) as never[]);
    },
    mutate: async (db) => {
      await mongo
        .db(db)
        .collection('items')
        .deleteMany({ id: { $in: Array.from({ length: ROWS }, (_, i) => i + 1).filter((i) => i % 7 === 0) } });
      for (let i = 5; i <= ROWS; i += 5)
        await mongo
          .db(db)
          .collection('items')
          .updateOne({ id: i }, { $set: { name: `item ${i} (changed)` } });
    },
    fingerprint: async (db) =>
      hash(
        await mongo
          .db(db)
          .collection('items')
          .find({}, { projection: { _id: 0, id: 1, name: 1, price: 1 }, sort: { id: 1 } })
          .toArray(),
      ),
    exists: async (db) => (await mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases.some((entry) => entry.name === db),
    cleanup: async (prefix) => {
      for (const { name } of (await mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases)
        if (name.startsWith(prefix)) await mongo.db(name).dropDatabase();
    },
    offers: ['rotatePassword', 'failover', 'sync', 'tenancy'],
  },
  {
    engine: 'sqlite',
    store: (db) => ({ engine: 'sqlite', path: path.join(sqliteDir, `${db}.db`) }),
    seed: async (db) => {
      const file = new Sqlite(path.join(sqliteDir, `${db}.db`));
      file.exec('create table items (id integer primary key, name text not null, price integer)');
      const insert = file.prepare('insert into items values (?, ?, ?)');
      file.transaction(() => {
        for (let i = 1; i <= ROWS; i++) insert.run(i, `item ${i}`, i * 3 + 1);
      })();
      file.close();
    },
    mutate: async (db) => {
      const file = new Sqlite(path.join(sqliteDir, `${db}.db`));
      file.exec("delete from items where id % 7 = 0; update items set name = name || ' (changed)' where id % 5 = 0");
      file.close();
    },
    fingerprint: async (db) => {
      const file = new Sqlite(path.join(sqliteDir, `${db}.db`), { readonly: true });
      try {
        return hash(file.prepare('select id, name, price from items order by id').all());
      } finally {
        file.close();
      }
    },
    exists: async (db) => fs.existsSync(path.join(sqliteDir, `${db}.db`)),
    cleanup: async () => undefined,
    offers: ['sync', 'tenancy'],
  },
];

const OPTIONAL: CapabilityName[] = ['rotatePassword', 'clientTools', 'failover', 'sync', 'tenancy'];

beforeAll(async () => {
  mongo = new MongoClient(servers().mongoUrl);
  await mongo.connect();
  // The snapshot catalog of this file's runs, apart from the user's.
  process.env.STORAGE_SNAPSHOT_CATALOG = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-contract-catalog-'));
});

afterAll(async () => {
  await mongo.close();
});

describe.each(worlds)('the $engine engine meets the contract', (world) => {
  const prefix = uniqueName(`ct_${world.engine.slice(0, 2)}`);
  const source = `${prefix}_src`;
  let fleet: Fleet;

  beforeAll(async () => {
    await world.seed(source);
    const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'storage-contract-key-')), 'backup.key');
    fs.writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    fleet = await fleetFor({
      stores: { main: world.store(source) },
      backup: { repository: fs.mkdtempSync(path.join(os.tmpdir(), 'storage-contract-repo-')), encryption: { keyFile } },
    });
  });

  afterAll(async () => {
    await fleet.close();
    await world.cleanup(prefix);
  });

  it('answers a health probe: up, with a version and a role', async () => {
    const [health] = await checkHealth(fleet, fleet.select(['main']));
    expect(health).toMatchObject({ status: 'up', error: null });
    expect(health.serverVersion).toEqual(expect.any(String));
    expect(['primary', 'standby', 'standalone']).toContain(health.role);
  });

  it('creates and drops a database', async () => {
    const name = `${prefix}_made`;
    await createDatabase(fleet, 'main', name);
    expect(await world.exists(name)).toBe(true);
    await dropDatabase(fleet, { store: 'main', database: name, confirm: name, force: true });
    expect(await world.exists(name)).toBe(false);
  });

  it('backs up and restores exactly the data (content hash), into a new database and over the changed one', async () => {
    const before = await world.fingerprint(source);
    const repo = await openRepository(fleet, undefined, { create: true });
    const backup = await createBackup(fleet, repo, 'main');
    expect(backup.counts).toEqual({ [world.engine === 'postgres' ? 'public.items' : 'items']: ROWS });
    const copy = `${prefix}_copy`;
    const restored = await restoreBackup(fleet, repo, { id: backup.id, to: 'main', database: copy });
    expect(restored.database).toBe(copy);
    expect(await world.fingerprint(copy)).toBe(before);
    await world.mutate(copy);
    expect(await world.fingerprint(copy)).not.toBe(before);
  });

  it('takes a snapshot and rolls the database back to it, keeping the replaced data', async () => {
    const before = await world.fingerprint(source);
    const snapshot = await createSnapshot(fleet, { store: 'main', name: `contract_${world.engine}`, force: true, command: 'contract test' });
    await world.mutate(source);
    const changed = await world.fingerprint(source);
    expect(changed).not.toBe(before);
    const rolled = await restoreSnapshot(fleet, { name: snapshot.name, store: 'main', confirm: snapshot.source, force: true, command: 'contract test' });
    expect(await world.fingerprint(source)).toBe(before);
    expect(await world.fingerprint(rolled.previous)).toBe(changed);
  });

  it('offers the optional capabilities it has, and refuses the others with 64 naming the engine', async () => {
    for (const name of OPTIONAL) {
      const asked = fleet.capability('main', name);
      if (world.offers.includes(name)) {
        await expect(asked).resolves.toMatchObject({ impl: expect.any(Object) });
      } else {
        const error = await asked.catch((failure: unknown) => failure);
        expect(error).toBeInstanceOf(StorageError);
        expect(error).toMatchObject({ code: 'UNSUPPORTED', exitCode: 64, details: { engine: world.engine, capability: name } });
      }
    }
  });
});
