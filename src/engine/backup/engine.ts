// What each engine's backup implements: dump a store into payload files, restore them into a
// database, and count rows/documents for restore tests.
import type { ResolvedStore } from '../config/load.js';
import type { Provider } from '../providers/types.js';
import type { RestoreJournalEntry, RestorePhase } from '../restore-journal.js';
import type { BackupManifest, PayloadFile } from './manifest.js';

export interface Progress {
  /** A step begins; the returned function ends it with an optional detail. */
  step(title: string): (detail?: string) => void;
  warn(message: string): void;
}

export const silentProgress: Progress = { step: () => () => undefined, warn: () => undefined };

export interface DumpContext {
  store: ResolvedStore;
  provider: Provider;
  backupId: string;
  /** The backup's directory in the repository. */
  dir: string;
  /** A private scratch directory, removed afterwards. */
  scratch: string;
  key?: Buffer;
  /** gzip the payload (backup.compression; PostgreSQL archives are compressed by pg_dump itself). */
  compress: boolean;
  progress: Progress;
}

export interface DumpResult {
  database: string;
  payloadFormat: BackupManifest['payloadFormat'];
  files: PayloadFile[];
  counts: Record<string, number>;
  serverVersion: string;
  dumpTool?: string;
}

export interface RestoreContext {
  manifest: BackupManifest;
  dir: string;
  key?: Buffer;
  store: ResolvedStore;
  provider: Provider;
  /** The database (or SQLite database name) to restore into. */
  database: string;
  /**
   * Where the restore writes first, renamed to `database` only once complete, so a killed restore
   * never leaves half a database under the requested name. Equal to `database` for a throwaway
   * target (restore tests) and for MongoDB, which cannot rename a database (it marks it instead).
   */
  staged: string;
  /** Set when `database` exists and the operator confirmed replacing it: where its data is kept. */
  previous?: string;
  /** Other sessions on (users of) the database being replaced: terminate/ignore them instead of refusing. */
  force: boolean;
  /** Records the restore's phase; called before the staged copy is made, and again before the swap. */
  journal(phase: RestorePhase): void;
  /** A private scratch directory, removed afterwards (and swept by the next command if this run dies). */
  scratch: string;
  progress: Progress;
  parallel?: number;
}

export interface RestoreResult {
  database: string;
  /** Where the replaced data was kept, when a restore replaced an existing database. */
  previous?: string;
}

export interface EngineBackup {
  dump(context: DumpContext): Promise<DumpResult>;
  restore(context: RestoreContext): Promise<RestoreResult>;
  /** Whether the database exists and holds anything (any existing database needs confirmation to be replaced). */
  targetState(provider: Provider, database: string): Promise<'absent' | 'empty' | 'non-empty'>;
  count(provider: Provider, database: string): Promise<Record<string, number>>;
  drop(provider: Provider, database: string): Promise<void>;
  /** Settles what an interrupted restore left (its journal entry says what); says what was done. */
  settleRestore(provider: Provider, entry: RestoreJournalEntry): Promise<string | undefined>;
  /** Databases the server itself needs: never a restore target. */
  systemDatabases: readonly string[];
  /** The engine cannot rename a database (MongoDB): a restore writes into the new database itself, marked unfinished until done. */
  restoresInPlace?: boolean;
  /** What the engine calls what a backup counts: tables or collections. */
  countedThings: { one: string; many: string };
}

export async function engineBackup(engine: ResolvedStore['engine']): Promise<EngineBackup> {
  switch (engine) {
    case 'sqlite':
      return (await import('./sqlite.js')).sqliteBackup;
    case 'postgres':
      return (await import('./postgres.js')).postgresBackup;
    case 'mongodb':
      return (await import('./mongodb.js')).mongoBackup;
  }
}
