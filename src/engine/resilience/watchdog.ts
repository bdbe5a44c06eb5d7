// Notices a server that stopped answering while long work waits on it: an open connection to a
// stopped (SIGSTOP) or partitioned server waits forever, so long runs probe the server now and
// then on a fresh connection and give up after a few probes in a row find no answer.
import { isStorageError } from '../errors.js';

export interface WatchdogOptions {
  /** Time between probes. */
  intervalMs: number;
  /** Probes in a row that must find no answer before the server counts as gone. */
  misses: number;
}

/** True for a probe failure that means "no answer" (rather than a refusal, which the work itself sees). */
export function isNoAnswer(error: unknown): boolean {
  return isStorageError(error) && error.code === 'TIMEOUT';
}

/** Starts probing; calls `onGone` once with the last probe's error. Returns a function that stops it. */
export function watchServer(probe: () => Promise<void>, options: WatchdogOptions, onGone: (error: unknown) => void): () => void {
  let stopped = false;
  let missed = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    try {
      await probe();
      missed = 0;
    } catch (error) {
      missed = isNoAnswer(error) ? missed + 1 : 0;
      if (missed >= options.misses && !stopped) {
        stopped = true;
        onGone(error);
        return;
      }
    }
    if (!stopped) timer = setTimeout(tick, options.intervalMs);
  };
  timer = setTimeout(tick, options.intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
