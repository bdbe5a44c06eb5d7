// What each engine's snapshot implements.
import type { ResolvedStore } from '../config/load.js';
import type { Provider } from '../providers/types.js';
import type { SnapshotRecord } from './catalog.js';

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
  /** Stages a copy of the snapshot, then swaps it in; `previous` keeps the data it replaced. */
  restore(provider: Provider, record: SnapshotRecord, names: { staged: string; previous: string }, journal: () => void): Promise<void>;
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
