// What the benchmarks share: medians, and the pgbench databases they measure on.
import { spawnSync } from 'node:child_process';

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** The URL of database `name` on the server of `base`. */
export const pgUrlFor = (base, name) => Object.assign(new URL(base), { pathname: `/${name}` }).toString();

/** Runs one SQL statement through psql against `url`, returning its trimmed output. */
export function psqlAt(url, sql, env = process.env) {
  const result = spawnSync('psql', ['-X', '-q', '-At', '-d', url, '-c', sql], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`psql -c ${sql} failed: ${result.stderr.slice(-2000)}`);
  return result.stdout.trim();
}

/** The prefix of the benchmarks' databases ($BENCH_PG_DB_PREFIX, default `storage_bench_`). */
export const benchDbPrefix = (env = process.env) => env.BENCH_PG_DB_PREFIX ?? 'storage_bench_';

/** Makes `<prefix>s<scale>` with pgbench unless it is already there (kept between runs); returns its name. */
export function pgbenchDatabase(base, scale, env = process.env) {
  const db = `${benchDbPrefix(env)}s${scale}`;
  const admin = pgUrlFor(base, 'postgres');
  if (psqlAt(admin, `select count(*) from pg_database where datname = '${db}'`, env) === '0') {
    console.log(`(creating ${db} with pgbench -i -s ${scale}; once)`);
    psqlAt(admin, `create database ${db}`, env);
    const result = spawnSync('pgbench', ['-i', '-q', '-s', String(scale), pgUrlFor(base, db)], { encoding: 'utf8', env });
    if (result.status !== 0) throw new Error(`pgbench -i failed: ${result.stderr.slice(-2000)}`);
  }
  return db;
}

/**
 * Starts a throwaway PostgreSQL cluster on a free loopback port (as the `postgres` OS user when
 * run as root) with `settings` added to its postgresql.conf; returns its URL and a stop function.
 */
export async function throwawayCluster(settings = {}, pgBin = process.env.BENCH_PG_BIN ?? '/usr/lib/postgresql/15/bin') {
  const { execFileSync } = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const net = await import('node:net');
  const asRoot = process.getuid?.() === 0;
  const run = (program, args) => {
    const file = path.join(pgBin, program);
    const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir(), timeout: 120_000 });
  };
  const port = await new Promise((resolve, reject) => {
    const server = net.createServer().on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-bench-cluster-'));
  fs.chmodSync(dir, 0o755);
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  const dataDir = path.join(dir, 'data');
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  const conf = { listen_addresses: "'127.0.0.1'", unix_socket_directories: `'${dir}'`, port, ...settings };
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    `\n${Object.entries(conf)
      .map(([key, value]) => `${key} = ${value}`)
      .join('\n')}\n`,
  );
  run('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already down
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dataDir, stop };
}
