// The store list: every configured store with its engine, masked target and reachability.
import type { Engine } from '../config/schema.js';
import type { Fleet } from '../fleet.js';
import { storeTarget } from '../engines/target.js';
import { checkHealth } from './health.js';

export interface StoreListing {
  store: string;
  engine: Engine;
  target: string;
  reachable: boolean | null;
  latencyMs: number | null;
  error: string | null;
}

export async function listStores(fleet: Fleet, options: { probe: boolean }): Promise<StoreListing[]> {
  const stores = fleet.select([]);
  if (!options.probe) {
    return stores.map((store) => ({ store: store.name, engine: store.engine, target: storeTarget(store), reachable: null, latencyMs: null, error: null }));
  }
  const health = await checkHealth(fleet, stores);
  return health.map((entry) => ({
    store: entry.store,
    engine: entry.engine,
    target: entry.target,
    reachable: entry.status === 'up',
    latencyMs: entry.latencyMs,
    error: entry.error ? entry.error.code : null,
  }));
}
