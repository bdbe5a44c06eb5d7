// What each engine's snapshot implements.
import type { ResolvedStore } from '../config/load.js';
import type { Provider } from '../providers/types.js';
import type { RestorePhase } from '../restore-journal.js';
import type { SnapshotRecord, SnapshotRestoring } from './catalog.js';

export interface TableStat {
  rows: number;
  sizeBytes: number | null;
}

export interface SnapshotEngine {
  /** The database a store's snapshots copy by default. */
  defaultDatabase(provider: Provider): Promise<string>;
  create(
    provider: Provider,
    source: string,
    copy: string,
    options: { force: boolean },
  ): Promise<{ method: SnapshotRecord['method']; sizeBytes: number | null; note?: string }>;
  /**
   * Stages a copy of the snapshot, then swaps it in; `previous` keeps the data it replaced. Calls
   * `journal('staging')` before making any copy and `journal('swapping')` before touching the
   * database; other sessions on it are refused unless `force`, which terminates them.
   */
  restore(
    provider: Provider,
    record: SnapshotRecord,
    names: { staged: string; previous: string },
    journal: (phase: RestorePhase) => void,
    options: { force: boolean },
  ): Promise<void>;
  /** Settles what a killed restore from `record` left (see restore-journal's rule); says what was done. */
  settleRestore(provider: Provider, record: SnapshotRecord, restoring: SnapshotRestoring): Promise<string | undefined>;
  exists(provider: Provider, copy: string): Promise<boolean>;
  drop(provider: Provider, copy: string): Promise<void>;
  stats(provider: Provider, database: string): Promise<Record<string, TableStat>>;
}

export async function snapshotEngine(engine: ResolvedStore['engine']): Promise<SnapshotEngine> {
  switch (engine) {
    case 'postgres':
      return (await import('./postgres.js')).postgresSnapshots;
    case 'mongodb':
      return (await import('./mongodb.js')).mongoSnapshots;
    case 'sqlite':
      return (await import('./sqlite.js')).sqliteSnapshots;
  }
}
