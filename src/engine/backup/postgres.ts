// PostgreSQL backups: `pg_dump -Fc` streamed straight into the repository (its archive is
// already compressed, so it is only encrypted), with row counts taken in the same snapshot.
// Restores decrypt and check the whole archive first, then `pg_restore` it into a new database,
// so a corrupt backup or wrong key writes nothing to the target.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { StorageError } from '../errors.js';
import type { PostgresProvider } from '../providers/postgres.js';
import { cutConnection, queryWithoutTimeout, quoteIdent } from '../providers/postgres.js';
import { hintForPostgresMessage } from '../providers/failures.js';
import { watchServer } from '../resilience/watchdog.js';
import type { Provider } from '../providers/types.js';
import { redact } from '../redact.js';
import { childEnv } from '../child-env.js';
import type { EngineBackup } from './engine.js';
import { payloadName, readPayload, writePayload } from './payload.js';

const TABLES_SQL = `select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name, pg_total_relation_size(c.oid)::text as size
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
 order by 1`;

function pg(provider: Provider): PostgresProvider {
  return provider as PostgresProvider;
}

/** The pg_dump/pg_restore to use: $STORAGE_PG_BIN, the server's major version's Debian directory, or PATH. */
export function pgTool(name: 'pg_dump' | 'pg_restore', serverMajor: number): string {
  if (process.env.STORAGE_PG_BIN) return path.join(process.env.STORAGE_PG_BIN, name);
  const versioned = `/usr/lib/postgresql/${serverMajor}/bin/${name}`;
  return fs.existsSync(versioned) ? versioned : name;
}

export async function toolMajor(tool: string): Promise<{ major: number; version: string }> {
  try {
    const { stdout } = await execa(tool, ['--version'], { env: childEnv(), extendEnv: false });
    const match = /(\d+)(?:\.(\d+))?/.exec(stdout);
    return { major: Number(match?.[1] ?? 0), version: stdout.trim() };
  } catch {
    throw new StorageError('FAILED', `${tool} is not installed or cannot run.`, {
      hint: "Install the PostgreSQL client tools of the server's major version (Debian: postgresql-client), or set STORAGE_PG_BIN to their directory.",
    });
  }
}

function toolFailure(tool: string, error: { exitCode?: number; signal?: string; stderr?: unknown }): StorageError {
  const stderr = redact(String(error.stderr ?? '').trim())
    .split('\n')
    .slice(-5)
    .join('\n');
  const how = error.signal ? `was killed by ${error.signal}` : `exited with ${error.exitCode}`;
  return new StorageError('FAILED', `${tool} ${how}${stderr ? `: ${stderr}` : ''}`, {
    hint: hintForPostgresMessage(stderr) ?? "The message above is the tool's own; nothing of this run was kept as complete.",
  });
}

type Query = (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>;

/** How often a running dump checks that the server still answers (two silent probes in a row end the run). */
const SERVER_PROBE_MS = 5000;

/** Exact rows and total size of every user table, in whatever snapshot the query runs in. */
export async function tableStats(query: Query): Promise<Record<string, { rows: number; sizeBytes: number }>> {
  const stats: Record<string, { rows: number; sizeBytes: number }> = {};
  for (const row of (await query(TABLES_SQL)).rows) {
    const table = String(row.name);
    stats[table] = { rows: Number((await query(`select count(*)::bigint as n from ${table}`)).rows[0].n), sizeBytes: Number(row.size) };
  }
  return stats;
}

async function countTables(query: Query): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await tableStats(query)).map(([table, stat]) => [table, stat.rows]));
}

export const postgresBackup: EngineBackup = {
  async dump({ store, provider, backupId, dir, key, progress }) {
    const postgres = pg(provider);
    let done = progress.step('connect and check pg_dump');
    return postgres.withClient(async (client) => {
      const meta = (
        await client.query<{ db: string; version: string; num: string }>(
          "select current_database() as db, current_setting('server_version') as version, current_setting('server_version_num') as num",
        )
      ).rows[0];
      const serverMajor = Math.floor(Number(meta.num) / 10000);
      const tool = pgTool('pg_dump', serverMajor);
      const { major, version: toolVersion } = await toolMajor(tool);
      if (major < serverMajor) {
        throw new StorageError('FAILED', `${tool} is version ${major}, older than the server (${serverMajor}); it cannot dump this server.`, {
          hint: `Install pg_dump ${serverMajor} or newer (Debian: postgresql-client-${serverMajor}), or set STORAGE_PG_BIN.`,
        });
      }
      done(toolVersion);
      // Count rows in the very snapshot pg_dump will use, so a restore test can compare exactly.
      // A backup may rightly run for hours: no statement timeout for its own work, but lock waits
      // are bounded (as pg_dump's --lock-wait-timeout) so a table held in an exclusive lock fails
      // the run with a reason instead of hanging it.
      const lockWaitMs = store.statementTimeoutMs;
      await client.query('begin isolation level repeatable read read only');
      try {
        await client.query('set local statement_timeout = 0');
        await client.query(`set local lock_timeout = ${lockWaitMs}`);
        const snapshot = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0].id;
        done = progress.step('pg_dump -Fc | encrypt | write');
        const { url, password } = await postgres.toolConnection();
        const child = execa(tool, ['-Fc', `--snapshot=${snapshot}`, `--lock-wait-timeout=${lockWaitMs}`, '--dbname', url], {
          env: childEnv({ PGPASSWORD: password }),
          extendEnv: false,
          stdout: 'pipe',
          stderr: 'pipe',
          buffer: { stdout: false, stderr: true },
        });
        // The first failure of any part (dump, write, counts, a server that stops answering) stops
        // the others and is the one reported; every part's failure is handled, none can crash the process.
        const failures: unknown[] = [];
        const stop = (error: unknown) => {
          failures.push(error);
          child.kill('SIGTERM');
        };
        const stopWatching = watchServer(
          () => postgres.ping(),
          { intervalMs: SERVER_PROBE_MS, misses: 2 },
          (error) => {
            stop(error);
            cutConnection(client);
          },
        );
        const name = payloadName('pgdump', { compress: false, encrypted: key !== undefined });
        const [file, result, counts] = await Promise.all([
          writePayload(child.stdout!, dir, name, { compress: false, key, context: `${backupId}/${name}` }).catch((error) => void stop(error)),
          child.catch((error) => error),
          countTables((sql) => queryWithoutTimeout(client, sql)).catch((error) => void stop(error)),
        ]).finally(stopWatching);
        if (failures.length > 0) throw failures[0];
        if (result instanceof Error || (result as { exitCode?: number }).exitCode !== 0) throw toolFailure('pg_dump', result as never);
        if (!file || file.plainBytes === 0)
          throw new StorageError('FAILED', 'pg_dump produced no output.', { hint: 'Check the server log; nothing was kept as complete.' });
        done(`${Object.keys(counts!).length} tables`);
        return {
          database: meta.db,
          payloadFormat: 'pg_dump-custom' as const,
          files: [file],
          counts: counts!,
          serverVersion: meta.version,
          dumpTool: toolVersion,
        };
      } finally {
        await client.query('rollback').catch(() => undefined);
      }
    });
  },

  async restore({ manifest, dir, key, provider, database, replace, scratch, progress, parallel }) {
    const postgres = pg(provider);
    const archive = path.join(scratch, 'restore.dump');
    let done = progress.step('read, check and decrypt the archive');
    await readPayload(dir, manifest.files[0], { key, context: `${manifest.id}/${manifest.files[0].name}` }, fs.createWriteStream(archive, { mode: 0o600 }));
    done();
    const existing = await postgres.listDatabases();
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const into = existing.includes(database) ? `${database}__restoring_${stamp}` : database;
    if (into !== database && !replace) throw new StorageError('CONFIRMATION_REQUIRED', `Database "${database}" exists; replacing it needs confirmation.`);
    done = progress.step(`create database "${into}" and pg_restore into it`);
    await postgres.createDatabase(into);
    try {
      const serverMajor =
        Number((await postgres.withClient((client) => client.query<{ n: string }>("select current_setting('server_version_num') as n"))).rows[0].n) / 10000;
      const { url, password } = await postgres.toolConnection(into);
      const jobs = Math.max(1, parallel ?? 2);
      const result = await execa(
        pgTool('pg_restore', Math.floor(serverMajor)),
        ['--no-owner', '--no-privileges', '--exit-on-error', `--jobs=${jobs}`, '--dbname', url, archive],
        {
          env: childEnv({ PGPASSWORD: password }),
          extendEnv: false,
          reject: false,
        },
      );
      if (result.exitCode !== 0) throw toolFailure('pg_restore', result);
      done();
    } catch (error) {
      // Never leave a half-restored database looking like a finished one.
      await postgres.dropDatabase(into, { force: true }).catch(() => undefined);
      throw error;
    }
    if (into === database) return { database };
    done = progress.step(`swap "${into}" in for "${database}"`);
    const previous = `${database}__pre_restore_${stamp}`;
    const maintenance = await postgres.maintenanceDatabase();
    await postgres.closePool();
    await postgres.withDatabase(maintenance, async (client) => {
      await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
      await client.query(`alter database ${quoteIdent(database)} rename to ${quoteIdent(previous)}`);
      await client.query(`alter database ${quoteIdent(into)} rename to ${quoteIdent(database)}`);
    });
    done(`the replaced database is kept as "${previous}"`);
    return { database, previous };
  },

  async targetState(provider, database) {
    const postgres = pg(provider);
    if (!(await postgres.listDatabases()).includes(database)) return 'absent';
    const tables = await postgres.withDatabase(database, (client) => client.query(TABLES_SQL));
    return tables.rows.length === 0 ? 'empty' : 'non-empty';
  },

  async count(provider, database) {
    return pg(provider).withDatabase(database, (client) => countTables((sql) => client.query(sql)));
  },

  async drop(provider, database) {
    await provider.dropDatabase(database, { force: true });
  },
};
