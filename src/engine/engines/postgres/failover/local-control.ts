// What this machine can do to a member it controls (failover config `control: {dataDir, binDir}`):
// stop, start, rewind and read its WAL with the server's own programs, run as the data
// directory's owner (the server refuses to run as root). Programs run in their own session, so
// an operator's Ctrl-C on this tool never reaches a server it started.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LocalControl } from '../../spec.js';
import { StorageError } from '../../../errors.js';
import { childEnv } from '../../../system/child-env.js';

export interface ProgramResult {
  code: number;
  stdout: string;
  stderr: string;
}

function binDir(control: LocalControl): string {
  if (control.binDir) return control.binDir;
  const version = fs.readFileSync(path.join(control.dataDir, 'PG_VERSION'), 'utf8').trim();
  return `/usr/lib/postgresql/${version}/bin`;
}

function owner(control: LocalControl): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = fs.statSync(control.dataDir).uid;
  if (uid === 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.split(':')[2] === String(uid));
  return line?.split(':')[0] ?? String(uid);
}

/** Runs one of the server's programs as the data directory's owner; never throws for an exit code. */
export function runProgram(
  control: LocalControl,
  program: string,
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string | undefined> } = {},
): Promise<ProgramResult> {
  if (!fs.existsSync(control.dataDir))
    throw new StorageError('CONFIG_INVALID', `The data directory ${control.dataDir} does not exist on this machine.`, {
      hint: "Check the member's control.dataDir in the config, or remove control for a member on another host.",
    });
  const file = path.join(binDir(control), program);
  const user = owner(control);
  const [command, argv] = user ? ['runuser', ['-u', user, '--', file, ...args]] : [file, args];
  return new Promise((resolve) => {
    execFile(
      command,
      argv,
      { env: childEnv(options.env), timeout: options.timeoutMs ?? 120_000, detached: true, maxBuffer: 64 * 2 ** 20, cwd: os.tmpdir() } as never,
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code as number) : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

function failed(what: string, result: ProgramResult): StorageError {
  const said = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' ');
  return new StorageError('FAILED', `${what} failed (exit ${result.code}): ${said}`, { hint: 'See the server log of that member.' });
}

/** The log pg_ctl gives a server it starts (outside the data directory, which pg_rewind rewrites). */
function startLog(control: LocalControl): string {
  return path.join(os.tmpdir(), `storage-pg-${path.resolve(control.dataDir).replace(/[^A-Za-z0-9]+/g, '_')}.log`);
}

export async function isRunning(control: LocalControl): Promise<boolean> {
  return (await runProgram(control, 'pg_ctl', ['status', '-D', control.dataDir])).code === 0;
}

/**
 * Stops the server and waits until it is gone. pg_ctl's own wait checks every 100 ms; this one
 * watches postmaster.pid every 5 ms, which is time writes are unavailable during a switchover.
 */
export async function stopServer(control: LocalControl, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  if (!(await isRunning(control))) return;
  const result = await runProgram(control, 'pg_ctl', ['stop', '-D', control.dataDir, '-m', mode, '-W']);
  if (result.code !== 0) throw failed(`pg_ctl stop of ${control.dataDir}`, result);
  const pidFile = path.join(control.dataDir, 'postmaster.pid');
  const deadline = Date.now() + 60_000;
  while (fs.existsSync(pidFile)) {
    if (Date.now() > deadline)
      throw new StorageError('FAILED', `The server in ${control.dataDir} did not stop within 60 s.`, {
        hint: 'See its log; stop it by hand and run the command again.',
      });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function startServer(control: LocalControl): Promise<void> {
  const log = startLog(control);
  fs.writeFileSync(log, '', { mode: 0o644 });
  const user = owner(control);
  if (user) fs.chownSync(log, fs.statSync(control.dataDir).uid, fs.statSync(control.dataDir).gid);
  const result = await runProgram(control, 'pg_ctl', ['start', '-D', control.dataDir, '-l', log, '-w', '-t', '60']);
  if (result.code !== 0) throw failed(`pg_ctl start of ${control.dataDir} (log: ${log})`, result);
}

export interface ControlData {
  state: string;
  checkpoint: string;
  timeline: number;
}

export async function controlData(control: LocalControl): Promise<ControlData> {
  const result = await runProgram(control, 'pg_controldata', ['-D', control.dataDir]);
  if (result.code !== 0) throw failed(`pg_controldata of ${control.dataDir}`, result);
  const field = (name: string) => result.stdout.match(new RegExp(`^${name}:\\s*(.+)$`, 'm'))?.[1].trim() ?? '';
  return {
    state: field('Database cluster state'),
    checkpoint: field('Latest checkpoint location'),
    timeline: Number(field("Latest checkpoint's TimeLineID")),
  };
}

const AUTO_CONF = 'postgresql.auto.conf';
/** Files pg_rewind copies from the source over the member's own: kept and put back. */
const OWN_FILES = ['postgresql.conf', AUTO_CONF, 'pg_hba.conf', 'pg_ident.conf'];

function writeOwned(control: LocalControl, file: string, text: string): void {
  const stat = fs.statSync(control.dataDir);
  fs.writeFileSync(file, text, { mode: 0o600 });
  if (process.getuid?.() === 0) fs.chownSync(file, stat.uid, stat.gid);
}

/** Keeps the member's configuration files; the returned function puts them back. */
export function keepOwnFiles(control: LocalControl): () => void {
  const kept = new Map<string, string>();
  for (const name of OWN_FILES) {
    const file = path.join(control.dataDir, name);
    if (fs.existsSync(file)) kept.set(file, fs.readFileSync(file, 'utf8'));
  }
  return () => {
    for (const [file, text] of kept) writeOwned(control, file, text);
  };
}

const MANAGED = /^\s*(primary_conninfo|primary_slot_name|default_transaction_read_only)\s*=/;

/** Makes the (stopped) member a standby of `conninfo` through `slot`, and drops a fence left in its settings. */
export function writeStandbyConfig(control: LocalControl, conninfo: string, slot: string): void {
  const auto = path.join(control.dataDir, AUTO_CONF);
  const kept = fs.existsSync(auto)
    ? fs
        .readFileSync(auto, 'utf8')
        .split('\n')
        .filter((line) => line !== '' && !MANAGED.test(line))
    : ['# Do not edit this file manually!'];
  const quoted = (value: string) => `'${value.replace(/'/g, "''")}'`;
  writeOwned(control, auto, [...kept, `primary_conninfo = ${quoted(conninfo)}`, `primary_slot_name = ${quoted(slot)}`, ''].join('\n'));
  writeOwned(control, path.join(control.dataDir, 'standby.signal'), '');
}

/** Rewinds the member to the source's history (pg_rewind says "no rewind required" when it has not diverged). */
export async function rewind(control: LocalControl, conninfo: string, password: string | undefined): Promise<string> {
  const result = await runProgram(control, 'pg_rewind', ['-D', control.dataDir, `--source-server=${conninfo}`], { env: { PGPASSWORD: password } });
  if (result.code !== 0) throw failed(`pg_rewind of ${control.dataDir}`, result);
  return /no rewind required/i.test(result.stdout + result.stderr) ? 'no rewind required' : 'rewound';
}

export interface WalTail {
  /** COMMIT records from `from` to the end of the member's WAL. */
  commits: number;
  /** Where its WAL ends. */
  end: string;
}

/** Reads the member's WAL from `from` to its end: what a standby that received up to `from` never got. */
export async function walTail(control: LocalControl, from: string, timeline: number): Promise<WalTail> {
  const result = await runProgram(control, 'pg_waldump', ['-p', path.join(control.dataDir, 'pg_wal'), '-s', from, '-t', String(timeline)]);
  const commits = result.stdout.split('\n').filter((line) => /rmgr: Transaction .*desc: COMMIT/.test(line)).length;
  const lsns = [...result.stdout.matchAll(/lsn: ([0-9A-F]+\/[0-9A-F]+)/g)].map((match) => match[1]);
  // pg_waldump stops with "invalid record length at X" (or similar) where the WAL ends.
  const end = (result.stderr.match(/(?:at|after) ([0-9A-F]+\/[0-9A-F]+)/) ?? [])[1] ?? lsns.at(-1) ?? from;
  if (result.code !== 0 && !/(?:at|after) [0-9A-F]+\/[0-9A-F]+/.test(result.stderr)) throw failed(`pg_waldump of ${control.dataDir}`, result);
  return { commits, end };
}
