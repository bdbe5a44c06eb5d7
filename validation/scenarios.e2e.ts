// End-to-end scenarios: the built `storage` binary run as cron and CI run it (subprocesses, no
// TTY, no stdin), against real PostgreSQL, FerretDB and SQLite, asserting exit codes, stdout
// JSON and files.
import fs from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipByte, payloadFile } from '../test/support/backups.js';
import { makeSandbox } from '../test/support/cli.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../test/support/servers.js';

describe('end-to-end: what operators, cron and CI do', () => {
  const database = uniqueName('e2e');

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${database}`));
    await pgAdmin(
      (client) => client.query('create table orders (id int primary key, total int); insert into orders select g, g * 10 from generate_series(1, 1000) g'),
      pgUrlFor(database),
    );
    const mongo = new MongoClient(servers().mongoUrl);
    await mongo.connect();
    await mongo
      .db(database)
      .collection('events')
      .insertMany(Array.from({ length: 50 }, (_, i) => ({ i, kind: 'click' })));
    await mongo.close();
  });

  afterAll(async () => {
    const mongo = new MongoClient(servers().mongoUrl);
    await mongo.connect();
    await mongo.db(database).dropDatabase();
    await mongo.close();
    await pgAdmin(async (client) => {
      for (const { datname } of (await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${database}%`])).rows) {
        await client.query(`drop database "${datname}" with (force)`);
      }
    });
  });

  it('fresh machine, no config: backup → list → verify → restore', async () => {
    const sandbox = makeSandbox();
    expect((await sandbox.run(['db', 'health'])).exitCode).toBe(0);
    const created = await sandbox.run(['backup', 'create', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = created.json().stores[0].backup.id;
    expect((await sandbox.run(['backup', 'list', '--json'])).json().backups.map((b: { id: string; status: string }) => [b.id, b.status])).toEqual([
      [id, 'complete'],
    ]);
    expect((await sandbox.run(['backup', 'verify', id, '--read-data'])).exitCode).toBe(0);
    const restored = await sandbox.run(['backup', 'restore', id, '--to', 'local', '--json']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(fs.existsSync(path.join(sandbox.env.XDG_DATA_HOME, 'storage', `${restored.json().database}.db`))).toBe(true);
  });

  it('multi-store backup --all with one store down: exit 2, the others complete', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({
      stores: {
        main: { engine: 'postgres', url: pgUrlFor(database) },
        events: { engine: 'mongodb', url: `${servers().mongoUrl}/${database}` },
        down: { engine: 'postgres', url: 'postgres://app@127.0.0.1:1/app', connectTimeout: '1s' },
      },
      backup: { repository: './repo', encryption: { keyFile: 'backup.key' } },
    });
    fs.writeFileSync(path.join(sandbox.dir, 'backup.key'), Buffer.alloc(32, 9).toString('base64'), { mode: 0o600 });
    const result = await sandbox.run(['backup', 'create', '--all', '--json']);
    expect(result.exitCode).toBe(2);
    expect(result.json().stores.map((s: { store: string; ok: boolean }) => [s.store, s.ok])).toEqual([
      ['main', true],
      ['events', true],
      ['down', false],
    ]);
  });

  it('a tampered backup makes validate fail (3) with the backup check, and --junit names it', async () => {
    const sandbox = makeSandbox();
    expect((await sandbox.run(['backup', 'create', '--verify', '-q'])).exitCode).toBe(0);
    const id = (await sandbox.run(['backup', 'list', '--json'])).json().backups[0].id;
    flipByte(payloadFile(path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'backups', 'backups', id)));
    expect((await sandbox.run(['backup', 'verify', '--latest', '--read-data'])).exitCode).toBe(65);
    const junit = path.join(sandbox.dir, 'junit.xml');
    const validate = await sandbox.run(['validate', '--junit', junit]);
    expect(validate.exitCode).toBe(3);
    expect(validate.stderr).toContain('backups.verified[local]');
    expect(fs.readFileSync(junit, 'utf8')).toMatch(/name="backups\.verified\[local\][^"]*"[^>]*>\s*<failure/);
  });

  it('an expired RPO fails validate', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'a.db' } }, backup: { repository: './repo', rpo: '2s' } });
    fs.writeFileSync(path.join(sandbox.dir, 'a.db'), '');
    expect((await sandbox.run(['backup', 'create', '-q'])).exitCode).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const result = await sandbox.run(['validate', '--suite', 'backups', '--json']);
    expect(result.exitCode).toBe(3);
    expect(result.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'backups.rpo[lite]', status: 'fail' })]));
  });

  it('a config with a bad field exits 78 naming the field path', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor(database), poolSize: 'many' } } });
    for (const args of [['validate'], ['backup', 'create'], ['db', 'health']]) {
      const result = await sandbox.run(args);
      expect(result.exitCode, args.join(' ')).toBe(78);
      expect(result.stderr).toContain('stores.main.poolSize');
    }
  });

  it('destructive commands without a TTY and without --confirm refuse (77) and change nothing', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor(database) } }, backup: { repository: './repo' } });
    const env = { STORAGE_BACKUP_PASSPHRASE: 'e2e passphrase' };
    expect((await sandbox.run(['db', 'drop', 'main', database], { env })).exitCode).toBe(77);
    expect((await sandbox.run(['snapshot', 'create', 'main', '--name', 'e2e'], { env })).exitCode).toBe(0);
    expect((await sandbox.run(['snapshot', 'restore', 'e2e', '--store', 'main'], { env })).exitCode).toBe(77);
    expect((await sandbox.run(['snapshot', 'delete', 'e2e', '--store', 'main'], { env })).exitCode).toBe(77);
    const id = (await sandbox.run(['backup', 'create', 'main', '--json'], { env })).json().stores[0].backup.id;
    expect((await sandbox.run(['backup', 'restore', id, '--to', 'main', '--database', database], { env })).exitCode).toBe(77);
    const rows = await pgAdmin((client) => client.query('select count(*)::int as n from orders'), pgUrlFor(database));
    expect(rows.rows[0].n).toBe(1000);
  });
});
