// Snapshots that must not surprise an operator (issue 10 items 5-7, issue 11 items 4-6 and 20):
// a snapshot of nothing is an error, sessions are never terminated without --force, staging
// copies are recorded and settled, names fit the engine, a SQLite store's file is its file
// whatever its name, files in use are not swapped away, and copies keep their modes.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import { MongoClient } from 'mongodb';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/backups.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BIN } from '../support/paths.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

/** A process that keeps a SQLite file open (as an application does) until killed (wrapped: awaiting the subprocess itself waits for its end). */
async function holdOpen(file: string): Promise<{ holder: ReturnType<typeof execa> }> {
  const holder = execa(
    process.execPath,
    [
      '-e',
      `const D=require('better-sqlite3'); const db=new D(${JSON.stringify(file)}); db.prepare('select count(*) from sqlite_master').get(); console.log('open'); setInterval(()=>{}, 1000);`,
    ],
    { cwd: process.cwd(), reject: false },
  );
  await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
  return { holder };
}

function liteRows(file: string): string {
  const db = new Sqlite(file, { readonly: true });
  try {
    return (db.prepare("select group_concat(v, ',') as v from (select v from items order by id)").get() as { v: string }).v;
  } finally {
    db.close();
  }
}

describe('snapshot safety', () => {
  const pgDb = uniqueName('snapsafe');
  // 50 characters: `__snap_<name>` does not fit PostgreSQL's 63 bytes whole.
  const longDb = `${uniqueName('snaplong')}_`.padEnd(50, 'x');
  const mongoDb = uniqueName('snapsafe_m');
  let sandbox: Sandbox;
  let mongo: MongoClient;
  let env: Record<string, string>;
  const dataDir = () => path.join(sandbox.dir, 'data');
  const pgDatabases = async (prefix: string) =>
    (await pgAdmin((client) => client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${prefix}%`]))).rows.map(
      (row) => row.datname,
    );
  const itemsOf = (database: string) =>
    pgAdmin(async (client) => (await client.query<{ v: string }>("select string_agg(v, ',' order by id) as v from items")).rows[0].v, pgUrlFor(database));

  beforeAll(async () => {
    for (const db of [pgDb, longDb]) {
      await pgAdmin((client) => client.query(`create database "${db}"`));
      await pgAdmin(
        (client) => client.query("create table items (id int primary key, v text); insert into items select g, 'v' || g from generate_series(1, 50) g"),
        pgUrlFor(db),
      );
    }
    mongo = new MongoClient(servers().mongoUrl);
    await mongo.connect();
    await mongo
      .db(mongoDb)
      .collection('items')
      .insertMany([{ v: 1 }, { v: 2 }]);
    sandbox = makeSandbox();
    env = { STORAGE_AUDIT_DIR: path.join(sandbox.dir, 'audit') };
    fs.mkdirSync(dataDir());
    for (const [file, rows] of [
      ['app.db', 'a1,a2'],
      ['shop.sqlite', 's1,s2,s3'],
      // A decoy `shop.db` beside `shop.sqlite`: the store's file is shop.sqlite, never this one.
      ['shop.db', 'decoy'],
    ] as const) {
      const db = new Sqlite(path.join(dataDir(), file));
      db.pragma('journal_mode = WAL');
      db.exec('create table items (id integer primary key, v text)');
      for (const v of rows.split(',')) db.prepare('insert into items (v) values (?)').run(v);
      db.close();
    }
    fs.chmodSync(path.join(dataDir(), 'app.db'), 0o600);
    sandbox.writeConfig({
      stores: {
        main: { engine: 'postgres', url: pgUrlFor(pgDb) },
        long: { engine: 'postgres', url: pgUrlFor(longDb) },
        events: { engine: 'mongodb', url: `${servers().mongoUrl}/${mongoDb}` },
        lite: { engine: 'sqlite', path: 'data/app.db' },
        shop: { engine: 'sqlite', path: 'data/shop.sqlite' },
      },
      backup: { repository: './repo' },
    });
  });

  afterAll(async () => {
    await pgAdmin(async (client) => {
      for (const prefix of [pgDb, longDb.slice(0, 20)]) {
        const dbs = (await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${prefix}%`])).rows;
        for (const { datname } of dbs) await client.query(`drop database if exists "${datname}" with (force)`);
      }
    });
    for (const { name } of (await mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases.filter((db) => db.name.startsWith(mongoDb)))
      await mongo.db(name).dropDatabase();
    await mongo.close();
  });

  it('a snapshot of a database that does not exist is a clear error on every engine, and creates nothing', async () => {
    const missing = uniqueName('nosuch');
    for (const store of ['events', 'lite', 'main']) {
      const result = await sandbox.run(['snapshot', 'create', store, '--database', missing, '--name', 'ghost', '--json'], { env });
      expect(result.exitCode, `${store}: ${result.stdout}`).toBe(1);
      expect(result.json().error).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(missing), hint: expect.stringContaining('db info') });
    }
    const mongoNames = (await mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((db) => db.name);
    expect(mongoNames.filter((name) => name.startsWith(missing))).toEqual([]);
    expect(fs.readdirSync(dataDir()).filter((name) => name.startsWith(missing))).toEqual([]);
    expect(await pgDatabases(missing)).toEqual([]);
    expect((await sandbox.run(['snapshot', 'list', '--json'], { env })).json().snapshots.filter((s: { name: string }) => s.name === 'ghost')).toEqual([]);
  });

  it('snapshot restore refuses while other sessions are on the database, naming them, and terminates them only with --force', async () => {
    expect((await sandbox.run(['snapshot', 'create', 'main', '--name', 'sess'], { env })).exitCode).toBe(0);
    await pgAdmin((client) => client.query("update items set v = 'changed' where id = 1"), pgUrlFor(pgDb));
    const app = new pg.Client({ connectionString: pgUrlFor(pgDb), application_name: 'billing-worker' });
    app.on('error', () => undefined);
    await app.connect();
    try {
      const refused = await sandbox.run(['snapshot', 'restore', 'sess', '--store', 'main', '--confirm', pgDb, '--json'], { env });
      expect(refused.exitCode).toBe(1);
      expect(refused.json().error).toMatchObject({
        code: 'IN_USE',
        message: expect.stringContaining('billing-worker'),
        hint: expect.stringContaining('--force'),
      });
      // The application's session is still there, and the data was not rolled back.
      expect((await app.query('select 1 as ok')).rows[0].ok).toBe(1);
      expect((await itemsOf(pgDb)).startsWith('changed,')).toBe(true);
      expect((await pgDatabases(`${pgDb}__restoring_`)).length).toBe(0);
      const forced = await sandbox.run(['snapshot', 'restore', 'sess', '--store', 'main', '--confirm', pgDb, '--force'], { env });
      expect(forced.exitCode, forced.stderr).toBe(0);
      expect((await itemsOf(pgDb)).startsWith('v1,')).toBe(true);
      await expect(app.query('select 1')).rejects.toThrow();
    } finally {
      await app.end().catch(() => undefined);
    }
  });

  it('a killed snapshot restore: its staging copy is reported by list, show and validate, and removed by snapshot cleanup or the next restore', async () => {
    expect((await sandbox.run(['snapshot', 'create', 'main', '--name', 'orphan'], { env })).exitCode).toBe(0);
    const killRestore = async () => {
      const victim = startCli(sandbox, ['snapshot', 'restore', 'orphan', '--store', 'main', '--confirm', pgDb], {
        ...env,
        STORAGE_SNAPSHOT_RESTORE_PAUSE_MS: '30000',
      });
      // The staging copy is complete and the database not yet touched: the restore is paused before its swap.
      const deadline = Date.now() + 30_000;
      while ((await pgDatabases(`${pgDb}__restoring_`)).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      victim.kill('SIGKILL');
      await victim;
      expect((await pgDatabases(`${pgDb}__restoring_`)).length).toBe(1);
    };
    await killRestore();
    const listed = await sandbox.run(['snapshot', 'list', 'main', '--json'], { env });
    expect(listed.json().snapshots.find((s: { name: string }) => s.name === 'orphan')).toMatchObject({
      state: 'restore-interrupted',
      explanation: expect.stringContaining('snapshot cleanup main'),
    });
    const shown = await sandbox.run(['snapshot', 'show', 'orphan', '--store', 'main', '--json'], { env });
    expect(shown.json().explanation).toMatch(/__restoring_\d{17} \(the staging copy of the snapshot\): present/);
    const validated = await sandbox.run(['validate', '--suite', 'snapshots', '--store', 'main', '--json'], { env });
    expect(validated.exitCode).toBe(3);
    expect(validated.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'snapshots.state[main/orphan]', status: 'fail' })]));

    const cleaned = await sandbox.run(['snapshot', 'cleanup', 'main', '--json'], { env });
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    expect(cleaned.json().settled).toEqual([expect.objectContaining({ store: 'main', snapshot: 'orphan', what: expect.stringContaining('dropped') })]);
    expect(await pgDatabases(`${pgDb}__restoring_`)).toEqual([]);
    expect((await sandbox.run(['snapshot', 'show', 'orphan', '--store', 'main', '--json'], { env })).json().state).toBe('ok');

    // Killed again: this time the next restore settles it before doing its own work.
    await killRestore();
    const next = await sandbox.run(['snapshot', 'restore', 'orphan', '--store', 'main', '--confirm', pgDb, '--force'], { env });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/interrupted restore was settled: dropped \S+__restoring_/);
    expect(await pgDatabases(`${pgDb}__restoring_`)).toEqual([]);
  });

  it('a PostgreSQL database whose snapshot name would pass 63 bytes: the copy gets a shortened, hashed name that really exists, restores and deletes', async () => {
    const created = await sandbox.run(['snapshot', 'create', 'long', '--name', 'before_the_long_migration', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const copy: string = created.json().copy;
    expect(Buffer.byteLength(copy)).toBeLessThanOrEqual(63);
    expect(copy).toMatch(/_[0-9a-f]{8}__snap_before_the_long_migration$/);
    expect(await pgDatabases(copy)).toEqual([copy]);
    expect((await sandbox.run(['snapshot', 'list', 'long', '--json'], { env })).json().snapshots[0]).toMatchObject({ copy, state: 'ok' });
    await pgAdmin((client) => client.query('delete from items where id > 10'), pgUrlFor(longDb));
    const restored = await sandbox.run(['snapshot', 'restore', 'before_the_long_migration', '--store', 'long', '--confirm', longDb, '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(Buffer.byteLength(restored.json().previous)).toBeLessThanOrEqual(63);
    expect((await itemsOf(longDb)).split(',')).toHaveLength(50);
    const deleted = await sandbox.run(['snapshot', 'delete', 'before_the_long_migration', '--store', 'long', '--confirm', 'before_the_long_migration'], {
      env,
    });
    expect(deleted.exitCode).toBe(0);
    expect(await pgDatabases(copy)).toEqual([]);
  });

  it('SQLite: a store whose file is not *.db is snapshotted, restored and backed up as that file, never a NAME.db beside it', async () => {
    const file = path.join(dataDir(), 'shop.sqlite');
    const decoy = path.join(dataDir(), 'shop.db');
    const created = await sandbox.run(['snapshot', 'create', 'shop', '--name', 'one', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    expect(liteRows(path.join(dataDir(), `${created.json().copy}.db`))).toBe('s1,s2,s3');
    const db = new Sqlite(file);
    db.exec("delete from items; insert into items (v) values ('later')");
    db.close();
    const restored = await sandbox.run(['snapshot', 'restore', 'one', '--store', 'shop', '--confirm', 'shop'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(liteRows(file)).toBe('s1,s2,s3');

    const backup = await sandbox.run(['backup', 'create', 'shop', '--json'], { env: { ...env, STORAGE_BACKUP_PASSPHRASE: 'pass-for-repo' } });
    expect(backup.exitCode, backup.stderr).toBe(0);
    const id = backup.json().stores[0].backup.id;
    const again = new Sqlite(file);
    again.exec("delete from items; insert into items (v) values ('later')");
    again.close();
    const restore = await sandbox.run(['backup', 'restore', id, '--to', 'shop', '--database', 'shop', '--confirm', 'shop', '--json'], {
      env: { ...env, STORAGE_BACKUP_PASSPHRASE: 'pass-for-repo' },
    });
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(liteRows(file)).toBe('s1,s2,s3');
    expect(liteRows(decoy)).toBe('decoy');
  });

  it('SQLite: restores refuse to replace a file another process has open, naming it, unless --force', async () => {
    const file = path.join(dataDir(), 'app.db');
    expect((await sandbox.run(['snapshot', 'create', 'lite', '--name', 'busy'], { env })).exitCode).toBe(0);
    const backup = await sandbox.run(['backup', 'create', 'lite', '--json'], { env: { ...env, STORAGE_BACKUP_PASSPHRASE: 'pass-for-repo' } });
    const id = backup.json().stores[0].backup.id;
    const db = new Sqlite(file);
    db.exec("insert into items (v) values ('a3')");
    db.close();
    const { holder: app } = await holdOpen(file);
    try {
      const snap = await sandbox.run(['snapshot', 'restore', 'busy', '--store', 'lite', '--confirm', 'app', '--json'], { env });
      expect(snap.exitCode).toBe(1);
      expect(snap.json().error).toMatchObject({ code: 'IN_USE', message: expect.stringContaining(`pid ${app.pid}`), hint: expect.stringContaining('--force') });
      const restore = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'app', '--confirm', 'app', '--json'], {
        env: { ...env, STORAGE_BACKUP_PASSPHRASE: 'pass-for-repo' },
      });
      expect(restore.exitCode).toBe(1);
      expect(restore.json().error).toMatchObject({ code: 'IN_USE', message: expect.stringContaining(`pid ${app.pid}`) });
      // Nothing was swapped: the live file still has the application's latest row, no staging file is left.
      expect(liteRows(file)).toBe('a1,a2,a3');
      expect(fs.readdirSync(dataDir()).filter((name) => name.startsWith('app__restoring_'))).toEqual([]);
      const forced = await sandbox.run(['snapshot', 'restore', 'busy', '--store', 'lite', '--confirm', 'app', '--force'], { env });
      expect(forced.exitCode, forced.stderr).toBe(0);
      expect(liteRows(file)).toBe('a1,a2');
    } finally {
      app.kill('SIGKILL');
      await app;
    }
  });

  it('SQLite: a 0600 database yields 0600 snapshots and stays 0600 after a restore', async () => {
    const file = path.join(dataDir(), 'app.db');
    fs.chmodSync(file, 0o600);
    const created = await sandbox.run(['snapshot', 'create', 'lite', '--name', 'modes', '--json'], { env: { ...env } });
    expect(created.exitCode, created.stderr).toBe(0);
    expect(fs.statSync(path.join(dataDir(), `${created.json().copy}.db`)).mode & 0o777).toBe(0o600);
    const restored = await sandbox.run(['snapshot', 'restore', 'modes', '--store', 'lite', '--confirm', 'app'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it("under umask 000 the tool's own directories (config, data, repository, locks, catalog, audit) are created 0700", async () => {
    const fresh = makeSandbox();
    const run = (args: string[]) =>
      execa('sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, BIN, ...args], {
        cwd: fresh.dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: fresh.dir, ...fresh.env },
        extendEnv: false,
        reject: false,
      });
    expect((await run(['backup', 'create'])).exitCode).toBe(0);
    expect((await run(['snapshot', 'create', 'local', '--name', 'm'])).exitCode).toBe(0);
    const dirs: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true }))
        if (entry.isDirectory()) {
          dirs.push(path.join(dir, entry.name));
          walk(path.join(dir, entry.name));
        }
    };
    for (const root of [fresh.env.XDG_CONFIG_HOME, fresh.env.XDG_DATA_HOME]) {
      dirs.push(root);
      walk(root);
    }
    expect(dirs.some((dir) => dir.endsWith(path.join('storage', 'snapshots')))).toBe(true);
    expect(fs.existsSync(path.join(fresh.env.XDG_CONFIG_HOME, 'storage', 'backup.key'))).toBe(true);
    const wide = dirs.filter((dir) => (fs.statSync(dir).mode & 0o777) !== 0o700).map((dir) => `${dir} ${(fs.statSync(dir).mode & 0o777).toString(8)}`);
    expect(wide).toEqual([]);
  });
});
