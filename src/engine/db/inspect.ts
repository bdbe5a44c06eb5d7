// Store details and connection pools, gathered concurrently across stores.
import type { ResolvedStore } from '../config/load.js';
import type { Fleet } from '../fleet.js';
import { describeFailure } from '../providers/failures.js';
import type { PoolStats, StoreInfo } from '../providers/types.js';

export async function storeInfo(fleet: Fleet, storeName: string): Promise<StoreInfo> {
  const store = fleet.store(storeName);
  return (await fleet.provider(store)).info();
}

export type PoolReport = PoolStats | { store: string; engine: ResolvedStore['engine']; error: { code: string; message: string; hint?: string } };

export async function poolReports(fleet: Fleet, stores: ResolvedStore[]): Promise<PoolReport[]> {
  return Promise.all(
    stores.map(async (store) => {
      try {
        return await (await fleet.provider(store)).poolStats();
      } catch (error) {
        const failure = describeFailure(store, error);
        return { store: store.name, engine: store.engine, error: { code: failure.code, message: failure.message, hint: failure.hint } };
      }
    }),
  );
}
