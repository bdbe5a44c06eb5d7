// Health of stores, probed concurrently: N stores take about as long as the slowest one.
import type { Engine } from '../config/schema.js';
import type { ResolvedStore } from '../config/load.js';
import { StorageError, type ErrorCode } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { describeFailure } from '../providers/failures.js';
import { storeTarget } from '../providers/target.js';
import type { StoreRole } from '../providers/types.js';
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
  return Promise.all(stores.map((store) => probeStore(fleet, store, breakers?.get(store.name))));
}

/**
 * The error a health run ends with: none when every store is up; PARTIAL (exit 2) when some are
 * up and some down; otherwise the first store's own failure (69 unreachable, 78 bad auth...).
 */
export function healthOutcome(results: StoreHealth[]): StorageError | undefined {
  const down = results.filter((result) => result.status === 'down');
  if (down.length === 0) return undefined;
  const names = down.map((result) => result.store).join(', ');
  const first = down[0].error!;
  if (down.length < results.length) {
    return new StorageError('PARTIAL', `${down.length} of ${results.length} stores are down: ${names}.`, {
      hint: 'Each store that is down is listed with its reason and hint.',
    });
  }
  const message = down.length === 1 ? first.message : `All ${down.length} stores are down: ${names}. First: ${first.message}`;
  return new StorageError(first.code as ErrorCode, message, { hint: first.hint });
}
