// `backup create --jobs N` on PostgreSQL: a parallel directory-format dump (pg_dump -Fd -j N), one
// payload file per archive file, against the real server: restored exactly, every file checked,
// exported as a directory pg_restore reads, a failed dump seals nothing, other engines refuse it.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDirs, flipByte, startCli, waitFor } from '../support/backups.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

const FIXTURE = `
  create schema shop;
  create type shop.state as enum ('new', 'paid', 'sent');
  create table shop.orders (id bigint primary key, state shop.state, total numeric(12,2), note text);
  insert into shop.orders select g, (array['new','paid','sent'])[1 + g % 3]::shop.state, g * 1.25, md5(g::text) from generate_series(1, 40000) g;
  create table public.events (id bigserial primary key, at timestamptz, body jsonb);
  insert into public.events (at, body) select timestamptz '2024-01-01' + g * interval '1 minute', jsonb_build_object('n', g, 'tag', md5(g::text)) from generate_series(1, 30000) g;
  create table public.blobs (id int primary key, data bytea);
  insert into public.blobs select g, decode(md5(g::text) || md5((g * 7)::text), 'hex') from generate_series(1, 20000) g;
  create table public.empty_one (id int);
  create sequence public.ticket_seq start 10;
  select setval('public.ticket_seq', 777);
  select lo_from_bytea(0, 'a large object in a parallel dump'::bytea);
`;

/** Row counts and contents of every table, the sequence and the large objects: equal means restored exactly. */
async function fingerprint(database: string): Promise<Record<string, string>> {
  return pgAdmin(async (client) => {
    const q = async (text: string) => String((await client.query(text)).rows[0].v);
    return {
      orders: await q("select count(*) || ':' || md5(string_agg(id || state::text || total || note, ',' order by id)) as v from shop.orders"),
      events: await q("select count(*) || ':' || md5(string_agg(id || at::text || body::text, ',' order by id)) as v from public.events"),
      blobs: await q("select count(*) || ':' || md5(string_agg(id || encode(data, 'hex'), ',' order by id)) as v from public.blobs"),
      empty: await q('select count(*) as v from public.empty_one'),
      sequence: await q('select last_value as v from public.ticket_seq'),
      largeObjects: await q("select count(*) || ':' || coalesce(string_agg(encode(lo_get(oid), 'escape'), ','), '') as v from pg_largeobject_metadata"),
    };
  }, pgUrlFor(database));
}

const exists = async (database: string) =>
  ((await pgAdmin((client) => client.query('select 1 from pg_database where datname = $1', [database]))).rowCount ?? 0) > 0;

describe('PostgreSQL backups with --jobs (parallel directory-format dump)', () => {
  const source = uniqueName('pgj_jobs_src');
  const big = uniqueName('pgj_jobs_big');
  const made: string[] = [source, big];
  let sandbox: Sandbox;

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${source}`));
    await pgAdmin((client) => client.query(FIXTURE), pgUrlFor(source));
    // Several tables, one much larger, so a dump is still running after its first files are stored.
    await pgAdmin((client) => client.query(`create database ${big}`));
    await pgAdmin(
      (client) =>
        client.query(`
          create table small_a as select g as id, md5(g::text) as t from generate_series(1, 20000) g;
          create table small_b as select g as id, md5(g::text) as t from generate_series(1, 20000) g;
          create table large as select g as id, md5(g::text) || md5((g + 1)::text) as t from generate_series(1, 1500000) g;`),
      pgUrlFor(big),
    );
    sandbox = makeSandbox();
    sandbox.writeConfig({
      stores: {
        main: { engine: 'postgres', url: pgUrlFor(source) },
        big: { engine: 'postgres', url: pgUrlFor(big) },
        lite: { engine: 'sqlite', path: './lite.db' },
      },
      backup: { repository: './repo' },
    });
  }, 120_000);

  afterAll(async () => {
    await pgAdmin(async (client) => {
      for (const db of made) await client.query(`drop database if exists "${db}" with (force)`);
    });
  });

  it('--jobs 2 stores one payload file per archive file and restores exactly the data (counts and contents); verify reads every file; export is a directory pg_restore reads', async () => {
    const created = await sandbox.run(['backup', 'create', 'main', '--jobs', '2', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = created.json().stores[0].backup;
    expect(backup.payloadFormat).toBe('pg_dump-directory');
    expect(backup.jobs).toBe(2);
    const names: string[] = backup.files.map((file: { name: string }) => file.name);
    // toc.dat and one data file per table with rows (4 tables), the large object's files too.
    expect(names).toContain('payload.pgdir.toc%2Edat.zst.enc');
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const name of names) expect(fs.existsSync(path.join(sandbox.dir, 'repo', 'backups', backup.id, name))).toBe(true);
    expect(backup.counts).toMatchObject({ 'shop.orders': 40000, 'public.events': 30000, 'public.blobs': 20000, 'public.empty_one': 0 });
    // Nothing of the plaintext archive is left in the repository's scratch space.
    const scratch = path.join(sandbox.dir, 'repo', 'scratch');
    expect(fs.existsSync(scratch) ? fs.readdirSync(scratch) : []).toEqual([]);

    const target = `${source}_copy`;
    made.push(target);
    const restored = await sandbox.run(['backup', 'restore', backup.id, '--to', 'main', '--database', target, '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await fingerprint(target)).toEqual(await fingerprint(source));

    const verified = await sandbox.run(['backup', 'verify', backup.id, '--read-data', '--json'], { env });
    expect(verified.exitCode, verified.stderr).toBe(0);
    const test = await sandbox.run(['backup', 'verify', backup.id, '--restore-test', '--json'], { env });
    expect(test.exitCode, test.stderr).toBe(0);
    expect(test.json().results[0]).toMatchObject({ ok: true, level: 'restore-test' });

    const out = path.join(sandbox.dir, 'out');
    const exported = await sandbox.run(['backup', 'export', backup.id, '--out', out], { env });
    expect(exported.exitCode, exported.stderr).toBe(0);
    const archive = path.join(out, backup.id, `${source}.dir`);
    expect(fs.readdirSync(archive)).toContain('toc.dat');
    const listing = await execa('pg_restore', ['--list', archive]);
    expect(listing.stdout).toMatch(/TABLE DATA shop orders /);
    // pg_restore -j 2 from the exported directory gives the same data.
    const fromExport = `${source}_exp`;
    made.push(fromExport);
    await pgAdmin((client) => client.query(`create database ${fromExport}`));
    await execa('pg_restore', ['--no-owner', '-j', '2', '--dbname', pgUrlFor(fromExport), archive]);
    expect(await fingerprint(fromExport)).toEqual(await fingerprint(source));
  }, 240_000);

  it('a tampered file of a --jobs backup fails verify and restore with exit 65; restore creates nothing', async () => {
    const created = await sandbox.run(['backup', 'create', 'main', '--jobs', '2', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = created.json().stores[0].backup;
    // The largest data file, not the table of contents: every file is checked, not only the first.
    const victim = [...backup.files].filter((file: { name: string }) => !file.name.includes('toc')).sort((a, b) => b.bytes - a.bytes)[0];
    flipByte(path.join(sandbox.dir, 'repo', 'backups', backup.id, victim.name), Math.floor(victim.bytes / 2));
    const verified = await sandbox.run(['backup', 'verify', backup.id, '--read-data', '--json'], { env });
    expect(verified.exitCode).toBe(65);
    expect(JSON.stringify(verified.json())).toContain(victim.name);
    const target = `${source}_never`;
    made.push(target);
    const restore = await sandbox.run(['backup', 'restore', backup.id, '--to', 'main', '--database', target], { env });
    expect(restore.exitCode).toBe(65);
    expect(await exists(target)).toBe(false);
  }, 120_000);

  it('a pg_dump that fails after some files were stored seals nothing and leaves no files behind', async () => {
    const run = startCli(sandbox, ['backup', 'create', 'big', '--jobs', '2', '--json'], env);
    const repo = path.join(sandbox.dir, 'repo');
    // Wait until at least one archive file of this backup (not the earlier tests') is being stored, then end the dump's sessions.
    const ofBig = () => backupDirs(repo).filter((dir) => path.basename(dir).includes('-big-'));
    await waitFor(() => ofBig().some((dir) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith('payload.pgdir.'))), 60_000);
    // pg_dump is frozen (SIGSTOP) while its sessions are ended: the large table's COPY is then still
    // under way, whatever the load on this machine (a dump that had finished would rightly succeed).
    const dumpers = (await execa('pgrep', ['-f', `dbname.*${big}`], { reject: false })).stdout.split('\n').filter(Boolean).map(Number);
    expect(dumpers.length).toBeGreaterThan(0);
    for (const pid of dumpers) process.kill(pid, 'SIGSTOP');
    let killed = 0;
    try {
      killed = await pgAdmin(async (client) => {
        const copying = await client.query(
          "select 1 from pg_stat_activity where application_name = 'pg_dump' and datname = $1 and query ilike 'COPY public.large %'",
          [big],
        );
        expect(copying.rowCount, 'the large table is still being dumped').toBe(1);
        return (
          (await client.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pg_dump' and datname = $1", [big])).rowCount ??
          0
        );
      });
    } finally {
      for (const pid of dumpers) process.kill(pid, 'SIGCONT');
    }
    const result = await run;
    expect(killed).toBeGreaterThan(0);
    expect(result.exitCode).not.toBe(0);
    expect(JSON.parse(String(result.stdout)).stores[0].ok).toBe(false);
    const complete = (await sandbox.run(['backup', 'list', '--json'], { env }))
      .json()
      .backups.filter((b: { store: string; status: string }) => b.store === 'big' && b.status === 'complete');
    expect(complete).toEqual([]);
    expect(ofBig()).toEqual([]);
    const scratch = path.join(repo, 'scratch');
    expect(fs.existsSync(scratch) ? fs.readdirSync(scratch) : []).toEqual([]);
  }, 120_000);

  it('--jobs on a SQLite store is refused with exit 64 and a hint, before any work', async () => {
    const result = await sandbox.run(['backup', 'create', 'lite', '--jobs', '2', '--json'], { env });
    expect(result.exitCode).toBe(64);
    expect(result.stderr + result.stdout).toMatch(/--jobs.*PostgreSQL/s);
    expect(backupDirs(path.join(sandbox.dir, 'repo')).filter((dir) => path.basename(dir).includes('-lite-'))).toEqual([]);
  });
});

describe('PostgreSQL row counts in the manifest (backup.rowCounts)', () => {
  const db = uniqueName('pgj_counts');

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${db}`));
    // An estimate the server keeps (analyzed at 1000 rows, 10 inserted since) and a table with none yet.
    await pgAdmin(
      (client) =>
        client.query(`
          create table kept as select g as id from generate_series(1, 1000) g;
          analyze kept;
          insert into kept select g from generate_series(1001, 1010) g;
          create table fresh (id int);
          insert into fresh select generate_series(1, 7);`),
      pgUrlFor(db),
    );
  });

  afterAll(async () => {
    await pgAdmin((client) => client.query(`drop database if exists "${db}" with (force)`));
  });

  it("by default records the planner's estimates (a second scan of every table costs the dump time), says so, and counts exactly where there is no estimate", async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor(db) } }, backup: { repository: './repo' } });
    const created = await sandbox.run(['backup', 'create', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = created.json().stores[0].backup;
    expect(backup.rowCounts).toBe('estimate');
    expect(backup.counts).toEqual({ 'public.kept': 1000, 'public.fresh': 7 });
    // A restore test of a backup with estimates compares which tables came back, not their rows.
    const test = await sandbox.run(['backup', 'verify', backup.id, '--restore-test', '--json'], { env });
    expect(test.exitCode, test.stderr).toBe(0);
  });

  it('backup.rowCounts: exact counts every table in the dump snapshot', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor(db) } }, backup: { repository: './repo', rowCounts: 'exact' } });
    const created = await sandbox.run(['backup', 'create', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = created.json().stores[0].backup;
    expect(backup.rowCounts).toBe('exact');
    expect(backup.counts).toEqual({ 'public.kept': 1010, 'public.fresh': 7 });
  });
});
