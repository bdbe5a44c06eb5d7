// Tenant backups and `tenant drop` on real stores (the PostgreSQL server: a schema + role per
// tenant; SQLite: a file per tenant): drop refuses without confirmation and touches nothing, drops
// after a backup that restores the tenant's exact rows and puts it back in the catalog, a restore
// over an existing tenant keeps what it replaced, --no-backup takes none, and an unknown tenant
// is a clear error.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import pg from 'pg';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BIN } from '../support/paths.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };
const MIGRATION = 'create table items (id integer primary key, name text not null);';

interface Row {
  id: number;
  name: string;
}

/** What each engine's test needs to see and change a tenant's data directly. */
interface Engine {
  label: string;
  sandbox: () => Sandbox;
  container: (tenant: string) => string;
  insert: (tenant: string, rows: Row[]) => Promise<void>;
  /** The tenant's rows in id order; undefined when its container does not exist. */
  rows: (tenant: string) => Promise<Row[] | undefined>;
  /** The rows of the container a restore moved aside (named by the restore's outcome). */
  previousRows: (previous: string) => Promise<Row[]>;
  /** Whether the tenant's application can reach its data (PostgreSQL: its role has USAGE on the schema and SELECT on items; SQLite: its file is in place). */
  reachable: (tenant: string) => Promise<boolean>;
  store: string;
}

function writeMigrations(sandbox: Sandbox): void {
  fs.mkdirSync(path.join(sandbox.dir, 'migrations'));
  fs.writeFileSync(path.join(sandbox.dir, 'migrations', '001_items.sql'), MIGRATION);
}

const seed = (prefix: string, n: number): Row[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `${prefix} ${i + 1} 'quoted' ü` }));

// ─── PostgreSQL ────────────────────────────────────────────────────────────────────────────

const database = uniqueName('tenant_backup');
// Roles are server-wide: a prefix of this run's own keeps its tenant roles apart from any other's.
const pgPrefix = `tb${Math.random().toString(36).slice(2, 7)}_`;
let pgSandbox: Sandbox;
const pgq = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  pgAdmin(async (client) => (await client.query(sql, params)).rows as T[], pgUrlFor(database));

const postgres: Engine = {
  label: 'PostgreSQL',
  sandbox: () => pgSandbox,
  container: (tenant) => `${pgPrefix}${tenant}`,
  async insert(tenant, rows) {
    for (const row of rows) await pgq(`insert into "${pgPrefix}${tenant}".items (id, name) values ($1, $2)`, [row.id, row.name]);
  },
  async rows(tenant) {
    if ((await pgq(`select 1 from pg_namespace where nspname = $1`, [`${pgPrefix}${tenant}`])).length === 0) return undefined;
    return pgq<Row>(`select id, name from "${pgPrefix}${tenant}".items order by id`);
  },
  previousRows: (previous) => pgq<Row>(`select id, name from "${previous}".items order by id`),
  async reachable(tenant) {
    const role = `${pgPrefix}${tenant}`;
    const [row] = await pgq<{ ok: boolean }>(
      `select has_schema_privilege($1::text, $1::text, 'USAGE') and has_table_privilege($1::text, format('%I.items', $1::text), 'SELECT') as ok`,
      [role],
    );
    return row.ok;
  },
  store: 'main',
};

// ─── SQLite ────────────────────────────────────────────────────────────────────────────────

let liteSandbox: Sandbox;
const liteFile = (tenant: string) => path.join(liteSandbox.dir, 'data', 'tenants', `t_${tenant}.db`);
const suspendedFile = (tenant: string) => path.join(liteSandbox.dir, 'data', 'tenants', 'suspended', `t_${tenant}.db`);

const sqlite: Engine = {
  label: 'SQLite',
  sandbox: () => liteSandbox,
  container: (tenant) => `t_${tenant}`,
  async insert(tenant, rows) {
    const db = new Sqlite(liteFile(tenant));
    const insert = db.prepare('insert into items (id, name) values (?, ?)');
    db.transaction(() => rows.forEach((row) => insert.run(row.id, row.name)))();
    db.close();
  },
  async rows(tenant) {
    const file = [liteFile(tenant), suspendedFile(tenant)].find((f) => fs.existsSync(f));
    if (!file) return undefined;
    const db = new Sqlite(file, { readonly: true });
    const rows = db.prepare('select id, name from items order by id').all() as Row[];
    db.close();
    return rows;
  },
  async previousRows(previous) {
    const db = new Sqlite(path.join(liteSandbox.dir, 'data', 'tenants', previous), { readonly: true });
    const rows = db.prepare('select id, name from items order by id').all() as Row[];
    db.close();
    return rows;
  },
  reachable: async (tenant) => fs.existsSync(liteFile(tenant)),
  store: 'lite',
};

beforeAll(async () => {
  await pgAdmin((client) => client.query(`create database ${database}`));
  pgSandbox = makeSandbox();
  writeMigrations(pgSandbox);
  pgSandbox.writeConfig({
    stores: { main: { engine: 'postgres', url: pgUrlFor(database) } },
    tenancy: { store: 'main', prefix: pgPrefix, migrations: 'migrations' },
    backup: { repository: './repo' },
  });
  liteSandbox = makeSandbox();
  writeMigrations(liteSandbox);
  fs.mkdirSync(path.join(liteSandbox.dir, 'data'));
  new Sqlite(path.join(liteSandbox.dir, 'data', 'app.db')).close();
  liteSandbox.writeConfig({
    stores: { lite: { engine: 'sqlite', path: 'data/app.db' } },
    tenancy: { store: 'lite', migrations: 'migrations' },
    backup: { repository: './repo' },
  });
}, 120_000);

afterAll(async () => {
  await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
  await pgAdmin(async (client) => {
    const roles = (await client.query(`select rolname from pg_roles where starts_with(rolname, $1)`, [pgPrefix])).rows;
    for (const { rolname } of roles) await client.query(`drop role if exists "${rolname}"`);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function backupsOf(sandbox: Sandbox): Promise<Array<Record<string, any>>> {
  if (!fs.existsSync(path.join(sandbox.dir, 'repo', 'repo.json'))) return []; // no backup taken yet (a lock alone makes repo/locks)
  const list = await sandbox.run(['backup', 'list', '--json'], { env });
  expect(list.exitCode, list.stderr).toBe(0);
  return list.json().backups;
}
const tenantNames = async (sandbox: Sandbox) =>
  ((await sandbox.run(['tenant', 'list', '--json'])).json().tenants as Array<{ name: string }>).map((t) => t.name);

describe.each([postgres, sqlite])('tenant backups and drop ($label)', (engine) => {
  const run = (args: string[]) => engine.sandbox().run(args, { env });

  async function tenantWith(name: string, rows: Row[]): Promise<void> {
    const created = await run(['tenant', 'create', name]);
    expect(created.exitCode, created.stderr).toBe(0);
    await engine.insert(name, rows);
  }

  it('tenant drop without --confirm (or with another name) is refused with 77 and drops nothing', async () => {
    await tenantWith('keep', seed('keep', 5));
    const bare = await run(['tenant', 'drop', 'keep']);
    expect(bare.exitCode, bare.stderr).toBe(77);
    expect(bare.stderr).toMatch(/--confirm keep/);
    const wrong = await run(['tenant', 'drop', 'keep', '--confirm', 'other']);
    expect(wrong.exitCode, wrong.stderr).toBe(77);
    expect(await engine.rows('keep')).toEqual(seed('keep', 5));
    expect(await tenantNames(engine.sandbox())).toContain('keep');
    expect((await backupsOf(engine.sandbox())).filter((b) => b.manifest?.tenant?.name === 'keep')).toEqual([]);
  });

  it('tenant drop --confirm backs up, then drops; the backup restores the exact rows and the tenant is in the catalog again', async () => {
    const rows = seed('acme', 40);
    await tenantWith('acme', rows);
    const dropped = await run(['tenant', 'drop', 'acme', '--confirm', 'acme', '--json']);
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    const { backup } = dropped.json();
    expect(backup).toBeTruthy();
    expect(await engine.rows('acme')).toBeUndefined();
    expect(await tenantNames(engine.sandbox())).not.toContain('acme');
    const human = await run(['tenant', 'drop', 'acme', '--confirm', 'acme']);
    expect(human.exitCode).not.toBe(0); // gone: nothing to drop twice
    const audited = (await run(['audit', 'list', '--command', 'tenant drop', '--json'])).json().entries as Array<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(audited.find((entry) => entry.exitCode === 0 && entry.details?.tenant === 'acme')?.details).toMatchObject({
      backup,
      container: engine.container('acme'),
    });

    const listed = (await backupsOf(engine.sandbox())).find((b) => b.id === backup);
    expect(listed?.manifest).toMatchObject({
      tenant: { name: 'acme', container: engine.container('acme'), version: '001_items', ledger: [{ name: '001_items' }] },
      tags: ['tenant-drop'],
    });
    expect(Object.values(listed!.manifest.counts)).toContain(40);

    const restored = await run(['backup', 'restore', backup, '--tenant', 'acme', '--json']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(restored.json()).toMatchObject({ tenant: 'acme', registered: true });
    expect(restored.json().previous).toBeUndefined();
    expect(await engine.rows('acme')).toEqual(rows);
    expect(await engine.reachable('acme')).toBe(true);
    const shown = await run(['tenant', 'show', 'acme', '--json']);
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.json()).toMatchObject({ name: 'acme', status: 'active', version: '001_items', pending: [], rows: { items: 40 } });
    const migrate = await run(['tenant', 'migrate', '--all', '--json']);
    expect(migrate.exitCode, migrate.stderr).toBe(0);
    expect(migrate.json()).toMatchObject({ current: expect.any(Number), failed: 0 });
  });

  it('a tenant restore over the existing tenant needs --confirm NAME, replaces its data and keeps the previous data aside', async () => {
    const rows = seed('bolt', 12);
    await tenantWith('bolt', rows);
    const created = await run(['backup', 'create', '--tenant', 'bolt', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = created.json().stores[0].backup.id;
    const list = await run(['backup', 'list']);
    expect(list.stdout).toMatch(new RegExp(`${id}.*bolt`));

    const changed = [...rows.slice(0, 3), { id: 100, name: 'written after the backup' }];
    if (engine === postgres) await pgq(`delete from "${pgPrefix}bolt".items where id > 3`);
    else {
      const db = new Sqlite(liteFile('bolt'));
      db.exec('delete from items where id > 3');
      db.close();
    }
    await engine.insert('bolt', [{ id: 100, name: 'written after the backup' }]);

    // Without --tenant: the manifest says which tenant it holds.
    const refused = await run(['backup', 'restore', id]);
    expect(refused.exitCode, refused.stderr).toBe(77);
    expect(await engine.rows('bolt')).toEqual(changed);

    const restored = await run(['backup', 'restore', id, '--confirm', 'bolt', '--json']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    const outcome = restored.json();
    expect(outcome).toMatchObject({ tenant: 'bolt', registered: false });
    expect(outcome.previous).toMatch(/__pre_restore_/);
    expect(await engine.rows('bolt')).toEqual(rows);
    expect(await engine.previousRows(outcome.previous)).toEqual(changed);
    const show = await run(['tenant', 'show', 'bolt', '--json']);
    expect(show.json().rows.items).toBe(12);
    // What was moved aside is kept data, not a tenant: validate reports no orphan for it.
    const validate = await run(['validate', '--suite', 'tenants', '--json']);
    expect(validate.stdout).not.toMatch(/pre_restore/);
    expect(validate.exitCode, validate.stdout).toBe(0);
  });

  it('tenant drop --no-backup drops without taking a backup', async () => {
    await tenantWith('gone', seed('gone', 3));
    const before = (await backupsOf(engine.sandbox())).length;
    const dropped = await run(['tenant', 'drop', 'gone', '--confirm', 'gone', '--no-backup', '--json']);
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    expect(dropped.json().backup).toBeUndefined();
    expect(await engine.rows('gone')).toBeUndefined();
    expect(await tenantNames(engine.sandbox())).not.toContain('gone');
    expect((await backupsOf(engine.sandbox())).length).toBe(before);
  });

  it('backup create --tenant of an unknown tenant is a clear error and leaves no backup', async () => {
    const before = (await backupsOf(engine.sandbox())).length;
    const result = await run(['backup', 'create', '--tenant', 'ghost']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/No tenant named "ghost"/);
    expect((await backupsOf(engine.sandbox())).length).toBe(before);
  });

  it("a suspended tenant's backup brings it back suspended, its data unreachable by its application until resumed", async () => {
    const rows = seed('sleep', 7);
    await tenantWith('sleep', rows);
    expect((await run(['tenant', 'suspend', 'sleep'])).exitCode).toBe(0);
    expect(await engine.reachable('sleep')).toBe(false);
    const dropped = await run(['tenant', 'drop', 'sleep', '--confirm', 'sleep', '--json']);
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    const restored = await run(['backup', 'restore', dropped.json().backup, '--json']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(restored.json()).toMatchObject({ tenant: 'sleep', status: 'suspended', registered: true });
    expect(await engine.rows('sleep')).toEqual(rows);
    expect(await engine.reachable('sleep')).toBe(false);
    expect((await run(['tenant', 'show', 'sleep', '--json'])).json()).toMatchObject({ status: 'suspended' });
    expect((await run(['tenant', 'resume', 'sleep'])).exitCode).toBe(0);
    expect(await engine.reachable('sleep')).toBe(true);
  });

  it("retention judges each tenant's backups apart from the store's; a store backup is not restored as a tenant", async () => {
    await tenantWith('kite', seed('kite', 6));
    await tenantWith('kiteold', seed('kiteold', 2));
    expect((await run(['tenant', 'drop', 'kiteold', '--confirm', 'kiteold'])).exitCode).toBe(0);
    const store = await run(['backup', 'create', engine.store, '--json']);
    expect(store.exitCode, store.stderr).toBe(0);
    const storeId = store.json().stores[0].backup.id;
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const created = await run(['backup', 'create', engine.store, '--tenant', 'kite', '--json']);
      expect(created.exitCode, created.stderr).toBe(0);
      ids.push(created.json().stores[0].backup.id);
    }
    const plan = await run(['backup', 'prune', '--keep-last', '1', '--dry-run', '--json']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    const keep = (plan.json().keep as Array<{ id: string }>).map((k) => k.id);
    const remove = (plan.json().remove as Array<{ id: string }>).map((r) => r.id);
    expect(keep).toContain(storeId); // the newest store backup, though tenant backups are newer
    expect(keep).toContain(ids[1]);
    expect(remove).toContain(ids[0]);
    // The backups tenant drop took are tagged, and kept.
    const dropBackups = (await backupsOf(engine.sandbox())).filter((b) => b.manifest?.tags.includes('tenant-drop')).map((b) => b.id);
    expect(dropBackups.length).toBeGreaterThan(0);
    for (const id of dropBackups) expect(keep).toContain(id);

    // A tenant backup is in the engine's own format: the restore test and show work on it as on any.
    const verified = await run(['backup', 'verify', ids[1], '--restore-test']);
    expect(verified.exitCode, verified.stderr + verified.stdout).toBe(0);
    expect((await run(['backup', 'show', ids[1]])).stdout).toMatch(new RegExp(`tenant +kite \\(${engine.container('kite')}\\), active`));

    const wrong = await run(['backup', 'restore', storeId, '--tenant', 'kite']);
    expect(wrong.exitCode).toBe(64);
    expect(wrong.stderr).toMatch(/whole store/);
    const otherTenant = await run(['backup', 'restore', ids[1], '--tenant', 'acme']);
    expect(otherTenant.exitCode).toBe(64);
    expect(otherTenant.stderr).toMatch(/holds tenant "kite"/);
  });
});

describe('tenant drop whose backup fails (PostgreSQL)', () => {
  it('drops nothing: the tenant, its rows and its catalog entry stay', async () => {
    const run = (args: string[]) => pgSandbox.run(args, { env });
    expect((await run(['tenant', 'create', 'locked'])).exitCode).toBe(0);
    await postgres.insert('locked', seed('locked', 4));
    // pg_dump waits at most the store's statement timeout for a lock: another session holds the table.
    pgSandbox.writeConfig(
      {
        stores: { main: { engine: 'postgres', url: pgUrlFor(database), statementTimeout: '1s' } },
        tenancy: { store: 'main', prefix: pgPrefix, migrations: 'migrations' },
        backup: { repository: './repo' },
      },
      'impatient.yaml',
    );
    const dropped = await pgAdmin(async (client) => {
      await client.query('begin');
      await client.query(`lock table "${pgPrefix}locked".items in access exclusive mode`);
      try {
        return await run(['tenant', 'drop', 'locked', '--confirm', 'locked', '--config', 'impatient.yaml']);
      } finally {
        await client.query('rollback');
      }
    }, pgUrlFor(database));
    expect(dropped.exitCode).not.toBe(0);
    expect(dropped.stderr).toMatch(/lock/i);
    expect(await postgres.rows('locked')).toEqual(seed('locked', 4));
    expect(await tenantNames(pgSandbox)).toContain('locked');
    expect((await backupsOf(pgSandbox)).filter((b) => b.manifest?.tenant?.name === 'locked')).toEqual([]);
  });
});

describe('tenant restore that fails (PostgreSQL)', () => {
  it('puts the previous schema back, with its rows and its grant, and leaves nothing restored', async () => {
    const run = (args: string[]) => pgSandbox.run(args, { env });
    expect((await run(['tenant', 'create', 'frail'])).exitCode).toBe(0);
    const schema = `${pgPrefix}frail`;
    // A column of a type outside the tenant's schema: once that type is gone, the archive cannot be restored.
    await pgq(`create domain public.tb_positive as integer check (value > 0)`);
    await pgq(`alter table "${schema}".items add column weight public.tb_positive`);
    await pgq(`insert into "${schema}".items (id, name, weight) values (1, 'backed up', 5)`);
    const created = await run(['backup', 'create', '--tenant', 'frail', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    await pgq(`drop domain public.tb_positive cascade`);
    await pgq(`insert into "${schema}".items (id, name) values (2, 'current')`);

    const restored = await run(['backup', 'restore', created.json().stores[0].backup.id, '--confirm', 'frail']);
    expect(restored.exitCode).not.toBe(0);
    expect(restored.stderr).toMatch(/pg_restore/);
    expect(await postgres.rows('frail')).toEqual([
      { id: 1, name: 'backed up' },
      { id: 2, name: 'current' },
    ]);
    expect(await postgres.reachable('frail')).toBe(true);
    expect(await pgq(`select nspname from pg_namespace where nspname like $1`, [`${schema}__pre_restore_%`])).toEqual([]);
  });
});

describe('tenant restore killed with kill -9 (PostgreSQL)', () => {
  it('while pg_restore runs: the tenant is left without its schema (moved aside); the next tenant change rolls it back, rows and grant as before', async () => {
    const run = (args: string[]) => pgSandbox.run(args, { env });
    expect((await run(['tenant', 'create', 'gated'])).exitCode).toBe(0);
    const schema = `${pgPrefix}gated`;
    // A check that waits for an advisory lock the test holds: pg_restore's COPY stops at the first row until it is let go.
    await pgq(
      `create or replace function public.tb_gate(id integer) returns boolean language plpgsql as $$ begin perform pg_advisory_xact_lock(724201); return true; end $$`,
    );
    await pgq(`alter table "${schema}".items add constraint gate check (public.tb_gate(id))`);
    await pgq(`insert into "${schema}".items (id, name) values (1, 'backed up')`);
    const created = await run(['backup', 'create', '--tenant', 'gated', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    await pgq(`insert into "${schema}".items (id, name) values (2, 'current')`);

    const gate = new pg.Client({ connectionString: pgUrlFor(database) });
    await gate.connect();
    try {
      await gate.query('select pg_advisory_lock(724201)');
      const restore = execa(process.execPath, [BIN, 'backup', 'restore', created.json().stores[0].backup.id, '--confirm', 'gated'], {
        cwd: pgSandbox.dir,
        env: { ...pgSandbox.env, ...env, HOME: pgSandbox.dir },
        reject: false,
        stdin: 'ignore',
      });
      // pg_restore's backend waits at the gate: the schema has been moved aside, the restore has not committed.
      const waiting = async () =>
        (await pgq(`select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'`)).length > 0;
      for (let i = 0; i < 300 && !(await waiting()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await waiting()).toBe(true);
      restore.kill('SIGKILL');
      await restore;
    } finally {
      await gate.query('select pg_advisory_unlock_all()');
      await gate.end();
    }
    // pg_restore's transaction ends without a commit once its backend sees its client gone.
    for (let i = 0; i < 100; i++) {
      if ((await pgq(`select 1 from pg_stat_activity where datname = current_database() and application_name = 'pg_restore'`)).length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await postgres.rows('gated')).toBeUndefined(); // what kill -9 leaves: the tenant's schema is aside
    const validate = await run(['validate', '--suite', 'tenants', '--json']);
    expect(validate.exitCode).not.toBe(0);
    expect(validate.stdout).toMatch(/a restore of it from .* was interrupted/);

    const settled = await run(['tenant', 'migrate', '--all']);
    expect(settled.exitCode, settled.stderr).toBe(0);
    expect(settled.stderr).toMatch(/Settled the restore of tenant "gated".*rolled back/);
    expect(await postgres.rows('gated')).toEqual([
      { id: 1, name: 'backed up' },
      { id: 2, name: 'current' },
    ]);
    expect(await postgres.reachable('gated')).toBe(true);
    expect(await pgq(`select nspname from pg_namespace where nspname like $1`, [`${schema}__pre_restore_%`])).toEqual([]);
    // Settled once: the next change has nothing left to settle, and the restore itself now works.
    expect((await run(['tenant', 'migrate', '--all'])).stderr).not.toMatch(/Settled/);
    await pgq(`create or replace function public.tb_gate(id integer) returns boolean language sql as 'select true'`);
    const again = await run(['backup', 'restore', created.json().stores[0].backup.id, '--confirm', 'gated']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await postgres.rows('gated')).toEqual([{ id: 1, name: 'backed up' }]);
  });
});

describe('a tenant restore entry this tool did not write (PostgreSQL)', () => {
  it('is left alone with a warning: the schema it names as "previous" is not renamed', async () => {
    await pgq(`create schema tbvictim; create table tbvictim.keep (id int); insert into tbvictim.keep values (1)`);
    const dir = path.join(pgSandbox.env.XDG_DATA_HOME, 'storage', 'tenant-restores', 'main');
    fs.mkdirSync(dir, { recursive: true });
    const forged = {
      store: 'main',
      tenant: { name: 'ghost', container: 'tb_nowhere', status: 'active', version: null, createdAt: '2026-01-01T00:00:00Z', migratedAt: null, ledger: [] },
      backup: 'forged',
      previous: 'tbvictim',
      facts: { existing: 'tbvictim_renamed', granted: false, createdRole: false, roleExists: false },
      startedAt: '2026-01-01T00:00:00Z',
      command: 'forged',
      pid: 1,
      host: 'elsewhere',
    };
    fs.writeFileSync(path.join(dir, 'ghost.json'), JSON.stringify(forged));
    const run = await pgSandbox.run(['tenant', 'migrate', '--all'], { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/Left alone a tenant restore entry/);
    expect(await pgq(`select id from tbvictim.keep`)).toEqual([{ id: 1 }]);
    await pgq(`drop schema tbvictim cascade`);
  });
});
