// Snapshots through the binary against real PostgreSQL, FerretDB and SQLite.
import Sqlite from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, waitFor } from '../support/backups.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

describe('snapshots', () => {
  const pgDb = uniqueName('snap_pg');
  const mongoDb = uniqueName('snap_m');
  let sandbox: Sandbox;
  let mongo: MongoClient;
  let env: Record<string, string>;

  const pgHash = () =>
    pgAdmin(async (client) => {
      const tables = (await client.query<{ t: string }>("select string_agg(tablename, ',' order by tablename) as t from pg_tables where schemaname = 'public'"))
        .rows[0].t;
      const rows = (await client.query<{ h: string }>("select md5(string_agg(id || ':' || v, ',' order by id)) as h from items")).rows[0].h;
      return `${tables}|${rows}`;
    }, pgUrlFor(pgDb));
  const mongoHash = async () => {
    const names = (await mongo.db(mongoDb).listCollections().toArray()).map((c) => c.name).sort();
    const docs = await mongo
      .db(mongoDb)
      .collection('items')
      .find({}, { sort: { _id: 1 }, projection: { _id: 0 } })
      .toArray();
    return JSON.stringify([names, docs]);
  };

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${pgDb}`));
    await pgAdmin(
      (client) => client.query("create table items (id int primary key, v text); insert into items select g, 'v' || g from generate_series(1, 500) g"),
      pgUrlFor(pgDb),
    );
    mongo = new MongoClient(servers().mongoUrl);
    await mongo.connect();
    await mongo
      .db(mongoDb)
      .collection<{ _id: number; v?: string }>('items')
      .insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: i, v: `v${i}`, nested: { n: i } })));
    await mongo.db(mongoDb).collection('items').createIndex({ v: 1 }, { unique: true });
    sandbox = makeSandbox();
    env = { STORAGE_AUDIT_DIR: path.join(sandbox.dir, 'audit') };
    fs.mkdirSync(path.join(sandbox.dir, 'data'));
    const lite = new Sqlite(path.join(sandbox.dir, 'data', 'app.db'));
    lite.pragma('journal_mode = WAL');
    lite.exec(
      "create table items (id integer primary key, v text); with recursive n(i) as (select 1 union all select i + 1 from n where i < 400) insert into items (v) select 'v' || i from n",
    );
    lite.close();
    sandbox.writeConfig({
      stores: {
        main: { engine: 'postgres', url: pgUrlFor(pgDb) },
        events: { engine: 'mongodb', url: `${servers().mongoUrl}/${mongoDb}` },
        lite: { engine: 'sqlite', path: 'data/app.db' },
      },
      backup: { repository: './repo' },
    });
  });

  afterAll(async () => {
    await pgAdmin(async (client) => {
      const dbs = (await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${pgDb}%`])).rows;
      for (const { datname } of dbs) await client.query(`drop database if exists "${datname}" with (force)`);
    });
    for (const { name } of (await mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases.filter((db) => db.name.startsWith(mongoDb)))
      await mongo.db(name).dropDatabase();
    await mongo.close();
  });

  it('PostgreSQL: create, change, diff, restore: the data equals the snapshot; the old data is kept aside', async () => {
    const before = await pgHash();
    const created = await sandbox.run(['snapshot', 'create', 'main', '--name', 'before_change', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.json()).toMatchObject({ method: 'template', copy: `${pgDb}__snap_before_change` });
    await pgAdmin(
      (client) =>
        client.query(
          "delete from items where id <= 10; update items set v = 'changed' where id = 20; insert into items values (1000, 'new'); create table extra (x int)",
        ),
      pgUrlFor(pgDb),
    );
    const diff = await sandbox.run(['snapshot', 'diff', 'before_change', '--store', 'main', '--json'], { env });
    expect(diff.json().tables).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ table: 'public.items', snapshotRows: 500, liveRows: 491 }),
        expect.objectContaining({ table: 'public.extra', snapshotRows: null }),
      ]),
    );
    expect((await sandbox.run(['snapshot', 'restore', 'before_change', '--store', 'main'], { env })).exitCode).toBe(77);
    const restored = await sandbox.run(['snapshot', 'restore', 'before_change', '--store', 'main', '--confirm', pgDb, '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await pgHash()).toBe(before);
    const kept = await pgAdmin((client) => client.query('select 1 from pg_database where datname = $1', [restored.json().previous]));
    expect(kept.rowCount).toBe(1);
    // The snapshot itself survives a restore and can be used again.
    expect((await sandbox.run(['snapshot', 'list', 'main', '--json'], { env })).json().snapshots[0]).toMatchObject({ name: 'before_change', state: 'ok' });
  });

  it('PostgreSQL: refuses while another session is on the source, naming it; --force terminates it', async () => {
    const other = new pg.Client({ connectionString: pgUrlFor(pgDb), application_name: 'busy-worker' });
    other.on('error', () => undefined);
    await other.connect();
    try {
      const refused = await sandbox.run(['snapshot', 'create', 'main', '--name', 'busy'], { env });
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain('busy-worker');
      expect(refused.stderr).toContain('--force');
      const forced = await sandbox.run(['snapshot', 'create', 'main', '--name', 'busy', '--force'], { env });
      expect(forced.exitCode, forced.stderr).toBe(0);
    } finally {
      await other.end().catch(() => undefined);
    }
  });

  it('MongoDB: round trip with a new collection and changed documents, indexes included', async () => {
    const before = await mongoHash();
    expect((await sandbox.run(['snapshot', 'create', 'events', '--name', 'm1'], { env })).exitCode).toBe(0);
    await mongo
      .db(mongoDb)
      .collection<{ _id: number; v?: string }>('items')
      .deleteMany({ _id: { $lt: 5 } });
    await mongo
      .db(mongoDb)
      .collection<{ _id: number; v?: string }>('items')
      .updateOne({ _id: 9 }, { $set: { v: 'changed' } });
    await mongo.db(mongoDb).collection('added').insertOne({ a: 1 });
    const restored = await sandbox.run(['snapshot', 'restore', 'm1', '--store', 'events', '--confirm', mongoDb], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await mongoHash()).toBe(before);
    const indexes = await mongo.db(mongoDb).collection('items').listIndexes().toArray();
    expect(indexes.some((index) => index.unique && index.key.v === 1)).toBe(true);
  });

  it('SQLite: round trip, the replaced file kept beside it', async () => {
    const file = path.join(sandbox.dir, 'data', 'app.db');
    const read = () => {
      const db = new Sqlite(file, { readonly: true });
      const result = db.prepare("select count(*) || ':' || group_concat(v, ',') as h from (select v from items order by id)").get() as { h: string };
      db.close();
      return result.h;
    };
    const before = read();
    expect((await sandbox.run(['snapshot', 'create', 'lite', '--name', 'l1'], { env })).exitCode).toBe(0);
    const db = new Sqlite(file);
    db.exec("delete from items where id < 50; insert into items (v) values ('late'); create table extra (x)");
    db.close();
    const restored = await sandbox.run(['snapshot', 'restore', 'l1', '--store', 'lite', '--confirm', 'app'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(read()).toBe(before);
    expect(fs.readdirSync(path.join(sandbox.dir, 'data')).some((name) => name.startsWith('app__pre_restore_'))).toBe(true);
  });

  it('a restore killed between its steps loses nothing, and list/show explain how to finish', async () => {
    expect((await sandbox.run(['snapshot', 'create', 'main', '--name', 'k1'], { env })).exitCode).toBe(0);
    const victim = startCli(sandbox, ['snapshot', 'restore', 'k1', '--store', 'main', '--confirm', pgDb], {
      ...env,
      STORAGE_SNAPSHOT_RESTORE_PAUSE_MS: '20000',
    });
    const record = path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'snapshots', 'main', 'k1.json');
    // The record is written before the staging copy is made; the pause comes once the copy is complete.
    let staged = false;
    const probe = setInterval(() => {
      pgAdmin((client) => client.query('select 1 from pg_database where datname like $1', [`${pgDb}__restoring_%`]))
        .then((result) => (staged = (result.rowCount ?? 0) > 0))
        .catch(() => undefined);
    }, 100);
    await waitFor(() => staged && fs.existsSync(record) && fs.readFileSync(record, 'utf8').includes('restoring'), 30_000, 50)
      .finally(() => clearInterval(probe))
      .catch(async (error) => {
        victim.kill('SIGKILL');
        const result = await victim;
        throw new Error(`${(error as Error).message}; the restore said: ${result.stderr}`);
      });
    const during = await sandbox.run(['snapshot', 'show', 'k1', '--store', 'main', '--json'], { env });
    expect(during.json()).toMatchObject({ state: 'restoring', explanation: expect.stringContaining('under way') });
    victim.kill('SIGKILL');
    await victim;
    const dbs = (await pgAdmin((client) => client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${pgDb}%`]))).rows.map(
      (r) => r.datname,
    );
    expect(dbs).toContain(pgDb);
    expect(dbs).toContain(`${pgDb}__snap_k1`);
    expect(
      dbs.some((name) => name.startsWith(`${pgDb}__restoring_`)),
      dbs.join(' '),
    ).toBe(true);
    const shown = await sandbox.run(['snapshot', 'show', 'k1', '--store', 'main', '--json'], { env });
    expect(shown.json()).toMatchObject({ state: 'restore-interrupted', explanation: expect.stringContaining('drop') });
    const listed = await sandbox.run(['snapshot', 'list', 'main'], { env });
    expect(listed.stderr).toContain('did not finish');
    const validated = await sandbox.run(['validate', '--suite', 'snapshots', '--store', 'main', '--json'], { env });
    expect(validated.exitCode).toBe(3);
    expect(validated.json().checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'snapshots.state[main/k1]', status: 'fail', reason: expect.stringContaining('did not finish') })]),
    );
  });

  it('shares locks with backups (75), records create/restore/delete in the audit log, and prunes', async () => {
    fs.mkdirSync(path.join(sandbox.dir, 'repo', 'locks'), { recursive: true });
    const now = new Date().toISOString();
    fs.writeFileSync(
      path.join(sandbox.dir, 'repo', 'locks', 'lite.lock'),
      JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'storage backup create lite', startedAt: now, heartbeatAt: now }),
    );
    const locked = await sandbox.run(['snapshot', 'create', 'lite', '--name', 'l2'], { env });
    expect(locked.exitCode).toBe(75);
    fs.rmSync(path.join(sandbox.dir, 'repo', 'locks', 'lite.lock'));
    expect((await sandbox.run(['snapshot', 'create', 'lite', '--name', 'l2'], { env })).exitCode).toBe(0);
    expect((await sandbox.run(['snapshot', 'delete', 'l2', '--store', 'lite'], { env })).exitCode).toBe(77);
    expect((await sandbox.run(['snapshot', 'delete', 'l2', '--store', 'lite', '--confirm', 'l2'], { env })).exitCode).toBe(0);
    expect(fs.existsSync(path.join(sandbox.dir, 'data', 'app__snap_l2.db'))).toBe(false);
    const commands = (await sandbox.run(['audit', 'list', '--json'], { env })).json().entries.map((e: { command: string }) => e.command);
    expect(commands, JSON.stringify(commands)).toEqual(
      expect.arrayContaining([
        'storage snapshot create main --name before_change --json',
        `storage snapshot restore before_change --store main --confirm ${pgDb} --json`,
        'storage snapshot delete l2 --store lite --confirm l2',
      ]),
    );
    const dry = (await sandbox.run(['snapshot', 'prune', '--keep-last', '1', '--store', 'main', '--dry-run', '--json'], { env })).json();
    expect(dry.kept).toHaveLength(1);
    expect(dry.deleted.length).toBeGreaterThanOrEqual(2);
  });
});
