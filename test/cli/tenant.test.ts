// `storage tenant` on the PostgreSQL server (a schema and a role per tenant) and on SQLite (a file
// per tenant), through the built binary: names checked before anything is made, migrations applied
// once to every tenant (also after a kill -9 mid-run), an edited applied migration refused, a
// locked tenant failing on lock_timeout while the others go on, suspend cutting the tenant's role
// off its schema, roles keeping one tenant out of another's data, and validate's tenants suite.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { StoreLock } from '../../src/engine/store-lock.js';
import { BIN } from '../support/paths.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

const database = uniqueName('tenants');
// Roles are per server: a prefix of this run's own keeps them apart from other runs'.
const prefix = `${uniqueName('t')
  .slice(-8)
  .replace(/[^a-z0-9_]/g, '')}_`;
const probeRole = `${prefix}probe`;
let sandbox: Sandbox;

const pgq = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  pgAdmin(async (client) => (await client.query(sql, params)).rows as T[], pgUrlFor(database));

function migration(dir: string, name: string, body: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), body);
}

beforeAll(async () => {
  await pgAdmin((client) => client.query(`create database ${database}`));
  sandbox = makeSandbox();
  migration(
    path.join(sandbox.dir, 'pg'),
    '001_items.sql',
    'create table items (id bigserial primary key, name text not null);\ncreate index items_name on items (name);\n',
  );
  migration(path.join(sandbox.dir, 'lite'), '001_items.sql', 'create table items (id integer primary key, name text not null);\n');
  fs.writeFileSync(path.join(sandbox.dir, 'app.db'), '');
  sandbox.writeConfig({
    stores: { main: { engine: 'postgres', url: pgUrlFor(database) } },
    tenancy: { store: 'main', migrations: 'pg', prefix, lockTimeout: '1s' },
  });
}, 120_000);

afterAll(async () => {
  await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
  // Tenant roles outlive the database: drop this run's.
  await pgAdmin(async (client) => {
    const roles = (await client.query(`select rolname from pg_roles where left(rolname, length($1)) = $1`, [prefix])).rows;
    for (const { rolname } of roles) await client.query(`drop role if exists "${rolname.replace(/"/g, '""')}"`);
  });
});

const schemas = async () =>
  (await pgq<{ nspname: string }>(`select nspname from pg_namespace where left(nspname, length($1)) = $1 order by 1`, [prefix])).map((r) => r.nspname);

describe('storage tenant on PostgreSQL', () => {
  it('checks every name before creating any: upper case, too long for 63 bytes, a slash; then creates a reserved word, unicode and a 63-byte name', async () => {
    const fits = 'a'.repeat(63 - prefix.length);
    for (const bad of ['Acme', `${fits}b`, 'a/b', 'zürich-é'.normalize('NFD')]) {
      const refused = await sandbox.run(['tenant', 'create', 'good', bad]);
      expect(refused.exitCode, bad).toBe(64);
      expect(await schemas()).toEqual([]);
    }
    expect((await sandbox.run(['tenant', 'create', 'Acme'])).stderr).toMatch(/use "acme"/);
    const made = await sandbox.run(['tenant', 'create', 'select', 'zürich', fits, 'acme', '--json']);
    expect(made.exitCode, made.stderr).toBe(0);
    expect(made.json().tenants.map((t: { outcome: string }) => t.outcome)).toEqual(['created', 'created', 'created', 'created']);
    expect(await schemas()).toEqual([`${prefix}${fits}`, `${prefix}acme`, `${prefix}select`, `${prefix}zürich`].sort());
    // Each has the migrated table and its own role; the catalog and ledger say so.
    for (const name of ['select', 'zürich', fits, 'acme']) expect(await pgq(`select count(*)::int as n from "${prefix}${name}".items`)).toEqual([{ n: 0 }]);
    expect(await pgq(`select count(*)::int as n from pg_roles where left(rolname, length($1)) = $1`, [prefix])).toEqual([{ n: 4 }]);
    const again = await sandbox.run(['tenant', 'create', 'acme', '--json']);
    expect(again.json().tenants).toEqual([{ tenant: 'acme', outcome: 'exists' }]);
    const list = (await sandbox.run(['tenant', 'list', '--json'])).json();
    expect(list.tenants).toHaveLength(4);
    expect(list.tenants.every((t: { version: string; pending: string[] }) => t.version === '001_items' && t.pending.length === 0)).toBe(true);
  }, 120_000);

  it('migrate --all applies a new migration once to every tenant, canary first; a second run touches none', async () => {
    migration(
      path.join(sandbox.dir, 'pg'),
      '002_price.sql',
      'alter table items add column price numeric not null default 0;\ncreate index items_price on items (price);\n',
    );
    const dry = await sandbox.run(['tenant', 'migrate', '--all', '--dry-run', '--json']);
    expect(dry.json().tenants.every((t: { outcome: string }) => t.outcome === 'would migrate')).toBe(true);
    expect(
      await pgq(`select count(*)::int as n from information_schema.columns where column_name = 'price' and left(table_schema, length($1)) = $1`, [prefix]),
    ).toEqual([{ n: 0 }]);
    const run = await sandbox.run(['tenant', 'migrate', '--all', '--canary', '1', '--concurrency', '2', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ migrated: 4, current: 0, failed: 0, latest: '002_price' });
    expect(
      await pgq(`select count(*)::int as n from information_schema.columns where column_name = 'price' and left(table_schema, length($1)) = $1`, [prefix]),
    ).toEqual([{ n: 4 }]);
    expect(await pgq(`select name, count(*)::int as n from storage_tenancy.migrations group by name order by name`)).toEqual([
      { name: '001_items', n: 4 },
      { name: '002_price', n: 4 },
    ]);
    const again = await sandbox.run(['tenant', 'migrate', '--all', '--json']);
    expect(again.json()).toMatchObject({ migrated: 0, current: 4 });
    const show = (await sandbox.run(['tenant', 'show', 'acme', '--json'])).json();
    expect(show).toMatchObject({ name: 'acme', version: '002_price', pending: [], rows: { items: 0 } });
  }, 120_000);

  it('refuses an edited applied migration, and a new one ordered before an applied one, before migrating anything', async () => {
    const file = path.join(sandbox.dir, 'pg', '001_items.sql');
    const original = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, `${original}-- a later edit\n`);
    migration(path.join(sandbox.dir, 'pg'), '003_note.sql', 'alter table items add column note text;\n');
    const refused = await sandbox.run(['tenant', 'migrate', '--all']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/001_items edited after it was applied/);
    expect(await pgq(`select count(*)::int as n from information_schema.columns where column_name = 'note'`)).toEqual([{ n: 0 }]);
    fs.writeFileSync(file, original);
    migration(path.join(sandbox.dir, 'pg'), '0015_early.sql', 'select 1;\n');
    const early = await sandbox.run(['tenant', 'migrate', '--all']);
    expect(early.exitCode).toBe(1);
    expect(early.stderr).toMatch(/0015_early new, but ordered before 002_price/);
    fs.rmSync(path.join(sandbox.dir, 'pg', '0015_early.sql'));
    const validate = await sandbox.run(['validate', '--suite', 'tenants', '--json']);
    expect(validate.exitCode).toBe(3);
    expect(JSON.stringify(validate.json())).toMatch(/1 behind \(003_note/);
    expect((await sandbox.run(['tenant', 'migrate', '--all'])).exitCode).toBe(0);
    expect((await sandbox.run(['validate', '--suite', 'tenants'])).exitCode).toBe(0);
  }, 120_000);

  it('a tenant whose table another session holds fails on lock_timeout while the others migrate (--keep-going); a rerun finishes it', async () => {
    migration(path.join(sandbox.dir, 'pg'), '004_flag.sql', 'alter table items add column flag boolean not null default false;\n');
    const holder = new pg.Client({ connectionString: pgUrlFor(database) });
    await holder.connect();
    try {
      await holder.query(`begin; lock table "${prefix}acme".items in access exclusive mode`);
      const run = await sandbox.run(['tenant', 'migrate', '--all', '--keep-going', '--json']);
      expect(run.exitCode).toBe(2);
      expect(run.json()).toMatchObject({ migrated: 3, failed: 1 });
      expect(run.json().tenants.find((t: { tenant: string }) => t.tenant === 'acme')).toMatchObject({
        outcome: 'failed',
        error: expect.stringMatching(/lock timeout/),
      });
      expect(
        await pgq(`select count(*)::int as n from information_schema.columns where column_name = 'flag' and table_schema = $1`, [`${prefix}acme`]),
      ).toEqual([{ n: 0 }]);
      // Without --keep-going the first failure stops the run.
      migration(path.join(sandbox.dir, 'pg'), '005_more.sql', 'alter table items add column more int;\n');
      const stopped = await sandbox.run(['tenant', 'migrate', '--all', '--concurrency', '1', '--json']);
      expect(stopped.exitCode).toBe(2); // partial: one tenant was migrated before the failure
      // In catalog order: the 61-letter tenant, acme (locked), then the two never reached.
      expect(stopped.json()).toMatchObject({ migrated: 1, failed: 1, skipped: 2 });
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
    const rerun = await sandbox.run(['tenant', 'migrate', '--all', '--json']);
    expect(rerun.json()).toMatchObject({ migrated: 3, failed: 0 });
  }, 120_000);

  it('kill -9 in the middle of migrate --all, then a rerun: every tenant at the latest migration exactly once', async () => {
    const many = Array.from({ length: 60 }, (_, i) => `bulk${i}`);
    expect((await sandbox.run(['tenant', 'create', ...many])).exitCode).toBe(0);
    migration(path.join(sandbox.dir, 'pg'), '006_slow.sql', 'select pg_sleep(0.05);\nalter table items add column slow int;\n');
    const child = execa(process.execPath, [BIN, 'tenant', 'migrate', '--all', '--concurrency', '2'], { cwd: sandbox.dir, env: sandbox.env, reject: false });
    for (let i = 0; i < 200; i++) {
      const [{ n }] = await pgq<{ n: number }>(`select count(*)::int as n from storage_tenancy.migrations where name = '006_slow'`);
      if (n >= 5) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    await child;
    // A transaction already sent finishes on the server after its client died: let those land before counting.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const [{ n: before }] = await pgq<{ n: number }>(`select count(*)::int as n from storage_tenancy.migrations where name = '006_slow'`);
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(64);
    const rerun = await sandbox.run(['tenant', 'migrate', '--all', '--json']);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.json().migrated).toBe(64 - before);
    expect(await pgq(`select count(*)::int as n, count(distinct tenant)::int as tenants from storage_tenancy.migrations where name = '006_slow'`)).toEqual([
      { n: 64, tenants: 64 },
    ]);
    expect(
      await pgq(`select count(*)::int as n from information_schema.columns where column_name = 'slow' and left(table_schema, length($1)) = $1`, [prefix]),
    ).toEqual([{ n: 64 }]);
  }, 180_000);

  it('a second migrate while one runs is refused with 75 (the store is locked) and the first finishes every tenant exactly once', async () => {
    // The first run is held inside its first tenant's migration until the test lets it go (a gate
    // the migration waits on by polling, so no lock_timeout ends it): no race on the machine's speed.
    const gate = new pg.Client({ connectionString: pgUrlFor(database) });
    await gate.connect();
    await gate.query('select pg_advisory_lock(424242)');
    let child: ReturnType<typeof execa> | undefined;
    try {
      migration(
        path.join(sandbox.dir, 'pg'),
        '007_second.sql',
        "do $$ begin while exists (select 1 from pg_locks where locktype = 'advisory' and objid = 424242 and granted) loop perform pg_sleep(0.01); end loop; end $$;\nalter table items add column second int;\n",
      );
      child = execa(process.execPath, [BIN, 'tenant', 'migrate', '--all', '--concurrency', '1'], { cwd: sandbox.dir, env: sandbox.env, reject: false });
      let waiting = 0;
      for (let i = 0; i < 2400 && !waiting; i++) {
        [{ n: waiting }] = await pgq<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where query like '%objid = 424242%' and pid <> pg_backend_pid()`,
        );
        if (!waiting) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(waiting, 'the first migrate never reached its first tenant').toBe(1);
      const second = await sandbox.run(['tenant', 'migrate', '--all']);
      expect(second.exitCode, second.stderr).toBe(75);
      expect(second.stderr).toMatch(/tenant migrate/);
    } finally {
      await gate.end();
    }
    expect((await child!).exitCode).toBe(0);
    expect(await pgq(`select count(*)::int as n, count(distinct tenant)::int as tenants from storage_tenancy.migrations where name = '007_second'`)).toEqual([
      { n: 64, tenants: 64 },
    ]);
  }, 180_000);

  it("suspend takes the tenant role's access away, resume gives it back; a tenant's role cannot read another tenant", async () => {
    await pgq(`insert into "${prefix}acme".items (name) values ('acme row')`);
    await pgq(`insert into "${prefix}select".items (name) values ('select row')`);
    await pgAdmin((client) => client.query(`create role "${probeRole}" login; grant "${prefix}acme" to "${probeRole}"`));
    const asProbe = async (sql: string) => {
      const client = new pg.Client({ connectionString: pgUrlFor(database).replace('postgres@', `${probeRole}@`) });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    };
    expect(await asProbe(`select name from "${prefix}acme".items`)).toEqual([{ name: 'acme row' }]);
    await expect(asProbe(`select name from "${prefix}select".items`)).rejects.toThrow(/permission denied for schema/);
    expect((await sandbox.run(['tenant', 'suspend', 'acme'])).exitCode).toBe(0);
    await expect(asProbe(`select name from "${prefix}acme".items`)).rejects.toThrow(/permission denied for schema/);
    expect((await sandbox.run(['tenant', 'list', '--json'])).json().tenants.find((t: { name: string }) => t.name === 'acme').status).toBe('suspended');
    expect((await sandbox.run(['tenant', 'resume', 'acme'])).exitCode).toBe(0);
    expect(await asProbe(`select name from "${prefix}acme".items`)).toEqual([{ name: 'acme row' }]);
  }, 120_000);

  it('pooled connections switching tenants with SET LOCAL ROLE never read another tenant', async () => {
    const names = ['acme', 'select', 'zürich', 'bulk1', 'bulk2'];
    for (const name of names) await pgq(`insert into "${prefix}${name}".items (name) values ($1)`, [`mark ${name}`]);
    const pool = new pg.Pool({ connectionString: pgUrlFor(database), max: 4 });
    let reads = 0;
    let wrong = 0;
    try {
      await Promise.all(
        Array.from({ length: 400 }, async (_, i) => {
          const name = names[i % names.length];
          const client = await pool.connect();
          try {
            await client.query('begin');
            await client.query(`set local role "${prefix}${name}"`);
            await client.query(`set local search_path to "${prefix}${name}"`);
            const rows = (await client.query(`select name from items where name like 'mark %'`)).rows;
            await client.query('commit');
            reads++;
            if (rows.length !== 1 || rows[0].name !== `mark ${name}`) wrong++;
          } finally {
            client.release();
          }
        }),
      );
    } finally {
      await pool.end();
    }
    expect(reads).toBe(400);
    expect(wrong).toBe(0);
  }, 120_000);

  it('validate --suite tenants reports an orphan schema (warn) and a tenant whose schema is gone (fail, 3)', async () => {
    await pgq(`create schema "${prefix}ghost"`);
    const orphan = await sandbox.run(['validate', '--suite', 'tenants', '--json']);
    expect(orphan.exitCode).toBe(0);
    expect(JSON.stringify(orphan.json())).toMatch(/an orphan/);
    await pgq(`drop schema "${prefix}bulk3" cascade`);
    const missing = await sandbox.run(['validate', '--suite', 'tenants', '--json']);
    expect(missing.exitCode).toBe(3);
    expect(JSON.stringify(missing.json())).toMatch(/its schema [^"]*bulk3 is gone/);
  }, 120_000);
});

describe('storage tenant create in groups', () => {
  it('one tenant that cannot be made (its role already exists) costs no other tenant of its transaction group; exit 2 names it', async () => {
    await pgAdmin((client) => client.query(`create role "${prefix}clash" nologin`));
    const names = ['g1', 'g2', 'g3', 'clash', 'g4', 'g5', 'g6', 'g7', 'g8'];
    const run = await sandbox.run(['tenant', 'create', ...names, '--json']);
    expect(run.exitCode).toBe(2);
    expect(
      run
        .json()
        .tenants.filter((t: { outcome: string }) => t.outcome === 'created')
        .map((t: { tenant: string }) => t.tenant),
    ).toEqual(names.filter((n) => n !== 'clash'));
    expect(run.json().tenants.find((t: { tenant: string }) => t.tenant === 'clash')).toMatchObject({
      outcome: 'failed',
      error: expect.stringMatching(/already exists/),
    });
    expect(await schemas()).not.toContain(`${prefix}clash`);
    expect(await schemas()).toContain(`${prefix}g8`);
  }, 120_000);
});

describe('storage tenant on SQLite', () => {
  let lite: Sandbox;
  beforeAll(() => {
    lite = makeSandbox();
    migration(path.join(lite.dir, 'migrations'), '001_items.sql', 'create table items (id integer primary key, name text not null);\n');
    fs.writeFileSync(path.join(lite.dir, 'app.db'), '');
    lite.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'app.db' } }, tenancy: { store: 'lite', migrations: 'migrations' } });
  });

  it('a file per tenant, migrated once each; suspend moves the file aside read-only and resume brings it back', async () => {
    expect((await lite.run(['tenant', 'create', 'acme', 'globex'])).exitCode).toBe(0);
    const file = (name: string) => path.join(lite.dir, 'tenants', `t_${name}.db`);
    expect(fs.existsSync(file('acme'))).toBe(true);
    expect(fs.statSync(file('acme')).mode & 0o777).toBe(0o600);
    migration(path.join(lite.dir, 'migrations'), '002_price.sql', 'alter table items add column price integer not null default 0;\n');
    const run = await lite.run(['tenant', 'migrate', '--all', '--json']);
    expect(run.json()).toMatchObject({ migrated: 2, failed: 0 });
    for (const name of ['acme', 'globex']) {
      const db = new Sqlite(file(name), { readonly: true });
      expect(db.prepare(`select name from pragma_table_info('items')`).all()).toContainEqual({ name: 'price' });
      expect(db.prepare(`select name from storage_migrations order by name`).all()).toEqual([{ name: '001_items' }, { name: '002_price' }]);
      db.close();
    }
    expect((await lite.run(['tenant', 'migrate', '--all', '--json'])).json()).toMatchObject({ migrated: 0, current: 2 });
    expect((await lite.run(['tenant', 'suspend', 'globex'])).exitCode).toBe(0);
    const aside = path.join(lite.dir, 'tenants', 'suspended', 't_globex.db');
    expect(fs.existsSync(file('globex'))).toBe(false);
    expect(fs.statSync(aside).mode & 0o777).toBe(0o400);
    expect((await lite.run(['validate', '--suite', 'tenants'])).exitCode).toBe(0);
    expect((await lite.run(['tenant', 'resume', 'globex'])).exitCode).toBe(0);
    expect(fs.statSync(file('globex')).mode & 0o777).toBe(0o600);
  }, 120_000);

  it('a suspended tenant (its file read-only) is migrated too and stays read-only, for an operator without root (run as the postgres OS user here)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-tenant-ro-'));
    migration(path.join(dir, 'migrations'), '001_items.sql', 'create table items (id integer primary key);\n');
    fs.writeFileSync(path.join(dir, 'app.db'), '');
    fs.writeFileSync(
      path.join(dir, 'storage.config.yaml'),
      'stores:\n  lite: { engine: sqlite, path: app.db }\ntenancy: { store: lite, migrations: migrations }\n',
    );
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await execa('chown', ['-R', 'postgres', dir]);
    const env = {
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      XDG_DATA_HOME: path.join(dir, 'data'),
      XDG_STATE_HOME: path.join(dir, 'state'),
      CI: 'true',
    };
    const run = (...args: string[]) =>
      asRoot
        ? execa('runuser', ['-u', 'postgres', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, ...args], {
            cwd: dir,
            reject: false,
          })
        : execa(process.execPath, [BIN, ...args], { cwd: dir, env, reject: false });
    expect((await run('tenant', 'create', 'a', 'b')).exitCode).toBe(0);
    expect((await run('tenant', 'suspend', 'b')).exitCode).toBe(0);
    migration(path.join(dir, 'migrations'), '002_x.sql', 'alter table items add column x int;\n');
    if (asRoot) await execa('chown', ['-R', 'postgres', dir]);
    const migrated = await run('tenant', 'migrate', '--all');
    expect(migrated.exitCode, migrated.stderr).toBe(0);
    const file = path.join(dir, 'tenants', 'suspended', 't_b.db');
    expect(fs.statSync(file).mode & 0o777).toBe(0o400);
    const db = new Sqlite(file, { readonly: true });
    expect(db.prepare(`select name from pragma_table_info('items')`).all()).toContainEqual({ name: 'x' });
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("suspend, resume and drop (with its backup or without) wait for no one: while another run holds the store's lock each is refused with 75, and nothing changes", async () => {
    const sandbox = makeSandbox();
    migration(path.join(sandbox.dir, 'migrations'), '001_items.sql', 'create table items (id integer primary key, name text not null);\n');
    fs.writeFileSync(path.join(sandbox.dir, 'app.db'), '');
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'app.db' } }, tenancy: { store: 'lite', migrations: 'migrations' } });
    expect((await sandbox.run(['tenant', 'create', 'acme', 'globex'])).exitCode).toBe(0);
    expect((await sandbox.run(['tenant', 'suspend', 'globex'])).exitCode).toBe(0);
    const live = path.join(sandbox.dir, 'tenants', 't_acme.db');
    const aside = path.join(sandbox.dir, 'tenants', 'suspended', 't_globex.db');
    const db = new Sqlite(live);
    db.prepare(`insert into items (name) values ('kept')`).run();
    db.close();
    // Another run (a migrate, a restore) holds the tenancy store's lock: the one backups take, in the default repository.
    const holder = StoreLock.acquire(path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'backups', 'locks'), 'lite', 'storage tenant migrate --all');
    try {
      for (const args of [
        ['tenant', 'suspend', 'acme'],
        ['tenant', 'resume', 'globex'],
        ['tenant', 'drop', 'acme', '--confirm', 'acme'],
        ['tenant', 'drop', 'acme', '--confirm', 'acme', '--no-backup'],
      ]) {
        const refused = await sandbox.run(args);
        expect(refused.exitCode, `${args.join(' ')}: ${refused.stderr}`).toBe(75);
        expect(refused.stderr).toContain('storage tenant migrate --all');
      }
    } finally {
      holder.release();
    }
    // Nothing changed: acme is live with its row, globex still aside, both in the catalog, no backup taken.
    const again = new Sqlite(live, { readonly: true });
    expect(again.prepare('select name from items').all()).toEqual([{ name: 'kept' }]);
    again.close();
    expect(fs.existsSync(aside)).toBe(true);
    const list = (await sandbox.run(['tenant', 'list', '--json'])).json();
    expect(list.tenants.map((t: { name: string; status: string }) => [t.name, t.status])).toEqual([
      ['acme', 'active'],
      ['globex', 'suspended'],
    ]);
    const backupsDir = path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'backups', 'backups');
    expect(fs.existsSync(backupsDir) ? fs.readdirSync(backupsDir) : []).toEqual([]);
    // Once the lock is free the same commands work.
    expect((await sandbox.run(['tenant', 'drop', 'acme', '--confirm', 'acme'])).exitCode).toBe(0);
    expect(fs.existsSync(live)).toBe(false);
  }, 120_000);

  it('a tenant file already migrated by a run that died before the catalog heard of it is caught up, not migrated twice', async () => {
    migration(path.join(lite.dir, 'migrations'), '003_note.sql', 'alter table items add column note text;\n');
    // The tenant's own ledger has it (as a run killed between the two commits leaves it); the catalog does not.
    const db = new Sqlite(path.join(lite.dir, 'tenants', 't_acme.db'));
    db.exec(`alter table items add column note text`);
    const checksum = (await import('node:crypto')).createHash('sha256').update('alter table items add column note text;\n').digest('hex');
    db.prepare(`insert into storage_migrations values ('003_note', ?, '2026-01-01T00:00:00Z')`).run(checksum);
    db.close();
    const run = await lite.run(['tenant', 'migrate', '--all', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ migrated: 2, failed: 0 });
    expect((await lite.run(['tenant', 'list', '--json'])).json().tenants.map((t: { version: string }) => t.version)).toEqual(['003_note', '003_note']);
  }, 120_000);
});
