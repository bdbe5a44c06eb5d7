// SQLite through better-sqlite3. A "database" of a SQLite store is a file: the store's own file,
// and `db create` makes siblings named <NAME>.db in the same directory.
import fs from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { ResolvedStore } from '../config/load.js';
import type { SqliteStoreConfig } from '../config/schema.js';
import { StorageError } from '../errors.js';
import { describeFailure } from './failures.js';
import { storeTarget } from './target.js';
import type { DatabaseInfo, DropResult, HealthProbe, PoolStats, Provider, Session, StoreInfo } from './types.js';

type Database = BetterSqlite3.Database;
const SIDE_FILES = ['-wal', '-shm', '-journal'];

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function objectCounts(db: Database, schema = 'main'): Record<string, number> {
  const rows = db
    .prepare(`select type, count(*) as n from "${schema.replace(/"/g, '""')}".sqlite_master where name not like 'sqlite_%' group by type`)
    .all() as { type: string; n: number }[];
  const counts: Record<string, number> = { tables: 0, views: 0, indexes: 0, triggers: 0 };
  for (const row of rows) counts[`${row.type}s`.replace('indexs', 'indexes')] = row.n;
  return counts;
}

export class SqliteProvider implements Provider {
  private db?: Database;
  private readonly config: SqliteStoreConfig;

  constructor(readonly store: ResolvedStore) {
    this.config = store.config as SqliteStoreConfig;
  }

  get file(): string {
    return this.config.path;
  }

  /** The store's own database name: its file name without the extension (`app.db` → `app`). */
  get databaseName(): string {
    return path.basename(this.file).replace(/\.(db|sqlite3?|db3)$/i, '');
  }

  private async openFile(file: string, options: { create: boolean; readonly?: boolean }): Promise<Database> {
    const { default: Sqlite } = await import('better-sqlite3');
    if (!options.create && !fs.existsSync(file)) {
      const error = new Error(`no such file: ${file}`) as NodeJS.ErrnoException;
      error.code = 'ENOENT';
      throw error;
    }
    if (options.create) fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Sqlite(file, { readonly: options.readonly ?? false, fileMustExist: !options.create, timeout: this.store.statementTimeoutMs });
    return db;
  }

  /** The store's own connection, opened once per process. */
  async handle(): Promise<Database> {
    if (this.db) return this.db;
    try {
      const db = await this.openFile(this.file, { create: this.store.embedded, readonly: this.config.readonly });
      if (this.store.embedded && !this.config.readonly) db.pragma('journal_mode = WAL');
      // Reading the schema proves the file really is a database.
      db.prepare('select count(*) from sqlite_master').get();
      this.db = db;
      return db;
    } catch (error) {
      throw describeFailure(this.store, error);
    }
  }

  private run<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw describeFailure(this.store, error);
    }
  }

  private isWritable(): boolean {
    if (this.config.readonly) return false;
    try {
      fs.accessSync(this.file, fs.constants.W_OK);
      fs.accessSync(path.dirname(this.file), fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  async health(): Promise<HealthProbe> {
    const db = await this.handle();
    return this.run(() => {
      const started = performance.now();
      const row = db.prepare('select sqlite_version() as version, (select count(*) from sqlite_master) as objects').get() as { version: string };
      const latencyMs = performance.now() - started;
      return { latencyMs, serverVersion: row.version, role: 'standalone', readOnly: !this.isWritable() };
    });
  }

  async listDatabases(): Promise<string[]> {
    const db = await this.handle();
    return this.run(() => (db.pragma('database_list') as { name: string }[]).map((row) => row.name));
  }

  async info(): Promise<StoreInfo> {
    const db = await this.handle();
    return this.run(() => {
      const version = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
      const attached = db.pragma('database_list') as { name: string; file: string }[];
      const databases: DatabaseInfo[] = attached.map((entry) => ({
        name: entry.name === 'main' ? path.basename(this.file) : entry.name,
        sizeBytes: entry.file ? fileSize(entry.file) + fileSize(`${entry.file}-wal`) : null,
        objects: objectCounts(db, entry.name),
        current: entry.name === 'main',
      }));
      return {
        store: this.store.name,
        engine: 'sqlite',
        target: storeTarget(this.store),
        serverVersion: version,
        sizeBytes: databases.reduce((sum, entry) => sum + (entry.sizeBytes ?? 0), 0),
        databases,
        details: {
          journalMode: String(db.pragma('journal_mode', { simple: true })),
          pageSize: Number(db.pragma('page_size', { simple: true })),
          pageCount: Number(db.pragma('page_count', { simple: true })),
          freePages: Number(db.pragma('freelist_count', { simple: true })),
          walBytes: fileSize(`${this.file}-wal`),
        },
      };
    });
  }

  async poolStats(): Promise<PoolStats> {
    const db = await this.handle();
    return this.run(() => {
      const journalMode = String(db.pragma('journal_mode', { simple: true }));
      return {
        store: this.store.name,
        engine: 'sqlite',
        // SQLite has no server: the "pool" is this process's open handle to the file.
        client: { total: db.open ? 1 : 0, idle: db.inTransaction ? 0 : 1, waiting: 0, max: 1 },
        server: { openHandles: db.open ? 1 : 0 },
        details: {
          journalMode,
          walBytes: fileSize(`${this.file}-wal`),
          busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
          readOnly: db.readonly,
        },
      };
    });
  }

  /** The file behind a database name of this store: NAME.db beside the store's file. */
  fileFor(name: string): string {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/.test(name)) {
      throw new StorageError('USAGE', `"${name}" is not a valid SQLite database name.`, {
        hint: "Use letters, digits, - and _ (no paths): the database is created as NAME.db beside the store's file.",
      });
    }
    return path.join(path.dirname(this.file), `${name}.db`);
  }

  async sessions(name: string): Promise<Session[]> {
    const file = this.fileFor(name);
    if (!fs.existsSync(file)) return [];
    // SQLite has no session list; an exclusive lock that cannot be taken means someone holds it.
    const db = await this.openFile(file, { create: false });
    try {
      db.pragma('busy_timeout = 0');
      db.exec('begin exclusive');
      db.exec('rollback');
      return [];
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_BUSY') return [{ id: 'lock', user: null, application: null, client: null, state: 'holds a lock' }];
      throw describeFailure(this.store, error);
    } finally {
      db.close();
    }
  }

  async createDatabase(name: string): Promise<void> {
    const file = this.fileFor(name);
    if (fs.existsSync(file)) {
      throw new StorageError('ALREADY_EXISTS', `Database "${name}" already exists on store "${this.store.name}" (${file}).`, {
        hint: 'Choose another name, or drop it first with `storage db drop`.',
      });
    }
    const db = await this.openFile(file, { create: true });
    try {
      this.run(() => db.pragma('journal_mode = WAL'));
    } finally {
      db.close();
    }
  }

  async dropDatabase(name: string, options: { force: boolean }): Promise<DropResult> {
    const file = this.fileFor(name);
    if (!fs.existsSync(file)) return { database: name, dropped: false, terminatedSessions: 0, reason: 'absent' };
    const holders = await this.sessions(name);
    if (holders.length > 0 && !options.force) {
      throw new StorageError('IN_USE', `Database "${name}" (${file}) is locked by another process.`, {
        hint: 'Stop the process using it, or add --force to delete the file anyway (its users will lose their writes).',
      });
    }
    if (path.resolve(file) === path.resolve(this.file)) await this.close();
    for (const suffix of SIDE_FILES) fs.rmSync(`${file}${suffix}`, { force: true });
    fs.rmSync(file);
    return { database: name, dropped: true, terminatedSessions: 0 };
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    db?.close();
  }
}
