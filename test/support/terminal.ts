// Runs the built `storage` binary at a real terminal: a tmux pane of a given size, on a tmux server
// of its own (its own socket), so tests can press keys, resize the window and read the screen.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, OUTPUT_LOG_DIR } from './paths.js';
import { recordOwnFile, recordRun } from './written-files.js';

export interface Terminal {
  /** Sends keys as tmux names them: 'C-c', 'C-d', 'q', 'Enter', or literal text. */
  keys(...keys: string[]): void;
  /** The visible screen as text (wrapped lines joined), or with colours when `escapes` is set. */
  screen(options?: { escapes?: boolean }): string;
  resize(columns: number, rows: number): void;
  /** The pane's title, as an OSC 0/2 escape the command printed would have set it. */
  title(): string;
  /** Waits until the screen matches; throws with the screen after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  /** Waits for the command to end and returns its exit code. */
  exitCode(ms?: number): Promise<number>;
  close(): void;
}

let sessions = 0;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value; no timing is asserted, `ms` only bounds a hung test. */
export async function until<T>(check: () => T | undefined, ms = 30_000, what = 'a condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export function openTerminal(args: string[], options: { cwd: string; env: Record<string, string>; columns?: number; rows?: number }): Terminal {
  const socket = `storage-test-${process.pid}-${++sessions}`;
  const rcFile = path.join(options.cwd, `.${socket}.rc`);
  const script = path.join(options.cwd, `.${socket}.sh`);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: options.cwd, LANG: 'C.UTF-8', TERM: 'xterm-256color', ...options.env };
  recordRun(options.cwd, env);
  // The script exports the run's environment (a passphrase, maybe): the test's own file, removed at close.
  recordOwnFile(script);
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  fs.writeFileSync(
    script,
    [
      '#!/bin/bash',
      // The shell survives a Ctrl-C meant for the command, so the command's exit code is always recorded.
      "trap 'true' INT",
      // A person at a terminal: the CI run's own CI=true (inherited by the tmux server) must not make the tool think it runs in CI.
      'unset CI',
      `cd ${quote(options.cwd)}`,
      ...Object.entries(env).map(([key, value]) => `export ${key}=${quote(value)}`),
      `${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(' ')}`,
      `echo $? > ${quote(rcFile)}`,
      // Keep the pane (and its last screen) until the test closes it.
      'sleep 600',
    ].join('\n'),
    { mode: 0o700 },
  );
  const tmux = (...tmuxArgs: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...tmuxArgs], { encoding: 'utf8' });
  tmux('new-session', '-d', '-s', 'main', '-x', String(options.columns ?? 80), '-y', String(options.rows ?? 24), script);
  const terminal: Terminal = {
    keys: (...keys) => void tmux('send-keys', '-t', 'main', ...keys),
    screen: ({ escapes = false } = {}) => tmux('capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-t', 'main'),
    resize: (columns, rows) => void tmux('resize-window', '-t', 'main', '-x', String(columns), '-y', String(rows)),
    title: () => tmux('display-message', '-p', '-t', 'main', '#{pane_title}').trim(),
    async waitFor(pattern, ms = 30_000) {
      let last = '';
      try {
        return await until(() => {
          last = terminal.screen();
          return pattern.test(last) ? last : undefined;
        }, ms);
      } catch {
        throw new Error(`the screen never matched ${pattern}; it shows:\n${last}`);
      }
    },
    async exitCode(ms = 60_000) {
      const text = await until(() => (fs.existsSync(rcFile) && fs.readFileSync(rcFile, 'utf8').trim()) || undefined, ms, 'the command to exit');
      return Number(text);
    },
    close() {
      // The last screen joins the suite-wide secret scan, like every other CLI run.
      try {
        fs.mkdirSync(OUTPUT_LOG_DIR, { recursive: true });
        fs.writeFileSync(path.join(OUTPUT_LOG_DIR, `${socket}.log`), `$ storage ${args.join(' ')} (at a terminal)\n--- screen\n${terminal.screen()}\n`);
      } catch {
        // The session may be gone already.
      }
      try {
        tmux('kill-server');
      } catch {
        // Already gone.
      }
      fs.rmSync(script, { force: true });
      fs.rmSync(rcFile, { force: true });
    },
  };
  return terminal;
}
