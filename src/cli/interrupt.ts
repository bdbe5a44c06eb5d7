// Interrupted runs. SIGINT (Ctrl-C) and SIGTERM (a service manager, `timeout`, `kill`) stop a command
// cleanly: what the engine registered as it went (locks, unfinished backups, scratch, child
// processes) is undone, one line on stderr says what stopped, what was cleaned up and what is left,
// the audit log gets an `interrupted` entry, and the exit code is 130 / 143, as a shell reports a
// command killed by that signal (pgBackRest and restic also stop cleanly and exit non-zero).
// SIGHUP is left alone: `nohup` relies on it being ignored.
import { pendingCleanups, runCleanups } from '../engine/cleanup.js';
import { ExitCode } from '../engine/errors.js';
import { redact } from '../engine/redact.js';
import { renderJson, silenceOutput, terminalSafe } from '../ui/output.js';

const EXIT_CODES = { SIGINT: ExitCode.interrupted, SIGTERM: ExitCode.terminated } as const;
export type StopSignal = keyof typeof EXIT_CODES;

export interface Interruption {
  signal: StopSignal;
  exitCode: number;
  /** The one line printed. */
  message: string;
}

export interface InterruptHooks {
  /** The command line, as the message shows it. */
  command(): string;
  json(): boolean;
  /** What the run leaves that the operator should know about (e.g. the backups that did complete). */
  left(): string | undefined;
  /** Records the interruption (the audit entry of a mutating command). */
  record(interruption: Interruption): Promise<void>;
}

let stopping: Promise<never> | undefined;

/** The interruption under way, if any: awaiting it never returns (the process exits at its end). */
export function interruption(): Promise<never> | undefined {
  return stopping;
}

function list(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

async function stop(signal: StopSignal, hooks: InterruptHooks): Promise<never> {
  const exitCode = EXIT_CODES[signal];
  process.exitCode = exitCode;
  // From here the command's own output (a result table, a failure caused by the signal) is noise.
  silenceOutput();
  const undone: string[] = [];
  const failed = await runCleanups((what) => undone.push(what));
  // The task list's unfinished tasks end as interrupted, so the last frame on the terminal is true.
  // Imported here, not at start-up: a run that opened a task list has loaded it already (no wait),
  // and one that did not (db health, every --json run) never pays for loading it.
  await settleWithin(
    import('../ui/task-list.js').then(({ closeOpenFlows }) => closeOpenFlows('interrupted')),
    2000,
  );
  // The run's work went on meanwhile: what it took since (the store's lock) is undone as well.
  failed.push(...(await runCleanups((what) => undone.push(what))));
  const parts = [`Interrupted by ${signal}: ${hooks.command()} stopped`];
  const cleaned = undone.filter((what) => !failed.some((failure) => failure.startsWith(`${what}: `)));
  parts.push(cleaned.length > 0 ? `cleaned up ${list(cleaned)}` : 'nothing was in progress to clean up');
  if (failed.length > 0) parts.push(`could NOT clean up ${failed.join('; ')}`);
  const left = hooks.left();
  if (left) parts.push(left);
  const message = redact(`${parts.join('; ')}.`);
  // Written past writeErr (silenced by now): the names in it are made terminal-safe here.
  process.stderr.write(terminalSafe(`${message}\n`));
  if (hooks.json()) {
    process.stdout.write(
      terminalSafe(
        `${renderJson({ error: { code: 'INTERRUPTED', message, hint: 'Run the command again when you are ready; nothing partial was kept as complete.', exitCode } })}\n`,
      ),
    );
  }
  await settleWithin(hooks.record({ signal, exitCode, message }), 5000);
  // And what it took while the interruption was recorded: nothing the run holds outlives it.
  await runCleanups();
  process.exit(exitCode);
}

export interface InterruptHandling {
  /**
   * The command's work is over (its result is printed): a signal now cannot stop anything, and the
   * run ends on its own in a moment with its own outcome. Only a second signal forces the exit.
   */
  settled(): void;
  /** Removes the handlers (the run is over). */
  remove(): void;
}

/** Tells bin/run.js's own signal listeners who answers a signal now (see there). */
function setPhase(phase: 'command' | 'done'): void {
  (globalThis as Record<symbol, unknown>)[Symbol.for('storage.interrupts')] = phase;
}

/** Handles SIGINT and SIGTERM for one command run. */
export function handleInterrupts(hooks: InterruptHooks): InterruptHandling {
  // bin/run.js answers a signal during start-up (and after the run); from here this run's handler does.
  setPhase('command');
  let settled = false;
  let ignored = false;
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = () => {
      if (settled && !ignored) {
        ignored = true;
        return;
      }
      if (stopping || settled) {
        // A second signal while cleaning up (a cleanup waits on a server that does not answer): stop now.
        const left = pendingCleanups();
        process.stderr.write(terminalSafe(`Interrupted again (${signal}): stopped at once${left.length ? `; NOT cleaned up: ${list(left)}` : ''}.\n`));
        process.exit(EXIT_CODES[signal]);
      }
      stopping = stop(signal, hooks);
    };
    process.on(signal, handler);
    return { signal, handler };
  });
  return {
    settled: () => (settled = true),
    remove() {
      setPhase('done');
      for (const { signal, handler } of handlers) process.removeListener(signal, handler);
    },
  };
}
