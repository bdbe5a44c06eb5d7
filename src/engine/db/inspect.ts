// Store details and connection pools, gathered concurrently across stores.
import type { ResolvedStore } from '../config/load.js';
import type { StorageError } from '../errors.js';
import { forEachStore, runOutcome } from '../fanout.js';
import type { Fleet } from '../fleet.js';
import { describeFailure } from '../engines/failures.js';
import type { PoolStats, StoreInfo } from '../engines/provider.js';

export async function storeInfo(fleet: Fleet, storeName: string): Promise<StoreInfo> {
  const store = fleet.store(storeName);
  return (await fleet.provider(store)).info();
}

export type PoolReport = PoolStats | { store: string; engine: ResolvedStore['engine']; error: { code: string; message: string; hint?: string } };

export function poolReports(fleet: Fleet, stores: ResolvedStore[]): Promise<PoolReport[]> {
  return forEachStore(stores, async (store): Promise<PoolReport> => {
    try {
      return await (await fleet.provider(store)).poolStats();
    } catch (error) {
      const failure = describeFailure(store, error);
      return { store: store.name, engine: store.engine, error: { code: failure.code, message: failure.message, hint: failure.hint } };
    }
  });
}

/** How a pools run ends: see fanout's rule. */
export function poolsOutcome(reports: PoolReport[]): StorageError | undefined {
  return runOutcome(
    reports.map((report) => ({ store: report.store, failure: 'error' in report ? report.error : null })),
    {
      partial: (failed, total) => `${failed.length} of ${total} stores could not report their pools.`,
      partialHint: 'Each failed store is listed above with its own hint.',
    },
  );
}
