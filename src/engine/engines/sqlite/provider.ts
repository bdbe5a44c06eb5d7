// SQLite through better-sqlite3. A "database" of a SQLite store is a file: the store's own file
// (whatever its name: `app.db`, `app.sqlite`, `app`), and `db create` makes siblings named
// <NAME>.db in the same directory; snapshots, restore staging copies and the data a restore
// replaced are such siblings too, so `db info` lists them and `db drop` removes them.
// A store configured through a symlink is worked on where SQLite keeps it (real-file.ts): its
// siblings, side files and every copy, rename and removal are beside the real file, and the link
// is left as it is.
import fs from 'node:fs';
import { isLinkLoop } from '../../system/missing-file.js';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { ResolvedStore } from '../../config/load.js';
import type { SqliteStoreConfig } from '../../config/schema.js';
import { StorageError } from '../../errors.js';
import { ensurePrivateDir } from '../../system/private-dir.js';
import { describeFailure } from '../failures.js';
import { storeTarget } from '../target.js';
import { HeldFiles } from './held-files.js';
import type { DatabaseInfo, DropResult, HealthProbe, PoolStats, Provider, Session, StoreInfo } from '../provider.js';
import { openDatabase } from './driver.js';
import { realFile } from './real-file.js';

type Database = BetterSqlite3.Database;
const SIDE_FILES = ['-wal', '-shm', '-journal'];
/** The database names of a store's sibling files (NAME.db). */
const SIBLING_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/;
const MAX_DATABASES_COUNTED = 20;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0');

/** Whether a file starts with the SQLite header (an empty file is a database SQLite has not written yet). */
function isSqliteFile(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(SQLITE_HEADER.length);
      const read = fs.readSync(fd, head, 0, head.length, 0);
      return read === 0 || head.equals(SQLITE_HEADER);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Moves a database file and its WAL/shared-memory/journal files together, never over another file. */
export function moveWithSideFiles(from: string, to: string): void {
  // rename() would replace `to` silently: data kept aside under that name (by an earlier restore,
  // or put there by hand) would be lost while the run said it kept its own there.
  if (fs.lstatSync(to, { throwIfNoEntry: false })) {
    throw new StorageError('ALREADY_EXISTS', `Refusing to move ${path.basename(from)} to ${to}: that file exists and would be lost; nothing was moved.`, {
      hint: 'It is data kept aside before (or put there by hand): move it away, then run again.',
      details: { from, to },
    });
  }
  // Side files with no database of their own (a crash's) would be taken for the moved file's.
  removeSideFiles(to);
  fs.renameSync(from, to);
  for (const suffix of SIDE_FILES) if (fs.existsSync(`${from}${suffix}`)) fs.renameSync(`${from}${suffix}`, `${to}${suffix}`);
}

/**
 * Refuses to replace a database file that is a symbolic link. A restore renames its new file over
 * the path: over a link that puts a regular file where the link was, and the file the link points at
 * (the one an application opening the link, or the real path, reads) keeps the old data, while the
 * "replaced" copy kept aside is only the link. Nothing is touched when this throws. A store's own
 * file never gets here as a link (the provider resolves it); a NAME.db sibling or a tenant's file can.
 */
export function refuseSymlinkedFile(file: string, store: string, action: string, alternative: string): void {
  let link: fs.Stats;
  try {
    link = fs.lstatSync(file);
  } catch {
    return;
  }
  if (!link.isSymbolicLink()) return;
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    real = `${path.resolve(path.dirname(file), fs.readlinkSync(file))} (which does not exist)`;
  }
  throw new StorageError(
    'USAGE',
    `Refusing to ${action}: ${file} is a symbolic link to ${real}. Replacing it would replace the link with a regular file and leave ${real} with its old data; nothing was changed.`,
    { hint: `Point store "${store}" at the real file (path: ${real}) and run again, or ${alternative}`, details: { store, path: file, realPath: real } },
  );
}

/** Removes what a connection left beside a database file (its WAL, shared memory, journal), keeping the file. */
export function removeSideFiles(file: string): void {
  for (const suffix of SIDE_FILES) fs.rmSync(`${file}${suffix}`, { force: true });
}

/**
 * Removes a database: the file SQLite opens for `file` (a link followed: a tenant's file moved to
 * another volume, say) with the side files beside it, then the link, which would point at nothing.
 * A store's own file comes here resolved already (the provider's `file`): its link, the operator's, stays.
 */
export function removeWithSideFiles(file: string): void {
  const real = realFile(file);
  removeSideFiles(real);
  fs.rmSync(real, { force: true });
  if (real !== path.resolve(file)) fs.rmSync(file, { force: true });
}

/**
 * Creates `file` (which must not exist) with exactly `mode`, whatever the umask, and returns its
 * descriptor: copies keep their source's mode (a 0600 database never yields a 0644 copy), and
 * SQLite gives the WAL and shared-memory files it makes later the database file's mode.
 */
export function createFileWithMode(file: string, mode: number): number {
  const fd = fs.openSync(file, 'wx', 0o600);
  fs.fchmodSync(fd, mode & 0o777);
  return fd;
}

/** Processes on this host that have `file` (or its WAL/shared-memory files) open, from /proc (Linux); empty where there is no /proc. */
function processesWithFileOpen(file: string): Session[] {
  // Files by identity (device and inode), not path: /proc names an open file by its real path, which
  // is not the configured one when that runs through a symlink. SQLite keeps its side files beside the real file.
  let real = file;
  try {
    real = fs.realpathSync(file);
  } catch {
    // Not there (yet): nobody has it open.
  }
  const wanted = new Set<string>();
  for (const suffix of ['', ...SIDE_FILES]) {
    try {
      const stat = fs.statSync(`${real}${suffix}`);
      wanted.add(`${stat.dev}:${stat.ino}`);
    } catch {
      // No such side file.
    }
  }
  if (wanted.size === 0) return [];
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid);
  } catch {
    return [];
  }
  const found: Session[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's process we may not look into (the lock probe still sees it)
    }
    const holds = fds.some((fd) => {
      try {
        const stat = fs.statSync(`/proc/${pid}/fd/${fd}`);
        return wanted.has(`${stat.dev}:${stat.ino}`);
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let command: string | null = null;
    try {
      command = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || null;
    } catch {
      // It exited meanwhile; still worth naming.
    }
    found.push({ id: pid, user: null, application: command, client: null, state: 'has the file open' });
  }
  return found;
}

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

/** Why a store's file that is not there cannot be opened: no such file, or a loop of symbolic links (ELOOP). */
function missingFile(file: string): NodeJS.ErrnoException {
  const loop = isLinkLoop(file);
  const error = new Error(loop ? `a loop of symbolic links: ${file}` : `no such file: ${file}`) as NodeJS.ErrnoException;
  error.code = loop ? 'ELOOP' : 'ENOENT';
  return error;
}

export class SqliteProvider implements Provider {
  private db?: Database;
  private readonly config: SqliteStoreConfig;
  /** Descriptors backups read the file through, closed after the connection (see pages.ts). */
  readonly heldFiles = new HeldFiles();

  constructor(readonly store: ResolvedStore) {
    this.config = store.config as SqliteStoreConfig;
  }

  /** The path as configured (a symlink, or through one, maybe): what the store's database is named after. */
  get configuredFile(): string {
    return this.config.path;
  }

  /**
   * The file SQLite opens for the store, symlinks followed: where its WAL and shared-memory files
   * are, and what every copy, rename and removal works on (resolved on each use: a link re-pointed
   * between commands is followed).
   */
  get file(): string {
    return realFile(this.config.path);
  }

  /** The store's own database name: its file name without the extension (`app.db` → `app`, `app.sqlite` → `app`). */
  get databaseName(): string {
    return path.basename(this.configuredFile).replace(/\.(db|sqlite3?|db3)$/i, '');
  }

  /** The store's file's mode (0600, 0640...), which copies of it keep. */
  fileMode(name = this.databaseName): number {
    try {
      return fs.statSync(this.fileFor(name)).mode & 0o777;
    } catch {
      return 0o600;
    }
  }

  private async openFile(file: string, options: { create: boolean; readonly?: boolean }): Promise<Database> {
    if (!options.create && !fs.existsSync(file)) throw missingFile(file);
    // Only the embedded store's file is ever created in a missing directory: the tool's own data dir.
    if (options.create && !fs.existsSync(path.dirname(file))) ensurePrivateDir(path.dirname(file));
    const db = openDatabase(file, { readonly: options.readonly ?? false, fileMustExist: !options.create, timeout: this.store.statementTimeoutMs });
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
      const started = process.hrtime.bigint(); // not performance.now(): its first use loads perf_hooks (~1 ms of start-up)
      const row = db.prepare('select sqlite_version() as version, (select count(*) from sqlite_master) as objects').get() as { version: string };
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      return { latencyMs, serverVersion: row.version, role: 'standalone', readOnly: !this.isWritable() };
    });
  }

  /** The store's own database and its NAME.db siblings. */
  checkDatabaseName(name: string): void {
    this.fileFor(name);
  }

  async listDatabases(): Promise<string[]> {
    await this.handle();
    return [this.databaseName, ...this.siblings().map((sibling) => sibling.name)];
  }

  /** NAME.db files beside the store's file that are SQLite databases (made by db create, snapshots, restores). */
  private siblings(): Array<{ name: string; file: string }> {
    const own = this.file;
    const dir = path.dirname(own);
    return fs
      .readdirSync(dir)
      .filter((entry) => entry.endsWith('.db') && SIBLING_NAME.test(entry.slice(0, -3)))
      .map((entry) => ({ name: entry.slice(0, -3), file: path.join(dir, entry) }))
      .filter((sibling) => sibling.file !== own && fs.statSync(sibling.file).isFile() && isSqliteFile(sibling.file))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private async siblingInfo(sibling: { name: string; file: string }, count: boolean): Promise<DatabaseInfo> {
    let objects: Record<string, number> | null = null;
    if (count) {
      try {
        const db = await this.openFile(sibling.file, { create: false, readonly: true });
        try {
          objects = objectCounts(db);
        } finally {
          db.close();
        }
      } catch {
        objects = null;
      }
    }
    return { name: path.basename(sibling.file), sizeBytes: fileSize(sibling.file) + fileSize(`${sibling.file}-wal`), objects, current: false };
  }

  async info(): Promise<StoreInfo> {
    const db = await this.handle();
    const siblings = await Promise.all(this.siblings().map((sibling, index) => this.siblingInfo(sibling, index < MAX_DATABASES_COUNTED)));
    return this.run(() => {
      const version = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
      const attached = db.pragma('database_list') as { name: string; file: string }[];
      const databases: DatabaseInfo[] = attached.map((entry) => ({
        name: entry.name === 'main' ? path.basename(this.configuredFile) : entry.name,
        sizeBytes: entry.file ? fileSize(entry.file) + fileSize(`${entry.file}-wal`) : null,
        objects: objectCounts(db, entry.name),
        current: entry.name === 'main',
      }));
      databases.push(...siblings);
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
        capacity: null,
        details: {
          journalMode,
          walBytes: fileSize(`${this.file}-wal`),
          busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
          readOnly: db.readonly,
        },
      };
    });
  }

  /**
   * The file behind a database name of this store: the store's own file for its own name (or its
   * file name), whatever its extension; otherwise NAME.db beside it (`NAME.db` is taken too, as
   * `db info` shows it).
   */
  fileFor(name: string): string {
    const own = this.file;
    if (name === this.databaseName || name === path.basename(this.configuredFile)) return own;
    const bare = name.endsWith('.db') ? name.slice(0, -3) : name;
    if (!SIBLING_NAME.test(bare)) {
      throw new StorageError('USAGE', `"${name}" is not a valid SQLite database name.`, {
        hint: "Use letters, digits, - and _ (no paths): the database is created as NAME.db beside the store's file.",
      });
    }
    return path.join(path.dirname(own), `${bare}.db`);
  }

  /** Whether `name` is the store's own file. */
  isOwn(name: string): boolean {
    return this.fileFor(name) === this.file;
  }

  /**
   * Who else uses a database file. SQLite has no session list: processes of this host with the file
   * open are found in /proc (and named), and a lock probe finds the rest (a reader of a WAL
   * database keeps a shared lock while its connection is open; a writer holds one while it writes).
   */
  async sessions(name: string): Promise<Session[]> {
    const file = this.fileFor(name);
    if (!fs.existsSync(file)) return [];
    // Our own connection to the file would look like another user's.
    if (this.isOwn(name)) await this.close();
    const holders = processesWithFileOpen(file);
    if (holders.length > 0) return holders;
    const db = await this.openFile(file, { create: false });
    try {
      db.pragma('busy_timeout = 0');
      // In exclusive locking mode the probe needs the file to itself, which a WAL reader's shared lock prevents.
      db.pragma('locking_mode = EXCLUSIVE');
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

  /** Refuses (IN_USE, naming the holders) while others use a database file, unless `force`. */
  async refuseIfInUse(name: string, options: { force: boolean; action: string; consequence: string }): Promise<void> {
    if (options.force) return;
    const holders = await this.sessions(name);
    if (holders.length === 0) return;
    const who = holders
      .map((holder) => (holder.id === 'lock' ? 'a connection holding a lock' : `pid ${holder.id}${holder.application ? ` (${holder.application})` : ''}`))
      .join(', ');
    throw new StorageError(
      'IN_USE',
      `Database "${name}" (${this.fileFor(name)}) is in use by ${who}; ${options.action} while it is open would cost them their next writes.`,
      {
        hint: `Stop those processes first, or add --force to go ahead anyway (${options.consequence}).`,
        details: { sessions: holders },
      },
    );
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
    await this.refuseIfInUse(name, { force: options.force, action: 'dropping it', consequence: 'its users will lose their writes' });
    if (this.isOwn(name)) await this.close();
    removeWithSideFiles(file);
    return { database: name, dropped: true, terminatedSessions: 0 };
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    db?.close();
    // Only now: closing a descriptor of the file would drop the connection's locks (POSIX record locks are per process).
    this.heldFiles.closeAll();
  }
}
