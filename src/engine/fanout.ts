// Work over several stores: one fan-out (bounded concurrency, results in the order the stores
// were given, one store's failure never stopping the others) and one rule for how such a run
// ends — 0 when every store succeeded, 2 (PARTIAL) when some failed, and the failure's own code
// when all did — for db health, db pools, backup create and every topic that works store by store.
import type { ResolvedStore } from './config/load.js';
import { StorageError, type ErrorCode } from './errors.js';

/** What a store's failed part of a run reports (the shape every per-store outcome carries). */
export interface StoreFailure {
  code: string;
  message: string;
  hint?: string;
}

/**
 * Runs `work` for each store, at most `parallel` at once (all at once by default), and returns
 * the results in the stores' order. `work` turns its own failures into its result; `onResult`
 * sees each result as it arrives (a task list, a live view).
 */
export async function forEachStore<T>(
  stores: ResolvedStore[],
  work: (store: ResolvedStore) => Promise<T>,
  options: { parallel?: number; onResult?: (result: T, store: ResolvedStore) => void } = {},
): Promise<T[]> {
  const results = new Array<T>(stores.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < stores.length; index = next++) {
      results[index] = await work(stores[index]);
      options.onResult?.(results[index], stores[index]);
    }
  };
  const width = Math.max(1, Math.min(options.parallel ?? stores.length, stores.length));
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

export interface RunOutcomeWords {
  /** The message when some stores failed and others did not (exit 2). */
  partial(failed: Array<{ store: string; failure: StoreFailure }>, total: number): string;
  /** The hint then (default: the first failure's own hint). */
  partialHint?: string;
  /** The message when every store failed (default: the first failure's own message). */
  allFailed?(failed: Array<{ store: string; failure: StoreFailure }>): string;
}

/**
 * How a run over several stores ends: undefined (exit 0) when no store failed; PARTIAL (exit 2)
 * when some did; when all did, the first failure with its own code (69 unreachable, 78 bad auth, …).
 */
export function runOutcome(results: Array<{ store: string; failure?: StoreFailure | null }>, words: RunOutcomeWords): StorageError | undefined {
  const failed = results.filter((result): result is { store: string; failure: StoreFailure } => Boolean(result.failure));
  if (failed.length === 0) return undefined;
  const first = failed[0].failure;
  if (failed.length < results.length) return new StorageError('PARTIAL', words.partial(failed, results.length), { hint: words.partialHint ?? first.hint });
  return new StorageError(first.code as ErrorCode, words.allFailed?.(failed) ?? first.message, { hint: first.hint });
}
