// Work a run must undo however it ends: locks to release, scratch to remove, child processes to
// stop. Engine code registers each piece as it takes it; the CLI runs what is left when a signal
// (SIGINT, SIGTERM) interrupts the run, so an interrupted run leaves nothing behind that looks finished.

export type Cleanup = () => void | Promise<void>;

interface Entry {
  what: string;
  run: Cleanup;
}

const pending = new Set<Entry>();
let interrupted = false;

/**
 * True once an interruption has started undoing the run. Work that would make something look
 * finished (a backup's manifest) checks it right before, so nothing completes behind the cleanup.
 */
export function runInterrupted(): boolean {
  return interrupted;
}

/**
 * Registers `run` (described by `what`, e.g. "lock on store main") to be run if the process is
 * interrupted. Returns a function that unregisters it: call it once the work is undone normally.
 */
export function onCleanup(what: string, run: Cleanup): () => void {
  const entry: Entry = { what, run };
  pending.add(entry);
  return () => {
    pending.delete(entry);
  };
}

/** What is still registered, newest last (for the interrupted run's message). */
export function pendingCleanups(): string[] {
  return [...pending].map((entry) => entry.what);
}

/**
 * Runs every registered cleanup once, newest first; a failing cleanup does not stop the others.
 * The run's own work goes on while the cleanups are awaited (it sees runInterrupted() only at its
 * next check), so what it registers meanwhile (a lock taken, a backup started) is run too, until
 * nothing is left. `ran` receives what each pass ran, for the interrupted run's message.
 */
export async function runCleanups(ran?: (what: string) => void): Promise<string[]> {
  interrupted = true;
  const failed: string[] = [];
  while (pending.size > 0) {
    const entries = [...pending].reverse();
    pending.clear();
    for (const entry of entries) {
      ran?.(entry.what);
      try {
        await entry.run();
      } catch (error) {
        failed.push(`${entry.what}: ${(error as Error).message}`);
      }
    }
  }
  return failed;
}
