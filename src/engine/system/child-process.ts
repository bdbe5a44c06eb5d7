// Every external program the tool runs (pg_dump, pg_restore, their version probes) starts here,
// so none outlives the tool. Each long-running one runs under a tiny watchdog (a second node process): the
// watchdog starts the program in a process group of its own, holds a pipe from the tool, and
// when that pipe closes without the program having finished (the tool was killed, even with
// kill -9, where no handler of ours can run) it terminates the whole group, workers included
// (`pg_restore -j` forks one per job). The watchdog also forwards SIGINT/SIGTERM to the group and
// reports the program's own exit code or signal as its own. While a program runs it is registered
// with the cleanup registry, so an interrupted run stops it before it exits.
// The programs get the environment without the tool's own STORAGE_* variables (passphrases,
// keys): they need PATH, HOME, locale and PG* settings, never the tool's secrets.
import { execFile, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { childEnv } from './child-env.js';
import { onCleanup } from '../cleanup.js';

/** How long a program gets to stop after SIGTERM before the watchdog sends SIGKILL. */
export const STOP_GRACE_MS = 3000;

// Plain CommonJS for `node -e`: argv is [node, program, ...args]; fd 3 is the lifeline from the tool.
const WATCHDOG = `
const { spawn } = require('node:child_process');
const net = require('node:net');
const [file, ...args] = process.argv.slice(1);
let child;
let exited = false;
let requested;
let escalation;
const group = (signal) => { try { process.kill(-child.pid, signal); } catch {} };
const stop = (signal) => {
  if (exited) return;
  // A stop asked for before the program started is carried out as soon as it has.
  if (!child || child.pid === undefined) { requested ??= signal; return; }
  group(signal);
  if (!escalation) escalation = setTimeout(() => group('SIGKILL'), ${STOP_GRACE_MS});
};
// Handlers first, so a signal that arrives while the program starts is forwarded, never lost.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal === 'SIGHUP' ? 'SIGTERM' : signal));
const lifeline = new net.Socket({ fd: 3, readable: true, writable: false });
lifeline.on('data', () => undefined);
lifeline.on('error', () => stop('SIGTERM'));
lifeline.on('close', () => stop('SIGTERM'));
child = spawn(file, args, { stdio: 'inherit', detached: true });
child.on('error', (error) => { process.stderr.write(file + ': ' + error.message + '\\n'); process.exit(127); });
child.on('exit', (code, signal) => {
  exited = true;
  // Whatever the program left in its group (workers) goes with it.
  group('SIGKILL');
  // The same signal ends the watchdog, so the tool sees the program's own end; node ignores a few (SIGPIPE): then 128 + its number.
  if (signal) { process.removeAllListeners(signal); process.kill(process.pid, signal); setTimeout(() => process.exit(128 + (require('node:os').constants.signals[signal] ?? 0)), 100); }
  else process.exit(code ?? 1);
});
if (requested) stop(requested);
`;

export interface ToolResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Collected stdout, when asked for (`stdout: 'buffer'`). */
  stdout: string;
  /** The end of stderr (the last 64 KiB): what the program said when it failed. */
  stderr: string;
}

export interface ToolOptions {
  /** What the program is doing, for an interrupted run's message ("pg_restore into app"). */
  what: string;
  /** Added to the environment (without STORAGE_* variables); e.g. PGPASSWORD. */
  env?: Record<string, string | undefined>;
  /** 'pipe': the caller writes to `stdin`. Default 'ignore'. */
  stdin?: 'pipe' | 'ignore';
  /** 'pipe': the caller reads `stdout`; 'buffer': collected into the result. Default 'ignore'. */
  stdout?: 'pipe' | 'buffer' | 'ignore';
}

export interface ToolProcess {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  /** Settles when the program (and its watchdog) has exited; never rejects. */
  readonly done: Promise<ToolResult>;
  /** Stops the program's whole process group (SIGTERM, then SIGKILL) and waits for it. */
  stop(): Promise<ToolResult>;
}

const STDERR_KEPT = 64 * 1024;

/** The environment for external programs: the tool's, without its own STORAGE_* settings or any secret it knows. */
function toolEnvironment(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return childEnv(extra);
}

/** Starts `file args` under a watchdog (see above). */
export function startTool(file: string, args: string[], options: ToolOptions): ToolProcess {
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, '--', file, ...args], {
    stdio: [options.stdin ?? 'ignore', options.stdout === 'buffer' ? 'pipe' : (options.stdout ?? 'ignore'), 'pipe', 'pipe'],
    env: toolEnvironment(options.env),
  });
  let stderr = '';
  let stdout = '';
  watchdog.stderr!.setEncoding('utf8');
  watchdog.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT);
  });
  if (options.stdout === 'buffer') {
    watchdog.stdout!.setEncoding('utf8');
    watchdog.stdout!.on('data', (chunk: string) => (stdout += chunk));
  }
  // A writer whose reader went away gets EPIPE: the program's exit code says why.
  watchdog.stdin?.on('error', () => undefined);
  const unregister = onCleanup(`stop ${options.what} (pid ${watchdog.pid})`, async () => {
    await stopNow();
  });
  const done = new Promise<ToolResult>((resolve) => {
    let settled = false;
    const settle = (result: ToolResult) => {
      if (settled) return;
      settled = true;
      unregister();
      // The lifeline closes with us; nothing more to say to a watchdog whose program has ended.
      (watchdog.stdio[3] as unknown as { destroy(): void } | null)?.destroy();
      resolve(result);
    };
    watchdog.on('error', (error) => settle({ exitCode: 127, signal: null, stdout, stderr: `${stderr}${file}: ${error.message}` }));
    watchdog.on('close', (exitCode, signal) => settle({ exitCode, signal, stdout, stderr }));
    // 'close' waits for the pipes, which something that escaped the group could hold open: the exit is what counts.
    watchdog.on('exit', (exitCode, signal) => setTimeout(() => settle({ exitCode, signal, stdout, stderr }), 2000).unref());
  });
  const stopNow = async (): Promise<ToolResult> => {
    if (watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill('SIGTERM');
    return done;
  };
  return { stdin: watchdog.stdin, stdout: options.stdout === 'pipe' ? watchdog.stdout : null, done, stop: stopNow };
}

/** Runs a program to its end. */
export function runTool(file: string, args: string[], options: Omit<ToolOptions, 'stdin' | 'stdout'> & { stdout?: 'buffer' | 'ignore' }): Promise<ToolResult> {
  return startTool(file, args, options).done;
}

/**
 * Runs a program that answers at once (a `--version` probe) directly, not under a watchdog: a
 * second node process on every backup's critical path bought nothing for a program that ends by
 * itself; the timeout stands in for the watchdog. Same environment as the supervised programs.
 */
export function probeTool(file: string, args: string[], timeoutMs = 30_000): Promise<{ exitCode: number; stdout: string }> {
  return new Promise((resolve) =>
    execFile(file, args, { env: toolEnvironment(), timeout: timeoutMs, encoding: 'utf8' }, (error, stdout) =>
      resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: String(stdout ?? '') }),
    ),
  );
}
