// Backups of PostgreSQL stores through the built binary, against the real server.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDirs, flipByte, payloadFile, startCli, waitFor } from '../support/backups.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

const FIXTURE = `
  create schema billing;
  create type billing.money_amount as (currency char(3), cents bigint);
  create type mood as enum ('calm', 'busy');
  create table billing.invoices (id bigserial primary key, amount billing.money_amount, issued timestamptz default now(), mood mood);
  insert into billing.invoices (amount, mood) select row('EUR', g * 100)::billing.money_amount, case when g % 2 = 0 then 'calm'::mood else 'busy'::mood end from generate_series(1, 500) g;
  create table public.notes (id int primary key, body text, doc jsonb);
  insert into public.notes select g, repeat('x', g % 50), jsonb_build_object('n', g) from generate_series(1, 300) g;
  create sequence public.ticket_seq start 1000;
  select setval('public.ticket_seq', 4242);
  select lo_from_bytea(0, 'a large object body'::bytea);
`;

async function fingerprint(database: string): Promise<Record<string, string>> {
  return pgAdmin(async (client) => {
    const q = async (sql: string) => String((await client.query(sql)).rows[0].v);
    return {
      invoices: await q("select md5(string_agg(id || ':' || amount::text || ':' || mood, ',' order by id)) as v from billing.invoices"),
      notes: await q("select md5(string_agg(id || body || doc::text, ',' order by id)) as v from public.notes"),
      pgbench: await q('select sum(abalance)::text || count(*) as v from pgbench_accounts'),
      sequence: await q('select last_value as v from public.ticket_seq'),
      largeObjects: await q('select count(*) as v from pg_largeobject_metadata'),
    };
  }, pgUrlFor(database));
}

describe('PostgreSQL backups', () => {
  const source = uniqueName('bk_src');
  const big = uniqueName('bk_src_big');
  let sandbox: Sandbox;
  const made: string[] = [source, big];

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${source}`));
    await execa('pgbench', ['-i', '-s', '1', '-q', pgUrlFor(source)]);
    await pgAdmin((client) => client.query(FIXTURE), pgUrlFor(source));
    // Big enough (about 120 MB) that a dump is still running when a test interrupts it.
    await pgAdmin((client) => client.query(`create database ${big}`));
    await execa('pgbench', ['-i', '-s', '8', '-q', pgUrlFor(big)]);
    sandbox = makeSandbox();
    sandbox.writeConfig({
      stores: { main: { engine: 'postgres', url: pgUrlFor(source) }, gone: { engine: 'postgres', url: pgUrlFor(uniqueName('missing')) } },
      backup: { repository: './repo' },
    });
  });

  afterAll(async () => {
    await pgAdmin(async (client) => {
      const all = (await client.query<{ datname: string }>("select datname from pg_database where datname like 'bk_src%'")).rows.map((r) => r.datname);
      for (const db of new Set([...made, ...all])) await client.query(`drop database if exists "${db}" with (force)`);
    });
  });

  it('round-trips schemas, pgbench data, a composite and an enum type, a sequence and a large object', async () => {
    const created = await sandbox.run(['backup', 'create', 'main', '--verify', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = created.json().stores[0].backup;
    expect(backup.counts).toMatchObject({ 'public.pgbench_accounts': 100000, 'billing.invoices': 500, 'public.notes': 300 });
    expect(backup.payloadFormat).toBe('pg_dump-custom');
    const target = `${source}_copy`;
    made.push(target);
    const restored = await sandbox.run(['backup', 'restore', backup.id, '--to', 'main', '--database', target, '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(restored.json().backedUpCounts).toEqual(backup.counts);
    expect(await fingerprint(target)).toEqual(await fingerprint(source));
    const test = await sandbox.run(['backup', 'verify', backup.id, '--restore-test', '--json'], { env });
    expect(test.exitCode, test.stderr).toBe(0);
    expect(test.json().results[0]).toMatchObject({ ok: true, level: 'restore-test' });
    const leftovers = await pgAdmin((client) => client.query("select datname from pg_database where datname like 'storage_verify_%'"));
    expect(leftovers.rowCount).toBe(0);
  });

  it('a tampered backup is refused before anything is created on the server', async () => {
    const id = (await sandbox.run(['backup', 'create', 'main', '--json'], { env })).json().stores[0].backup.id;
    flipByte(payloadFile(path.join(sandbox.dir, 'repo', 'backups', id)), 200);
    const target = `${source}_never`;
    const restore = await sandbox.run(['backup', 'restore', id, '--to', 'main', '--database', target], { env });
    expect(restore.exitCode).toBe(65);
    const exists = await pgAdmin((client) => client.query('select 1 from pg_database where datname = $1', [target]));
    expect(exists.rowCount).toBe(0);
  });

  it('a pg_dump failure (the database does not exist) fails the run and keeps no complete backup; --all with one store down exits 2', async () => {
    const before = backupDirs(path.join(sandbox.dir, 'repo')).length;
    const failed = await sandbox.run(['backup', 'create', 'gone'], { env });
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stderr).toMatch(/does not exist/);
    expect(backupDirs(path.join(sandbox.dir, 'repo')).length).toBe(before);
    const all = await sandbox.run(['backup', 'create', '--all', '--json'], { env });
    expect(all.exitCode).toBe(2);
    expect(all.json().stores.map((s: { store: string; ok: boolean }) => [s.store, s.ok])).toEqual([
      ['main', true],
      ['gone', false],
    ]);
  });

  it('a server that kills pg_dump mid-dump leaves no complete backup', async () => {
    const sb = makeSandbox();
    sb.writeConfig({ stores: { big: { engine: 'postgres', url: pgUrlFor(big) } }, backup: { repository: './repo' } });
    const run = startCli(sb, ['backup', 'create', 'big'], env);
    let killed = 0;
    const deadline = Date.now() + 30_000;
    while (killed === 0 && Date.now() < deadline) {
      killed = await pgAdmin(
        async (client) =>
          (await client.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pg_dump' and datname = $1", [big])).rowCount ??
          0,
      );
    }
    const result = await run;
    expect(killed).toBeGreaterThan(0);
    expect(result.exitCode).not.toBe(0);
    const list = (await sb.run(['backup', 'list', '--json'], { env })).json().backups;
    expect(list.filter((b: { status: string }) => b.status === 'complete')).toEqual([]);
  });

  it('kill -9 of the CLI mid-backup: no complete backup, and the next run succeeds', async () => {
    const sb = makeSandbox();
    sb.writeConfig({ stores: { big: { engine: 'postgres', url: pgUrlFor(big) } }, backup: { repository: './repo' } });
    const victim = startCli(sb, ['backup', 'create', 'big'], env);
    await waitFor(
      () =>
        backupDirs(path.join(sb.dir, 'repo')).some((dir) =>
          fs.readdirSync(dir).some((f) => f.startsWith('payload') && fs.statSync(path.join(dir, f)).size > 0),
        ),
      30_000,
    );
    victim.kill('SIGKILL');
    await victim;
    const list = (await sb.run(['backup', 'list', '--json'], { env })).json().backups;
    expect(list.filter((b: { status: string }) => b.status === 'complete')).toEqual([]);
    const next = await sb.run(['backup', 'create', 'big', '--json'], { env });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.json().stores[0].ok).toBe(true);
  });

  it('uses the password from the environment for pg_dump without putting it on the command line', async () => {
    const auth = new URL(servers().pgAuthUrl);
    const sb = makeSandbox();
    sb.writeConfig({
      stores: { secure: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${auth.port}/postgres` } },
      backup: { repository: './repo' },
    });
    const result = await sb.run(['backup', 'create', 'secure', '--json'], {
      env: { ...env, STORAGE_STORE_SECURE_PASSWORD: decodeURIComponent(auth.password) },
    });
    expect(result.exitCode, result.stderr).toBe(0);
  });
});

describe('backup export', () => {
  it('exports a pg_dump archive that pg_restore reads, and a SQLite file sqlite3 opens', async () => {
    const sandbox = makeSandbox();
    const db = uniqueName('bk_src_export');
    await pgAdmin((client) => client.query(`create database ${db}`));
    try {
      await pgAdmin((client) => client.query('create table t (id int); insert into t select generate_series(1, 10)'), pgUrlFor(db));
      sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor(db) } }, backup: { repository: './repo' } });
      const id = (await sandbox.run(['backup', 'create', '--json'], { env })).json().stores[0].backup.id;
      const out = path.join(sandbox.dir, 'out');
      expect((await sandbox.run(['backup', 'export', id, '--out', out], { env })).exitCode).toBe(0);
      const listing = await execa('pg_restore', ['--list', path.join(out, id, `${db}.dump`)]);
      expect(listing.stdout).toMatch(/TABLE DATA public t /);
    } finally {
      await pgAdmin((client) => client.query(`drop database if exists ${db} with (force)`));
    }
    const local = makeSandbox();
    const id = (await local.run(['backup', 'create', '--json'])).json().stores[0].backup.id;
    expect((await local.run(['backup', 'export', id, '--out', 'out'])).exitCode).toBe(0);
    const check = await execa('sqlite3', [path.join(local.dir, 'out', id, 'local.db'), 'pragma integrity_check']);
    expect(check.stdout.trim()).toBe('ok');
  });
});
