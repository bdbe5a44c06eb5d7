// Retries transient failures with full-jitter exponential backoff: each wait is a random time
// between 0 and min(maxDelay, base * 2^attempt). Anything not transient fails at once, and no
// attempt starts that could not finish before the deadline.
import { systemClock, type Clock } from './clock.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Overall budget in ms from the first attempt; no new attempt starts past it. */
  deadlineMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2000 };

export interface RetryOptions {
  policy?: Partial<RetryPolicy>;
  isTransient: (error: unknown) => boolean;
  clock?: Clock;
  random?: () => number;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  signal?: AbortSignal;
}

export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.policy };
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const started = clock.now();
  let lastDuration = 0;
  for (let attempt = 0; ; attempt++) {
    const attemptStart = clock.now();
    try {
      return await operation(attempt);
    } catch (error) {
      lastDuration = clock.now() - attemptStart;
      if (!options.isTransient(error) || attempt + 1 >= policy.attempts) throw error;
      const delayMs = backoffDelay(attempt, policy, random);
      if (policy.deadlineMs !== undefined) {
        const projected = clock.now() + delayMs + lastDuration - started;
        if (projected > policy.deadlineMs) throw error;
      }
      options.onRetry?.({ attempt: attempt + 1, delayMs, error });
      await clock.sleep(delayMs, options.signal);
    }
  }
}
