// What each engine's backup implements: dump a store into payload files, restore them into a
// database, and count rows/documents for restore tests.
import type { ResolvedStore } from '../config/load.js';
import type { Provider } from '../providers/types.js';
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
  /** True when the target exists and the operator confirmed replacing it. */
  replace: boolean;
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
  /** Whether the database exists and holds anything. */
  targetState(provider: Provider, database: string): Promise<'absent' | 'empty' | 'non-empty'>;
  count(provider: Provider, database: string): Promise<Record<string, number>>;
  drop(provider: Provider, database: string): Promise<void>;
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
