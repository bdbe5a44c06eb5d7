// Helpers for backup-repository tests: small SQLite sandboxes with a key file (no scrypt, so runs
// are quick), running the CLI with a skewed clock (faketime) or in a private mount namespace
// (a full or read-only repository), and reading the audit log.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BIN } from './paths.js';
import { makeSandbox, type CliResult, type Sandbox } from './cli.js';
import { recordRun } from './written-files.js';

export interface RepoSandbox extends Sandbox {
  repo: string;
  audit: string;
  /** Writes the config with these stores (SQLite files under data/) and backup settings. */
  configure(stores: string[], backup?: Record<string, unknown>): void;
}

/** The values of column `v` of table `t` in a SQLite file, in insertion order (opened read-only). */
export function tableValues(file: string): string[] {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('select v from t order by rowid').all() as Array<{ v: string }>).map((row) => row.v);
  } finally {
    db.close();
  }
}

/** A sandbox whose config has SQLite store `lite` (data/app.db) holding the tenants, one migration, and a repository. */
export function sqliteTenancySandbox(migration: string): Sandbox {
  const sandbox = makeSandbox();
  fs.mkdirSync(path.join(sandbox.dir, 'migrations'));
  fs.writeFileSync(path.join(sandbox.dir, 'migrations', '001_init.sql'), migration);
  fs.mkdirSync(path.join(sandbox.dir, 'data'));
  new Sqlite(path.join(sandbox.dir, 'data', 'app.db')).close();
  sandbox.writeConfig({
    stores: { lite: { engine: 'sqlite', path: 'data/app.db' } },
    tenancy: { store: 'lite', migrations: 'migrations' },
    backup: { repository: './repo' },
  });
  return sandbox;
}

/** A SQLite database file with `rows` rows of `bytes` random bytes each. */
export function makeSqlite(file: string, rows = 20, bytes = 16): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Sqlite(file);
  db.exec('create table if not exists t (id integer primary key, body blob)');
  const insert = db.prepare('insert into t (body) values (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(randomBytes(bytes));
  })();
  db.close();
}

export function repoSandbox(stores: string[], backup: Record<string, unknown> = {}): RepoSandbox {
  const base = makeSandbox();
  const repo = path.join(base.dir, 'repo');
  const audit = path.join(base.dir, 'audit');
  fs.writeFileSync(path.join(base.dir, 'backup.key'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const sandbox: RepoSandbox = {
    ...base,
    repo,
    audit,
    env: { ...base.env, STORAGE_AUDIT_DIR: audit },
    configure(names, settings = backup) {
      base.writeConfig({
        stores: Object.fromEntries(names.map((name) => [name, { engine: 'sqlite', path: `data/${name}.db` }])),
        backup: { repository: './repo', encryption: { keyFile: 'backup.key' }, ...settings },
      });
    },
    run: (args, options = {}) => base.run(args, { ...options, env: { STORAGE_AUDIT_DIR: audit, ...options.env } }),
  };
  for (const name of stores) makeSqlite(path.join(base.dir, 'data', `${name}.db`));
  sandbox.configure(stores, backup);
  return sandbox;
}

export function backupIds(repo: string): string[] {
  const dir = path.join(repo, 'backups');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

export async function createBackup(sandbox: Sandbox, store: string, extra: string[] = []): Promise<string> {
  const result = await sandbox.run(['backup', 'create', store, '--json', ...extra]);
  if (result.exitCode !== 0) throw new Error(`backup create ${store} failed (${result.exitCode}): ${result.stderr}`);
  return result.json().stores[0].backup.id as string;
}

/** The audit log's last entry. */
export function lastAuditEntry(sandbox: RepoSandbox): Record<string, unknown> {
  const lines = fs.readFileSync(path.join(sandbox.audit, 'audit.log'), 'utf8').trim().split('\n');
  return JSON.parse(lines.at(-1)!);
}

function result(run: { stdout?: unknown; stderr?: unknown; exitCode?: number }): CliResult {
  const stdout = String(run.stdout ?? '');
  return { stdout, stderr: String(run.stderr ?? ''), exitCode: run.exitCode ?? -1, durationMs: 0, json: () => JSON.parse(stdout) };
}

function cliEnv(sandbox: Sandbox, env: Record<string, string>): Record<string, string> {
  recordRun(sandbox.dir, { ...sandbox.env, ...env });
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, LANG: 'C.UTF-8', ...sandbox.env, ...env };
}

/** Runs the CLI with its clock moved by `offset` (faketime syntax: '+365d', '+5m', '-2d'). */
export async function runAtClock(sandbox: Sandbox, offset: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return result(
    await execa('faketime', ['-f', offset, process.execPath, BIN, ...args], {
      cwd: sandbox.dir,
      env: cliEnv(sandbox, env),
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    }),
  );
}

/**
 * Runs the CLI in a private mount namespace (unshare: no effect outside the run) after `mounts`,
 * shell commands such as `mount -t tmpfs -o size=64k tmpfs repo/backups`, run in the sandbox.
 */
export async function runWithMounts(sandbox: Sandbox, mounts: string[], args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const quoted = [process.execPath, BIN, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  return result(
    await execa('unshare', ['--map-root-user', '--mount', 'sh', '-c', `set -e; ${mounts.join('; ')}; exec ${quoted}`], {
      cwd: sandbox.dir,
      env: cliEnv(sandbox, env),
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    }),
  );
}
