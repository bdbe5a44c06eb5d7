// Health of stores, probed concurrently: N stores take about as long as the slowest one.
import type { Engine } from '../config/schema.js';
import type { ResolvedStore } from '../config/load.js';
import type { StorageError } from '../errors.js';
import { forEachStore, runOutcome } from '../fanout.js';
import type { Fleet } from '../fleet.js';
import { describeFailure } from '../engines/failures.js';
import { storeTarget } from '../engines/target.js';
import type { StoreRole } from '../engines/provider.js';
import type { CircuitBreaker } from '../resilience/circuit-breaker.js';

export interface StoreHealth {
  store: string;
  engine: Engine;
  target: string;
  status: 'up' | 'down';
  latencyMs: number | null;
  serverVersion: string | null;
  role: StoreRole | null;
  readOnly: boolean | null;
  checkedAt: string;
  error: { code: string; message: string; hint?: string } | null;
}

export async function probeStore(fleet: Fleet, store: ResolvedStore, breaker?: CircuitBreaker): Promise<StoreHealth> {
  const base = { store: store.name, engine: store.engine, target: storeTarget(store), checkedAt: new Date().toISOString() };
  try {
    const probe = async () => (await fleet.provider(store)).health();
    const result = breaker ? await breaker.call(probe) : await probe();
    return {
      ...base,
      status: 'up',
      latencyMs: Math.round(result.latencyMs * 100) / 100,
      serverVersion: result.serverVersion,
      role: result.role,
      readOnly: result.readOnly,
      error: null,
    };
  } catch (error) {
    const failure = describeFailure(store, error);
    return {
      ...base,
      status: 'down',
      latencyMs: null,
      serverVersion: null,
      role: null,
      readOnly: null,
      error: { code: failure.code, message: failure.message, hint: failure.hint },
    };
  }
}

export function checkHealth(fleet: Fleet, stores: ResolvedStore[], breakers?: Map<string, CircuitBreaker>): Promise<StoreHealth[]> {
  return forEachStore(stores, (store) => probeStore(fleet, store, breakers?.get(store.name)));
}

/**
 * The error a health run ends with: none when every store is up; PARTIAL (exit 2) when some are
 * up and some down; otherwise the first store's own failure (69 unreachable, 78 bad auth...).
 */
export function healthOutcome(results: StoreHealth[]): StorageError | undefined {
  const names = (failed: Array<{ store: string }>) => failed.map((result) => result.store).join(', ');
  return runOutcome(
    results.map((result) => ({ store: result.store, failure: result.status === 'down' ? result.error : null })),
    {
      partial: (failed, total) => `${failed.length} of ${total} stores are down: ${names(failed)}.`,
      partialHint: 'Each store that is down is listed with its reason and hint.',
      allFailed: (failed) =>
        failed.length === 1 ? failed[0].failure.message : `All ${failed.length} stores are down: ${names(failed)}. First: ${failed[0].failure.message}`,
    },
  );
}
