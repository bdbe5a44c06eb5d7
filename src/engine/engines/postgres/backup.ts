// PostgreSQL backups: `pg_dump -Fc` streamed straight into the repository, with row counts taken
// in the same snapshot. With zstd (the default) pg_dump writes an uncompressed archive (`-Z0`) and
// this tool compresses it on the other cores, instead of pg_dump spending its time in zlib on one;
// the decompressed payload is still a custom-format archive that pg_restore reads. With gzip or
// none, pg_dump compresses its archive itself (zlib) and it is only encrypted, as before.
// Restores read back and check the whole archive first (a corrupt backup or wrong key creates
// nothing), then `pg_restore` it into a staging database that is renamed into place only when
// complete; the plaintext archive goes to pg_restore's stdin, or with --parallel > 1 to a 0600
// scratch file that no exit path leaves behind.
import { fileNameSafe } from '../../system/files.js';
import fs from 'node:fs';
import path from 'node:path';
import { runTool, startTool } from '../../system/child-process.js';
import { StorageError } from '../../errors.js';
import type { PostgresProvider } from './provider.js';
import { cutConnection, queryWithoutTimeout } from './provider.js';
import { pgTool, toolFailure, toolMajor } from './tools.js';
import { watchServer } from '../../resilience/watchdog.js';
import { settleStaged } from '../../restore-journal.js';
import type { BackupCapability, DumpContext, DumpResult } from '../spec.js';
import type { BackupManifest, PayloadFile } from '../../repository/manifest.js';
import { discard, payloadName, readFileStream, readPayload, writePayload } from '../../repository/payload.js';
import { archiveNameOf, directoryBase, storeWhileDumping } from './parallel-dump.js';
import { clearSessions } from './sessions.js';
import { onMaintenance, pgStagingOps, swapInto } from './staging.js';

/** User tables (of one schema, when given). */
const tablesSql = (schema?: string) => `select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name, pg_total_relation_size(c.oid)::text as size
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
 ${schema === undefined ? '' : `and n.nspname = '${schema.replace(/'/g, "''")}'`}
 order by 1`;

/** Anything a user made in a database: a relation, a function or procedure, a type, a large object, an extension, a schema. */
const HOLDS_ANYTHING_SQL = `select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'
  union all select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname not in ('pg_catalog', 'information_schema')
  union all select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
    where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' and t.typrelid = 0 and t.typelem = 0
  union all select 1 from pg_largeobject_metadata
  union all select 1 from pg_extension where extname <> 'plpgsql'
  union all select 1 from pg_namespace where nspname not in ('public', 'pg_catalog', 'information_schema') and nspname not like 'pg_toast%' and nspname not like 'pg_temp%'
  limit 1`;

type Query = (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>;

/** How often a running dump checks that the server still answers (two silent probes in a row end the run). */
const SERVER_PROBE_MS = 5000;

/** Exact rows and total size of every user table, in whatever snapshot the query runs in. */
export async function tableStats(query: Query, schema?: string): Promise<Record<string, { rows: number; sizeBytes: number }>> {
  const stats: Record<string, { rows: number; sizeBytes: number }> = {};
  for (const row of (await query(tablesSql(schema))).rows) {
    const table = String(row.name);
    stats[table] = { rows: Number((await query(`select count(*)::bigint as n from ${table}`)).rows[0].n), sizeBytes: Number(row.size) };
  }
  return stats;
}

async function countTables(query: Query, schema?: string): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await tableStats(query, schema)).map(([table, stat]) => [table, stat.rows]));
}

/**
 * The planner's row estimates (pg_class.reltuples, kept by VACUUM and ANALYZE): one catalog query
 * instead of a second scan of every table. A table the server has no estimate for yet (never
 * vacuumed or analyzed) is counted exactly.
 */
async function estimateTables(query: Query, schema?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const rows = (await query(`select t.name, c.reltuples::float8 as estimate from (${tablesSql(schema)}) t join pg_class c on c.oid = t.name::regclass`)).rows;
  for (const row of rows) {
    const table = String(row.name);
    const estimate = Number(row.estimate);
    counts[table] = estimate >= 0 ? Math.round(estimate) : Number((await query(`select count(*)::bigint as n from ${table}`)).rows[0].n);
  }
  return counts;
}

/**
 * `pg_dump -Fc` of the store's database (of one schema only, with `schema`: `pg_dump -n`, as a
 * tenant backup takes it), streamed into the repository, with row counts from the same snapshot.
 */
export async function dumpPostgres(
  { store, provider, backupId, dir, scratch, key, compression, compressionLevel, progress, ...context }: DumpContext<PostgresProvider>,
  schema?: string,
): Promise<DumpResult> {
  const postgres = provider;
  // A tenant's schema is dumped in one stream, with exact counts (it is small, and its restore compares them).
  const jobs = schema === undefined ? Math.max(1, context.jobs ?? 1) : 1;
  const rowCounts = context.rowCounts ?? (schema === undefined ? 'estimate' : 'exact');
  let done = progress.step('connect and check pg_dump');
  return postgres.withClient(async (client) => {
    const meta = (
      await client.query<{ db: string; version: string; pid: number }>(
        "select current_database() as db, current_setting('server_version') as version, pg_backend_pid() as pid",
      )
    ).rows[0];
    const serverMajor = await postgres.serverMajor();
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
      // With zstd pg_dump writes an uncompressed archive (-Z0) that this tool compresses on another core; with gzip or none pg_dump compresses as before.
      const zstd = compression === 'zstd';
      const parallel = jobs > 1;
      done = progress.step(
        `pg_dump ${parallel ? `-Fd -j ${jobs}` : '-Fc'}${zstd ? ' -Z0' : ''}${schema === undefined ? '' : ' -n'}${zstd ? ' | zstd' : ''}${key ? ' | encrypt' : ''} | write${parallel ? ' (file by file)' : ''}`,
      );
      const { url, password } = await postgres.toolConnection();
      // -n takes a pattern: the schema's name is quoted so that it matches itself only.
      const only = schema === undefined ? [] : ['--schema', `"${schema.replace(/"/g, '""')}"`];
      const dumpDir = path.join(scratch, 'pg_dump.dir');
      const format = parallel ? ['-Fd', `--jobs=${jobs}`, '--file', dumpDir] : ['-Fc'];
      // Under the watchdog: pg_dump never outlives the tool, even after kill -9.
      const child = startTool(
        tool,
        [...format, ...(zstd ? ['-Z0'] : []), `--snapshot=${snapshot}`, `--lock-wait-timeout=${lockWaitMs}`, ...only, '--dbname', url],
        {
          what: `pg_dump of "${meta.db}"${schema === undefined ? '' : ` (schema "${schema}")`}`,
          env: { PGPASSWORD: password },
          stdout: parallel ? 'ignore' : 'pipe',
        },
      );
      // The first failure of any part (dump, write, counts, a server that stops answering) stops
      // the others and is the one reported; every part's failure is handled, none can crash the process.
      const failures: unknown[] = [];
      let counted = false;
      const stop = (error: unknown) => {
        failures.push(error);
        void child.stop();
        // The counts' query can wait on a table's lock as long as pg_dump would: it is cancelled on the server too.
        if (!counted) void postgres.withClient((other) => other.query('select pg_cancel_backend($1)', [meta.pid])).catch(() => undefined);
      };
      // A run called off (the repository's key did not unlock) stops like a failure of its own.
      const calledOff = () => stop(context.signal?.reason);
      if (context.signal?.aborted) calledOff();
      context.signal?.addEventListener('abort', calledOff, { once: true });
      const stopWatching = watchServer(
        () => postgres.ping(),
        { intervalMs: SERVER_PROBE_MS, misses: 2 },
        (error) => {
          stop(error);
          cutConnection(client);
        },
      );
      const ours = zstd ? ('zstd' as const) : ('none' as const);
      const options = (name: string) => ({ compression: ours, level: compressionLevel, key, context: `${backupId}/${name}`, signal: context.signal });
      const stored: Promise<PayloadFile[] | void> = parallel
        ? storeWhileDumping({
            dumpDir,
            dumpDone: child.done,
            failed: () => failures.length > 0,
            store: (archiveName, file) => {
              const name = payloadName(directoryBase(archiveName), { compression: ours, encrypted: key !== undefined });
              return writePayload(readFileStream(file), dir, name, options(name));
            },
          }).catch((error) => void stop(error))
        : (async () => {
            const name = payloadName('pgdump', { compression: ours, encrypted: key !== undefined });
            return [await writePayload(child.stdout!, dir, name, options(name))];
          })().catch((error) => void stop(error));
      const counting = rowCounts === 'exact' ? countTables : estimateTables;
      const [files, result, counts] = await Promise.all([
        stored,
        child.done,
        counting((sql) => queryWithoutTimeout(client, sql), schema)
          .catch((error) => void stop(error))
          .finally(() => (counted = true)),
      ]).finally(() => {
        stopWatching();
        context.signal?.removeEventListener('abort', calledOff);
      });
      if (failures.length > 0) throw failures[0];
      if (result.exitCode !== 0) throw toolFailure('pg_dump', result);
      if (!files || files.length === 0 || files.every((file) => file.plainBytes === 0))
        throw new StorageError('FAILED', 'pg_dump produced no output.', { hint: 'Check the server log; nothing was kept as complete.' });
      if (parallel && !files.some((file) => archiveNameOf(file.name) === 'toc.dat'))
        throw new StorageError('FAILED', 'pg_dump wrote no table of contents (toc.dat).', { hint: 'Check the server log; nothing was kept as complete.' });
      done(`${Object.keys(counts!).length} tables${parallel ? `, ${files.length} files` : ''}${rowCounts === 'estimate' ? ' (row counts estimated)' : ''}`);
      return {
        database: meta.db,
        payloadFormat: parallel ? ('pg_dump-directory' as const) : ('pg_dump-custom' as const),
        files,
        counts: counts!,
        rowCounts,
        ...(parallel ? { jobs } : {}),
        serverVersion: meta.version,
        dumpTool: toolVersion,
      };
    } finally {
      await client.query('rollback').catch(() => undefined);
    }
  });
}

/**
 * Reads a backup's archive back and checks every byte (a corrupt backup or a wrong key touches
 * nothing), then feeds it to `pg_restore` on its stdin (no plaintext on disk) into the store's
 * own database, with `args` (e.g. --single-transaction).
 */
export async function checkArchive({ manifest, dir, key }: { manifest: BackupManifest; dir: string; key?: Buffer }): Promise<void> {
  const file = manifest.files[0];
  await readPayload(dir, file, { key, context: `${manifest.id}/${file.name}` }, discard());
}

export async function pgRestoreInto(
  provider: PostgresProvider,
  { manifest, dir, key }: { manifest: BackupManifest; dir: string; key?: Buffer },
  args: string[],
): Promise<void> {
  const serverMajor = await provider.serverMajor();
  const { url, password } = await provider.toolConnection();
  await pgRestoreFromStdin(serverMajor, [...args, '--exit-on-error', '--dbname', url], 'pg_restore', password, { manifest, dir, key });
}

/** pg_restore reading a single-file archive on its stdin: the plaintext never touches the disk. */
async function pgRestoreFromStdin(
  serverMajor: number,
  args: string[],
  what: string,
  password: string | undefined,
  { manifest, dir, key }: { manifest: BackupManifest; dir: string; key?: Buffer },
): Promise<void> {
  const file = manifest.files[0];
  const child = startTool(pgTool('pg_restore', serverMajor), args, { what, env: { PGPASSWORD: password }, stdin: 'pipe' });
  const fed = readPayload(dir, file, { key, context: `${manifest.id}/${file.name}` }, child.stdin!).then(
    () => undefined,
    (error: unknown) => error,
  );
  const [feedError, result] = await Promise.all([fed, child.done]);
  // pg_restore's own failure explains a broken pipe better than the pipe does.
  if (result.exitCode !== 0) throw toolFailure('pg_restore', result);
  if (feedError) throw feedError;
}

/** The archive file a payload file of a directory-format backup holds; BAD_DATA for a name this tool never writes. */
function archiveFile(payloadName: string): string {
  const name = archiveNameOf(payloadName);
  if (name === undefined)
    throw new StorageError('BAD_DATA', `${payloadName} is not a file of a pg_dump directory archive.`, {
      hint: 'Do not restore from this backup.',
      details: { file: payloadName },
    });
  return name;
}

/** Decrypts every file of a backup's archive into `target` (0600 files in a 0700 directory), checking every byte. */
async function decodeArchive({ manifest, dir, key }: { manifest: BackupManifest; dir: string; key?: Buffer }, target: string): Promise<void> {
  const read = (file: PayloadFile, to: string) =>
    readPayload(dir, file, { key, context: `${manifest.id}/${file.name}`, chunkSize: manifest.chunkSize }, fs.createWriteStream(to, { mode: 0o600 }));
  if (manifest.payloadFormat !== 'pg_dump-directory') {
    await read(manifest.files[0], target);
    return;
  }
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  // Every name is checked before anything is written; then one file at a time, as the dump stored them.
  const files = manifest.files.map((file) => ({ file, to: path.join(target, archiveFile(file.name)) }));
  for (const { file, to } of files) await read(file, to);
}

export const postgresBackup: BackupCapability<PostgresProvider> = {
  // A pg_dump custom-format archive, or a directory-format one (--jobs): pg_restore reads either.
  exportName: (manifest, fileName) =>
    manifest.payloadFormat === 'pg_dump-directory'
      ? `${fileNameSafe(manifest.database)}.dir/${archiveFile(fileName)}`
      : `${fileNameSafe(manifest.database)}.dump`,

  dump(context) {
    return dumpPostgres(context);
  },

  async restore({ manifest, dir, key, provider, database, staged, previous, force, journal, scratch, progress, parallel }) {
    const postgres = provider;
    const directory = manifest.payloadFormat === 'pg_dump-directory';
    const jobs = Math.max(1, parallel ?? manifest.jobs ?? 1);
    // pg_restore -j must seek in its archive, and a directory archive is files: the decrypted
    // archive goes to a 0600 scratch directory (removed on every exit path, swept by the next
    // command). Decoding it checks every byte, before the server is touched.
    const onDisk = directory || jobs > 1;
    const archive = path.join(scratch, directory ? 'restore.dir' : 'restore.dump');
    let done = progress.step(
      onDisk ? `read back, check and decrypt the archive to scratch (${manifest.files.length} file(s))` : 'read back and check the archive',
    );
    if (onDisk) await decodeArchive({ manifest, dir, key }, archive);
    else await readPayload(dir, manifest.files[0], { key, context: `${manifest.id}/${manifest.files[0].name}` }, discard());
    done();
    const why = 'Restoring over it renames it aside, which needs them gone.';
    try {
      // Refuse before the long work, not after it; with --force the sessions are terminated only at the swap.
      if (previous !== undefined && !force) await onMaintenance(provider, (client) => clearSessions(client, database, { force, why }));
      const serverMajor = await postgres.serverMajor();
      journal('staging');
      done = progress.step(`create database "${staged}" and pg_restore${jobs > 1 ? ` -j ${jobs}` : ''} into it`);
      await postgres.createDatabase(staged);
      try {
        const { url, password } = await postgres.toolConnection(staged);
        const args = ['--no-owner', '--no-privileges', '--exit-on-error', '--dbname', url];
        if (onDisk) {
          const result = await runTool(pgTool('pg_restore', serverMajor), [...args, `--jobs=${jobs}`, archive], {
            what: `pg_restore into "${staged}"`,
            env: { PGPASSWORD: password },
          });
          if (result.exitCode !== 0) throw toolFailure('pg_restore', result);
        } else {
          await pgRestoreFromStdin(serverMajor, args, `pg_restore into "${staged}"`, password, { manifest, dir, key });
        }
        done();
      } catch (error) {
        // Never leave a half-restored database behind, under any name.
        await postgres.dropDatabase(staged, { force: true }).catch(() => undefined);
        throw error;
      }
    } finally {
      fs.rmSync(archive, { recursive: true, force: true });
    }
    if (staged === database) return { database };
    journal('swapping');
    done = progress.step(`rename "${staged}" to "${database}"`);
    await swapInto(provider, { staged, database, previous }, { force, why });
    done(previous ? `the replaced database is kept as "${previous}"` : undefined);
    return { database, previous };
  },

  async targetState(provider, database) {
    const postgres = provider;
    if (!(await postgres.listDatabases()).includes(database)) return 'absent';
    // Not only tables: a database holding only a view, a function or a large object holds data too.
    const objects = await postgres.withDatabase(database, (client) => client.query(HOLDS_ANYTHING_SQL));
    return objects.rows.length === 0 ? 'empty' : 'non-empty';
  },

  async count(provider, database) {
    return provider.withDatabase(database, (client) => countTables((sql) => client.query(sql)));
  },

  async drop(provider, database) {
    await provider.dropDatabase(database, { force: true });
  },

  async settleRestore(provider, entry) {
    return settleStaged(pgStagingOps(provider), entry);
  },

  systemDatabases: ['postgres', 'template0', 'template1'],
  countedThings: { one: 'table', many: 'tables' },
  parallelDump: true,

  async prepare(provider, purpose) {
    // A connection in the pool, the server's version, and for a dump pg_dump's (probed once).
    const serverMajor = await provider.serverMajor();
    if (purpose === 'dump') await toolMajor(pgTool('pg_dump', serverMajor));
  },
};
