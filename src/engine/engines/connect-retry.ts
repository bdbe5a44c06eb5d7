// The retry policy every provider uses when it connects: transient failures are retried with
// full-jitter backoff, but never past the store's connect budget, so a dead store costs about
// one connect timeout, not the sum of many.
import type { ResolvedStore } from '../config/load.js';
import { retry, type RetryPolicy } from '../resilience/retry.js';
import { describeFailure, isTransient } from './failures.js';

export interface ConnectRetryOptions {
  policy?: Partial<RetryPolicy>;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

export async function withConnectRetry<T>(store: ResolvedStore, operation: () => Promise<T>, options: ConnectRetryOptions = {}): Promise<T> {
  try {
    return await retry(operation, {
      isTransient,
      policy: { attempts: 4, baseDelayMs: 200, maxDelayMs: 2000, deadlineMs: Math.round(store.connectTimeoutMs * 1.5), ...options.policy },
      onRetry: options.onRetry,
    });
  } catch (error) {
    throw describeFailure(store, error);
  }
}
