// What MongoDB driver errors mean: network and server-selection errors are retried, error codes
// 18 (AuthenticationFailed) and 13 (Unauthorized) are wrong credentials.
import type { FailureRules } from '../spec.js';

const AUTH = new Set([18, 13]);

export const mongoFailures: FailureRules = {
  isTransient(error) {
    if (/MongoNetwork|MongoServerSelection|MongoNetworkTimeout/.test((error as { name?: string })?.name ?? '')) return true;
    const labels = (error as { errorLabels?: unknown })?.errorLabels;
    return labels instanceof Set ? labels.has('RetryableWriteError') : Array.isArray(labels) && labels.includes('RetryableWriteError');
  },
  isAuthFailure: (error) =>
    AUTH.has((error as { code?: unknown })?.code as number) || /authentication failed|auth(entication)? error/i.test(String((error as Error)?.message ?? '')),
  describe: () => undefined,
  hintFor: () => undefined,
};
