// Throwaway PostgreSQL clusters for tests: initdb + pg_ctl in a temp dir, run as the `postgres`
// OS user when the tests run as root (the server refuses to run as root).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PgCluster {
  url: string;
  port: number;
  dir: string;
  /** The server's processes (postmaster first), for tests that stop or freeze it. */
  pids(): number[];
  stop(): void;
}

export function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((entry) => fs.existsSync(path.join(root, entry, 'bin/initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(root, versions[0], 'bin');
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql or via pg_config.');
  }
}

function asPostgres(binary: string, args: string[]): void {
  const isRoot = process.getuid?.() === 0;
  const [command, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  execFileSync(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
}

/** Starts a cluster on `port`. With a password, it uses scram-sha-256 auth for a superuser `postgres`. */
export function startCluster(port: number, options: { password?: string; settings?: Record<string, string | number> } = {}): PgCluster {
  const bin = pgBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-pg-'));
  fs.chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  const initArgs = ['-D', data, '-U', 'postgres', '--no-sync'];
  if (options.password) {
    const pwfile = path.join(dir, 'pw');
    fs.writeFileSync(pwfile, options.password, { mode: 0o600 });
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres', pwfile]);
    initArgs.push('-A', 'scram-sha-256', '--pwfile', pwfile);
  } else {
    initArgs.push('-A', 'trust');
  }
  asPostgres(path.join(bin, 'initdb'), initArgs);
  const extra = Object.entries(options.settings ?? {})
    .map(([name, value]) => ` -c ${name}=${value}`)
    .join('');
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50${extra}`;
  asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-o', serverOptions, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  const auth = options.password ? `postgres:${encodeURIComponent(options.password)}@` : 'postgres@';
  return {
    url: `postgres://${auth}127.0.0.1:${port}/postgres`,
    port,
    dir,
    pids() {
      const postmaster = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      let children: number[] = [];
      try {
        children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean)
          .map(Number);
      } catch {
        // no children
      }
      return [postmaster, ...children];
    },
    stop() {
      try {
        if (fs.existsSync(path.join(data, 'postmaster.pid'))) asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // A test killed the server already.
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
