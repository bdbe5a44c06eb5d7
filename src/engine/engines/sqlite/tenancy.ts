// Tenants on SQLite: a file per tenant in a directory (default: `tenants/` beside the store's
// file), each with its own migration ledger (table `storage_migrations`, written in the same
// transaction as the migration), and a catalog with a copy of every ledger in the store's own
// file (one read for `tenant list` and migrate-all). The tenant's file is the truth: a crash
// between its commit and the catalog's is caught up by the next migrate. Suspending moves the file
// aside (`suspended/`), read-only.
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { SqliteProvider } from './provider.js';
import { createFileWithMode, moveWithSideFiles, refuseSymlinkedFile, removeWithSideFiles } from './provider.js';
import type { AppliedMigration, TenancyCapability, TenancySettings, TenantMigration, TenantRecord } from '../spec.js';
import { tenantFromRow } from '../../tenant/records.js';
import { onCleanup } from '../../cleanup.js';
import { StorageError } from '../../errors.js';
import { fsyncDir, fsyncFile } from '../../system/files.js';
import { openDatabase } from './driver.js';
import { realFile } from './real-file.js';

const TENANTS = 'storage_tenants';
const LEDGER = 'storage_tenant_migrations';
const OWN_LEDGER = 'storage_migrations';

function directoryOf(provider: SqliteProvider, settings: TenancySettings): string {
  // Beside the store's file as configured: through a link to the file, where the operator put the link.
  return settings.directory ?? path.join(path.dirname(provider.configuredFile), 'tenants');
}

function fileOf(provider: SqliteProvider, settings: TenancySettings, container: string, status: TenantRecord['status'] = 'active'): string {
  const dir = directoryOf(provider, settings);
  return status === 'suspended' ? path.join(dir, 'suspended', `${container}.db`) : path.join(dir, `${container}.db`);
}

async function catalogDb(provider: SqliteProvider): Promise<Database> {
  const db = await provider.handle();
  db.exec(`create table if not exists ${TENANTS} (name text primary key, container text not null unique, status text not null default 'active',
      version text, created_at text not null, migrated_at text);
    create table if not exists ${LEDGER} (tenant text not null, name text not null, checksum text not null, applied_at text not null, primary key (tenant, name))`);
  return db;
}

async function openTenant(file: string, settings: TenancySettings, options: { building?: boolean } = {}): Promise<Database> {
  const db = openDatabase(file, { fileMustExist: true, timeout: settings.lockTimeoutMs });
  // A file being built under its temporary name is not trusted until it is fsynced and renamed: no journal, no syncs until then.
  if (options.building) db.exec('pragma journal_mode = off; pragma synchronous = off');
  db.exec(`create table if not exists ${OWN_LEDGER} (name text primary key, checksum text not null, applied_at text not null)`);
  return db;
}

/** Applies the migrations the tenant's own ledger lacks, in one immediate transaction; returns those its ledger now holds. */
function applyIn(db: Database, migrations: TenantMigration[]): Array<{ name: string; checksum: string; applied_at: string }> {
  const have = new Set((db.prepare(`select name from ${OWN_LEDGER}`).all() as Array<{ name: string }>).map((row) => row.name));
  const todo = migrations.filter((migration) => !have.has(migration.name));
  if (todo.length) {
    const now = new Date().toISOString();
    const record = db.prepare(`insert into ${OWN_LEDGER} (name, checksum, applied_at) values (?, ?, ?)`);
    db.transaction(() => {
      for (const migration of todo) {
        db.exec(migration.body);
        record.run(migration.name, migration.checksum, now);
      }
    }).immediate();
  }
  return db.prepare(`select name, checksum, applied_at from ${OWN_LEDGER} order by name`).all() as Array<{
    name: string;
    checksum: string;
    applied_at: string;
  }>;
}

/** Copies a tenant's own ledger into the catalog, with its version. */
function recordLedger(catalog: Database, tenant: string, ledger: Array<{ name: string; checksum: string; applied_at: string }>): void {
  const upsert = catalog.prepare(`insert or replace into ${LEDGER} (tenant, name, checksum, applied_at) values (?, ?, ?, ?)`);
  catalog.transaction(() => {
    for (const entry of ledger) upsert.run(tenant, entry.name, entry.checksum, entry.applied_at);
    const last = ledger.at(-1);
    if (last) catalog.prepare(`update ${TENANTS} set version = ?, migrated_at = ? where name = ?`).run(last.name, last.applied_at, tenant);
  })();
}

/**
 * Refuses to suspend or resume a tenant whose file is a symlink (moved to another volume, a link
 * left in its place). Moving the link breaks a relative one and leaves the data where it is, still
 * writable; moving the real file into suspended/ may cross file systems. Nothing is touched here.
 */
function refuseLinkedTenantFile(provider: SqliteProvider, tenant: string, file: string, action: 'suspend' | 'resume'): void {
  if (!fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) return;
  const real = realFile(file);
  throw new StorageError(
    'USAGE',
    `Refusing to ${action} tenant "${tenant}": its file ${file} is a symbolic link to ${real}, and moving the link would leave the data where it is; nothing was changed.`,
    {
      hint: `Move ${real} (with its -wal and -shm files) into ${path.dirname(file)} in place of the link, then run again.`,
      details: { store: provider.store.name, tenant, path: file, realPath: real },
    },
  );
}

export const sqliteTenancy: TenancyCapability<SqliteProvider> = {
  strategy: 'file',
  migrationExtension: '.sql',
  suspendMeans: "the tenant's file is moved to suspended/ and made read-only (an application opening tenants/NAME.db no longer finds it)",

  containerProblem(container) {
    if (Buffer.byteLength(container) > 200) return `${Buffer.byteLength(container)} bytes, over the 200 kept for a file name`;
    return undefined;
  },

  async catalog(provider) {
    const db = await catalogDb(provider);
    return (db.prepare(`select * from ${TENANTS} order by name`).all() as Array<Record<string, unknown>>).map(tenantFromRow);
  },

  async ledger(provider) {
    const db = await catalogDb(provider);
    return (db.prepare(`select tenant, name, checksum, applied_at from ${LEDGER} order by tenant, name`).all() as Array<Record<string, string>>).map(
      (row): AppliedMigration => ({ tenant: row.tenant, name: row.name, checksum: row.checksum, appliedAt: row.applied_at }),
    );
  },

  async containers(provider, settings) {
    const found: string[] = [];
    // replaced/ (files a tenant restore moved aside) is kept data, not tenants.
    for (const dir of [directoryOf(provider, settings), path.join(directoryOf(provider, settings), 'suspended')])
      if (fs.existsSync(dir))
        for (const file of fs.readdirSync(dir)) if (file.endsWith('.db') && file.startsWith(settings.prefix)) found.push(file.slice(0, -3));
    return [...new Set(found)].sort();
  },

  async provision(provider, tenant, migrations, settings) {
    const catalog = await catalogDb(provider);
    const file = fileOf(provider, settings, tenant.container);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if (fs.existsSync(file) || fs.existsSync(fileOf(provider, settings, tenant.container, 'suspended')))
      throw new StorageError('ALREADY_EXISTS', `${file} exists but the catalog has no tenant "${tenant.name}".`, {
        hint: '`storage validate --suite tenants` reports it as an orphan; move it away (or remove it) and create the tenant again.',
      });
    // Built under a temporary name and renamed once migrated: a crash never leaves a half-made tenant under its name.
    const building = `${file}.creating`;
    removeWithSideFiles(building);
    fs.closeSync(createFileWithMode(building, 0o600));
    const db = await openTenant(building, settings, { building: true });
    let ledger;
    try {
      ledger = applyIn(db, migrations);
    } catch (error) {
      db.close();
      removeWithSideFiles(building);
      throw error;
    }
    db.close();
    fsyncFile(building);
    moveWithSideFiles(building, file);
    fsyncDir(path.dirname(file));
    const now = new Date().toISOString();
    catalog.transaction(() => {
      catalog.prepare(`insert into ${TENANTS} (name, container, created_at) values (?, ?, ?)`).run(tenant.name, tenant.container, now);
      recordLedger(catalog, tenant.name, ledger);
    })();
    return tenantFromRow(catalog.prepare(`select * from ${TENANTS} where name = ?`).get(tenant.name) as Record<string, unknown>);
  },

  async migrate(provider, tenant, pending, settings) {
    const catalog = await catalogDb(provider);
    const file = fileOf(provider, settings, tenant.container, tenant.status);
    // A suspended tenant's file is read-only (0400): writable while it is migrated, read-only again after.
    const suspended = tenant.status === 'suspended';
    if (suspended) fs.chmodSync(file, 0o600);
    try {
      const db = await openTenant(file, settings);
      try {
        recordLedger(catalog, tenant.name, applyIn(db, pending));
      } finally {
        db.close();
      }
    } finally {
      if (suspended) fs.chmodSync(file, 0o400);
    }
  },

  async setStatus(provider, tenant, status, settings) {
    const catalog = await catalogDb(provider);
    const from = fileOf(provider, settings, tenant.container, tenant.status);
    const to = fileOf(provider, settings, tenant.container, status);
    refuseLinkedTenantFile(provider, tenant.name, from, status === 'suspended' ? 'suspend' : 'resume');
    fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
    if (fs.existsSync(from)) {
      moveWithSideFiles(from, to);
      fs.chmodSync(to, status === 'suspended' ? 0o400 : 0o600);
      fsyncDir(path.dirname(to));
    }
    catalog.prepare(`update ${TENANTS} set status = ? where name = ?`).run(status, tenant.name);
  },

  async drop(provider, tenant, settings) {
    const catalog = await catalogDb(provider);
    removeWithSideFiles(fileOf(provider, settings, tenant.container, tenant.status));
    catalog.transaction(() => {
      catalog.prepare(`delete from ${LEDGER} where tenant = ?`).run(tenant.name);
      catalog.prepare(`delete from ${TENANTS} where name = ?`).run(tenant.name);
    })();
  },

  async stats(provider, tenant, settings) {
    const file = fileOf(provider, settings, tenant.container, tenant.status);
    const db = openDatabase(file, { readonly: true, fileMustExist: true });
    try {
      const rows: Record<string, number> = {};
      const tables = db
        .prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name <> ? order by name`)
        .all(OWN_LEDGER) as Array<{
        name: string;
      }>;
      for (const table of tables) rows[table.name] = (db.prepare(`select count(*) as n from "${table.name.replace(/"/g, '""')}"`).get() as { n: number }).n;
      return { bytes: fs.statSync(file).size, rows };
    } finally {
      db.close();
    }
  },

  async dumpTenant(context, tenant, settings) {
    const { dumpSqlite } = await import('./backup.js');
    const { HeldFiles } = await import('./held-files.js');
    const file = fileOf(context.provider, settings, tenant.container, tenant.status);
    if (!fs.existsSync(file))
      throw new StorageError('NOT_FOUND', `Tenant "${tenant.name}"'s file ${file} is missing.`, {
        hint: '`storage validate --suite tenants` compares the catalog with the files.',
      });
    // Read-only: a suspended tenant's file is 0400, and a backup never writes to what it copies.
    const db = openDatabase(file, { readonly: true, fileMustExist: true, timeout: settings.lockTimeoutMs });
    const held = new HeldFiles();
    try {
      return { ...(await dumpSqlite(db, context, held)), database: tenant.container };
    } finally {
      db.close();
      held.closeAll(); // after the connection: closing the file first would drop its locks
    }
  },

  // The file is written beside its place under a name no tenant has (…restoring), checked with
  // integrity_check and fsynced; the tenant's current file (active or suspended) moves to
  // replaced/ (kept), the restored one is renamed into place (suspended/, read-only, when the
  // backup was of a suspended tenant) and the catalog and its ledger copy are set to the backup's.
  async restoreTenant({ manifest, dir, key, provider, tenant, current, previous, settings, progress }) {
    const { restoreSqliteFile } = await import('./backup.js');
    const catalog = await catalogDb(provider);
    const target = fileOf(provider, settings, tenant.container, tenant.status);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    const staged = `${fileOf(provider, settings, tenant.container)}.restoring`;
    for (const file of [
      target,
      ...(['active', 'suspended'] as const).map((status) => fileOf(provider, settings, current?.container ?? tenant.container, status)),
    ])
      refuseSymlinkedFile(file, provider.store.name, `restore tenant "${tenant.name}"`, "replace the link with the tenant's real file first.");
    let done = progress.step('read, check and decrypt the tenant file into a staging file');
    removeWithSideFiles(staged); // an interrupted earlier restore's (the store's lock is ours)
    await restoreSqliteFile({ manifest, dir, key }, staged, 0o600);
    done();
    const container = current?.container ?? tenant.container;
    const replacedDir = path.join(directoryOf(provider, settings), 'replaced');
    const existing = (['active', 'suspended'] as const).map((status) => fileOf(provider, settings, container, status)).filter((file) => fs.existsSync(file));
    const moved: Array<{ from: string; to: string }> = [];
    let placed = false;
    // As it was: the restored file goes, the tenant's own file(s) come back (also when interrupted).
    const undo = () => {
      if (placed) removeWithSideFiles(target);
      removeWithSideFiles(staged);
      for (const { from, to } of moved.reverse()) moveWithSideFiles(to, from);
      moved.length = 0;
      placed = false;
    };
    const unregister = onCleanup(`put tenant "${tenant.name}"'s file back as it was before the restore`, async () => undo());
    done = progress.step(`put ${path.basename(target)} in place`);
    try {
      for (const [i, from] of existing.entries()) {
        fs.mkdirSync(replacedDir, { recursive: true, mode: 0o700 });
        const to = path.join(replacedDir, `${previous}${i === 0 ? '' : `_${i}`}.db`);
        moveWithSideFiles(from, to);
        moved.push({ from, to });
      }
      fs.renameSync(staged, target);
      placed = true;
      if (tenant.status === 'suspended') fs.chmodSync(target, 0o400);
      fsyncDir(path.dirname(target));
      const insertLedger = catalog.prepare(`insert into ${LEDGER} (tenant, name, checksum, applied_at) values (?, ?, ?, ?)`);
      catalog.transaction(() => {
        catalog.prepare(`delete from ${LEDGER} where tenant = ?`).run(tenant.name);
        catalog.prepare(`delete from ${TENANTS} where name = ?`).run(tenant.name);
        catalog
          .prepare(`insert into ${TENANTS} (name, container, status, version, created_at, migrated_at) values (?, ?, ?, ?, ?, ?)`)
          .run(tenant.name, tenant.container, tenant.status, tenant.version, tenant.createdAt, tenant.migratedAt);
        for (const entry of tenant.ledger) insertLedger.run(tenant.name, entry.name, entry.checksum, entry.appliedAt);
      })();
    } catch (error) {
      undo();
      throw error;
    } finally {
      unregister();
    }
    const kept = moved[0] && path.relative(directoryOf(provider, settings), moved[0].to);
    done(kept ? `the replaced file is kept as ${kept}` : undefined);
    return { previous: kept };
  },
};
