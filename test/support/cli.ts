// Runs the built `storage` binary as a user would: a subprocess with no TTY and no stdin.
// Every output is also saved for the suite-wide secret scan, and every sandbox (with the
// locations a run was given) is recorded for the teardown's scan of every file the tool wrote.
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { BIN, OUTPUT_LOG_DIR } from './paths.js';
import { recordOwnFile, recordRoot, recordRun } from './written-files.js';

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Sandbox {
  dir: string;
  env: Record<string, string>;
  writeConfig(config: unknown, name?: string): string;
  run(args: string[], options?: { env?: Record<string, string>; timeoutMs?: number; input?: string }): Promise<CliResult>;
}

let counter = 0;

export async function runCli(args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number; input?: string }): Promise<CliResult> {
  recordRun(options.cwd, options.env);
  const started = performance.now();
  const result = await execa(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: options.cwd, LANG: 'C.UTF-8', ...options.env },
    extendEnv: false,
    reject: false,
    // No stdin, as cron runs it; `input` pipes text in, as a shell pipe or a `while read` loop does.
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    timeout: options.timeoutMs ?? 60_000,
  });
  const durationMs = performance.now() - started;
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  fs.mkdirSync(OUTPUT_LOG_DIR, { recursive: true });
  // The audit log is output too: it must never hold a secret either.
  const auditLogs = [options.env.STORAGE_AUDIT_DIR, options.env.XDG_DATA_HOME && path.join(options.env.XDG_DATA_HOME, 'storage', 'audit')]
    .filter((dir): dir is string => Boolean(dir))
    .map((dir) => path.join(dir, 'audit.log'))
    .filter((file) => fs.existsSync(file))
    .map((file) => fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(
    path.join(OUTPUT_LOG_DIR, `${process.pid}-${++counter}.log`),
    `$ storage ${args.join(' ')}\n--- stdout\n${stdout}\n--- stderr\n${stderr}\n--- audit log\n${auditLogs.join('\n')}\n`,
  );
  return {
    stdout,
    stderr,
    exitCode: result.exitCode ?? -1,
    durationMs,
    json: () => JSON.parse(stdout),
  };
}

/** A temporary working directory with its own user config and data dirs. */
export function makeSandbox(): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-test-'));
  const env = { XDG_CONFIG_HOME: path.join(dir, 'xdg-config'), XDG_DATA_HOME: path.join(dir, 'xdg-data') };
  recordRoot(dir);
  return {
    dir,
    env,
    writeConfig(config, name = 'storage.config.yaml') {
      const file = path.join(dir, name);
      // The test's input (it may hold a password on purpose): not scanned as the tool's output.
      recordOwnFile(file);
      fs.writeFileSync(file, name.endsWith('.json') ? JSON.stringify(config) : typeof config === 'string' ? config : stringify(config));
      return file;
    },
    run(args, options = {}) {
      return runCli(args, { cwd: dir, env: { ...env, ...options.env }, timeoutMs: options.timeoutMs, input: options.input });
    },
  };
}
