// Backup restores that cannot leave half a database looking finished (issue 11 item 3), cannot
// replace a database without confirmation or touch a system database (issue 11 item 17), and say
// what they did in the operator's words (issue 10 item 14).
import { execa } from 'execa';
import { MongoClient } from 'mongodb';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/backups.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Command lines of client processes (not server backends) that mention `marker` (zombies have none). */
function processesWith(marker: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(marker) && !cmdline.startsWith('postgres: ')) found.push(`${entry}: ${cmdline.replace(/\0/g, ' ')}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

describe('PostgreSQL restores', () => {
  const big = uniqueName('rs_big');
  const small = uniqueName('rs_small');
  let sandbox: Sandbox;
  let bigId: string;
  let smallId: string;
  const databases = async (prefix: string) =>
    (await pgAdmin((client) => client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${prefix}%`]))).rows.map(
      (row) => row.datname,
    );
  const restoreSessions = (prefix: string) =>
    pgAdmin(
      async (client) =>
        (await client.query("select 1 from pg_stat_activity where application_name = 'pg_restore' and datname like $1", [`${prefix}%`])).rowCount ?? 0,
    );

  beforeAll(async () => {
    // Big enough (about 120 MB) that pg_restore is still running when a test kills the restore.
    await pgAdmin((client) => client.query(`create database ${big}`));
    await execa('pgbench', ['-i', '-s', '8', '-q', pgUrlFor(big)]);
    await pgAdmin((client) => client.query(`create database ${small}`));
    await pgAdmin((client) => client.query('create table t (id int primary key); insert into t select generate_series(1, 10)'), pgUrlFor(small));
    sandbox = makeSandbox();
    sandbox.writeConfig({
      stores: { big: { engine: 'postgres', url: pgUrlFor(big) }, small: { engine: 'postgres', url: pgUrlFor(small) } },
      backup: { repository: './repo' },
    });
    const created = await sandbox.run(['backup', 'create', '--all', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    bigId = created.json().stores.find((s: { store: string }) => s.store === 'big').backup.id;
    smallId = created.json().stores.find((s: { store: string }) => s.store === 'small').backup.id;
  });

  afterAll(async () => {
    await pgAdmin(async (client) => {
      for (const prefix of [big, small, 'postgres__restoring_']) {
        const dbs = (await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${prefix}%`])).rows;
        for (const { datname } of dbs) await client.query(`drop database if exists "${datname}" with (force)`);
      }
    });
  });

  it('kill -9 mid-restore: nothing under the requested name, no pg_restore left running, no plaintext on disk; reported, and settled by the next restore', async () => {
    const target = `${big}_r1`;
    const victim = startCli(sandbox, ['backup', 'restore', bigId, '--to', 'big', '--database', target], env);
    await until(async () => (await restoreSessions(target)) > 0, 60_000, 'pg_restore to start');
    victim.kill('SIGKILL');
    await victim;
    // The child processes (pg_restore and the workers it forked) die with the tool.
    await until(async () => (await restoreSessions(target)) === 0 && processesWith(target).length === 0, 20_000, 'pg_restore to go').catch(() => undefined);
    expect(processesWith(target)).toEqual([]);
    expect(await restoreSessions(target)).toBe(0);
    // No half-restored database under the requested name; only the recorded staging copy.
    const left = await databases(target);
    expect(left).not.toContain(target);
    expect(left.every((name) => name.startsWith(`${target}__restoring_`))).toBe(true);
    expect(filesUnder(path.join(sandbox.dir, 'repo', 'tmp')).filter((file) => !file.endsWith('.lock'))).toEqual([]);

    const validated = await sandbox.run(['validate', '--suite', 'snapshots', '--json'], { env });
    expect(validated.exitCode).toBe(3);
    expect(validated.json().checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: expect.stringMatching(/^snapshots\.state\[big\/restore /), status: 'fail' })]),
    );
    const next = await sandbox.run(['backup', 'restore', bigId, '--to', 'big', '--database', target, '--json'], { env });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/dropped \S+__restoring_\d{17}, the staging copy of an interrupted restore/);
    expect(await databases(target)).toEqual([target]);
    const rows = await pgAdmin(async (client) => Number((await client.query('select count(*) as n from pgbench_accounts')).rows[0].n), pgUrlFor(target));
    expect(rows).toBe(800_000);
  });

  it('kill -9 of backup create while pg_dump waits on a lock: pg_dump does not outlive the tool', async () => {
    // A pg_dump that is writing dies of a broken pipe anyway; one that waits (here on a table lock) would wait forever.
    const dumps = (waiting: boolean) =>
      pgAdmin(
        async (client) =>
          (
            await client.query(
              `select 1 from pg_stat_activity where application_name = 'pg_dump' and datname = $1 ${waiting ? "and wait_event_type = 'Lock'" : ''}`,
              [big],
            )
          ).rowCount ?? 0,
      );
    const holder = new pg.Client({ connectionString: pgUrlFor(big) });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('lock table pgbench_accounts in access exclusive mode');
      const victim = startCli(sandbox, ['backup', 'create', 'big'], env);
      await until(async () => (await dumps(true)) > 0, 60_000, 'pg_dump to wait on the lock');
      victim.kill('SIGKILL');
      await victim;
      await until(async () => (await dumps(false)) === 0 && processesWith(big).length === 0, 20_000, 'pg_dump to go').catch(() => undefined);
      expect(await dumps(false)).toBe(0);
      expect(processesWith(big)).toEqual([]);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await holder.end();
    }
  });

  it('with --parallel 2 the decrypted archive is a 0600 scratch file; after kill -9 the next command of any kind removes it', async () => {
    const target = `${big}_r2`;
    const victim = startCli(sandbox, ['backup', 'restore', bigId, '--to', 'big', '--database', target, '--parallel', '2'], env);
    await until(async () => (await restoreSessions(target)) > 0, 60_000, 'pg_restore to start');
    const plaintext = filesUnder(path.join(sandbox.dir, 'repo', 'tmp')).filter((file) => file.endsWith('.dump'));
    expect(plaintext).toHaveLength(1);
    expect(fs.statSync(plaintext[0]).mode & 0o777).toBe(0o600);
    victim.kill('SIGKILL');
    await victim;
    expect(fs.existsSync(plaintext[0])).toBe(true);
    expect((await sandbox.run(['db', 'list'], { env })).exitCode).toBe(0);
    expect(fs.existsSync(plaintext[0])).toBe(false);
    const cleaned = await sandbox.run(['snapshot', 'cleanup', 'big', '--json'], { env });
    expect(cleaned.exitCode, cleaned.stderr).toBe(0);
    expect(cleaned.json().settled).toEqual([expect.objectContaining({ store: 'big', backup: bigId })]);
    expect(await databases(target)).toEqual([]);
  });

  it('any existing database needs confirmation, even one with no tables (only a view, a function or a large object)', async () => {
    for (const [suffix, sql] of [
      ['fn', 'create function answer() returns int language sql as $$ select 42 $$'],
      ['mv', 'create materialized view mv as select 1 as one'],
      ['lo', "select lo_from_bytea(0, 'kept'::bytea)"],
      ['empty', 'select 1'],
    ]) {
      const database = `${small}_${suffix}`;
      await pgAdmin((client) => client.query(`create database ${database}`));
      await pgAdmin((client) => client.query(sql), pgUrlFor(database));
      const refused = await sandbox.run(['backup', 'restore', smallId, '--to', 'small', '--database', database], { env });
      expect(refused.exitCode, `${suffix}: ${refused.stderr}`).toBe(77);
      expect(refused.stderr).toContain(`--confirm ${database}`);
    }
    const wrong = await sandbox.run(['backup', 'restore', smallId, '--to', 'small', '--database', `${small}_fn`, '--confirm', 'wrong'], { env });
    expect(wrong.exitCode).toBe(77);
    expect(wrong.stderr).toContain('does not match');
    const confirmed = await sandbox.run(['backup', 'restore', smallId, '--to', 'small', '--database', `${small}_fn`, '--confirm', `${small}_fn`, '--json'], {
      env,
    });
    expect(confirmed.exitCode, confirmed.stderr).toBe(0);
    expect(confirmed.json().previous).toMatch(new RegExp(`^${small}_fn__pre_restore_\\d{17}$`));
  });

  it('refuses the system databases (64) and leaves nothing behind', async () => {
    for (const system of ['postgres', 'template1']) {
      const result = await sandbox.run(['backup', 'restore', smallId, '--to', 'small', '--database', system, '--confirm', system, '--json'], { env });
      expect(result.exitCode, system).toBe(64);
      expect(result.json().error.message).toContain('system database');
    }
    expect(await databases('postgres__restoring_')).toEqual([]);
  });

  it('a restore says what it restored in the engine\'s words: "1 table"', async () => {
    const result = await sandbox.run(['backup', 'restore', smallId, '--to', 'small', '--database', `${small}_words`], { env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('(1 table).');
  });
});

describe('MongoDB restores', () => {
  const database = uniqueName('rs_m');
  let client: MongoClient;
  let sandbox: Sandbox;
  let id: string;
  const databases = async () => (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((db) => db.name);

  beforeAll(async () => {
    client = new MongoClient(servers().mongoUrl);
    await client.connect();
    // FerretDB inserts ~2-3k documents a second: long enough to interrupt a restore.
    for (let batch = 0; batch < 10; batch++)
      await client
        .db(database)
        .collection('orders')
        .insertMany(Array.from({ length: 1000 }, (_, i) => ({ n: batch * 1000 + i, body: 'x'.repeat(2000) })));
    await client.db(database).collection('customers').insertOne({ name: 'Ann' });
    sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { events: { engine: 'mongodb', url: `${servers().mongoUrl}/${database}` } }, backup: { repository: './repo' } });
    const created = await sandbox.run(['backup', 'create', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    id = created.json().stores[0].backup.id;
  });

  afterAll(async () => {
    for (const name of (await databases()).filter((name) => name.startsWith(database))) await client.db(name).dropDatabase();
    await client.close();
  });

  it('kill -9 mid-restore leaves the new database clearly marked unfinished; validate reports it; cleanup drops it; it restores again', async () => {
    const target = `${database}_r1`;
    const victim = startCli(sandbox, ['backup', 'restore', id, '--to', 'events', '--database', target], env);
    await until(async () => (await client.db(target).collection('orders').estimatedDocumentCount()) > 0, 60_000, 'documents to arrive');
    victim.kill('SIGKILL');
    await victim;
    const collections = (await client.db(target).listCollections().toArray()).map((c) => c.name);
    expect(collections).toContain('_storage_restore_unfinished');
    const validated = await sandbox.run(['validate', '--suite', 'snapshots', '--json'], { env });
    expect(validated.exitCode).toBe(3);
    expect(validated.json().checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: `snapshots.state[events/restore ${target}]`, status: 'fail' })]),
    );
    const cleaned = await sandbox.run(['snapshot', 'cleanup', '--json'], { env });
    expect(cleaned.json().settled).toEqual([expect.objectContaining({ store: 'events', what: expect.stringContaining(`dropped ${target}`) })]);
    expect(await databases()).not.toContain(target);
    const again = await sandbox.run(['backup', 'restore', id, '--to', 'events', '--database', target], { env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('(2 collections).');
    expect((await client.db(target).listCollections().toArray()).map((c) => c.name).sort()).toEqual(['customers', 'orders']);
  });

  it('the next restore into the same name settles an unfinished one itself, without asking for confirmation', async () => {
    const target = `${database}_r2`;
    const victim = startCli(sandbox, ['backup', 'restore', id, '--to', 'events', '--database', target], env);
    await until(async () => (await client.db(target).collection('orders').estimatedDocumentCount()) > 0, 60_000, 'documents to arrive');
    victim.kill('SIGKILL');
    await victim;
    const again = await sandbox.run(['backup', 'restore', id, '--to', 'events', '--database', target, '--json'], { env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain(`dropped ${target}, left unfinished by an interrupted restore`);
    expect(await client.db(target).collection('orders').countDocuments()).toBe(10_000);
  });

  it('refuses the admin database (64) and an existing one without confirmation (77)', async () => {
    const admin = await sandbox.run(['backup', 'restore', id, '--to', 'events', '--database', 'admin', '--confirm', 'admin'], { env });
    expect(admin.exitCode).toBe(64);
    expect(admin.stderr).toContain('system database');
    const existing = await sandbox.run(['backup', 'restore', id, '--to', 'events', '--database', database], { env });
    expect(existing.exitCode).toBe(77);
  });
});

describe('SQLite restores', () => {
  it('name the replaced file as snapshot restores do, a name db drop accepts; db info lists databases made by db create', async () => {
    const sandbox = makeSandbox();
    expect((await sandbox.run(['backup', 'create', '--json'], { env })).exitCode).toBe(0);
    const id = (await sandbox.run(['backup', 'list', '--json'], { env })).json().backups[0].id;
    const restored = await sandbox.run(['backup', 'restore', id, '--to', 'local', '--database', 'local', '--confirm', 'local', '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    const previous: string = restored.json().previous;
    expect(previous).toMatch(/^local__pre_restore_\d{17}$/);
    expect((await sandbox.run(['db', 'create', 'local', 'reports'], { env })).exitCode).toBe(0);
    const info = await sandbox.run(['db', 'info', 'local', '--json'], { env });
    expect(info.json().databases.map((db: { name: string }) => db.name)).toEqual(expect.arrayContaining(['local.db', 'reports.db', `${previous}.db`]));
    const dropped = await sandbox.run(['db', 'drop', 'local', previous, '--confirm', previous, '--json'], { env });
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    expect(dropped.json()).toMatchObject({ dropped: true });
  });
});
