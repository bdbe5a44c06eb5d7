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

/** Makes `storage_bench_s<scale>` with pgbench unless it is already there (kept between runs); returns its name. */
export function pgbenchDatabase(base, scale, env = process.env) {
  const db = `storage_bench_s${scale}`;
  const admin = pgUrlFor(base, 'postgres');
  if (psqlAt(admin, `select count(*) from pg_database where datname = '${db}'`, env) === '0') {
    console.log(`(creating ${db} with pgbench -i -s ${scale}; once)`);
    psqlAt(admin, `create database ${db}`, env);
    const result = spawnSync('pgbench', ['-i', '-q', '-s', String(scale), pgUrlFor(base, db)], { encoding: 'utf8', env });
    if (result.status !== 0) throw new Error(`pgbench -i failed: ${result.stderr.slice(-2000)}`);
  }
  return db;
}
