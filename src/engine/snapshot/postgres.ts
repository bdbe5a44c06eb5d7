// PostgreSQL snapshots: CREATE DATABASE … TEMPLATE (a server-side file copy), which needs the
// source to have no other sessions. When the template route is impossible even after --force
// (sessions that cannot be ended, no right to), it falls back to pg_dump | pg_restore into the
// snapshot database and says so. Restores stage a copy of the snapshot and swap names, so the
// current data is renamed aside, never dropped.
import { execa } from 'execa';
import type { Client } from 'pg';
import { StorageError } from '../errors.js';
import { childEnv } from '../child-env.js';
import { pgTool, tableStats } from '../backup/postgres.js';
import { quoteIdent, type PostgresProvider } from '../providers/postgres.js';
import type { Provider } from '../providers/types.js';
import type { SnapshotEngine } from './engine.js';

function pg(provider: Provider): PostgresProvider {
  return provider as PostgresProvider;
}

async function onMaintenance<T>(provider: Provider, work: (client: Client) => Promise<T>): Promise<T> {
  const postgres = pg(provider);
  const maintenance = await postgres.maintenanceDatabase();
  // Our own pool may be connected to the database being copied or renamed.
  await postgres.closePool();
  return postgres.withDatabase(maintenance, work);
}

async function otherSessions(client: Client, database: string) {
  return (
    await client.query<{ pid: number; usename: string | null; application_name: string | null }>(
      'select pid, usename, application_name from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    )
  ).rows;
}

async function terminate(client: Client, database: string): Promise<void> {
  await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
  // Terminated backends take a moment to go away.
  for (let i = 0; i < 50 && (await otherSessions(client, database)).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
}

function inUse(error: unknown): boolean {
  return (error as { code?: string }).code === '55006';
}

async function templateCopy(client: Client, source: string, copy: string): Promise<void> {
  await client.query(`create database ${quoteIdent(copy)} template ${quoteIdent(source)} strategy file_copy`);
}

export const postgresSnapshots: SnapshotEngine = {
  async defaultDatabase(provider) {
    return pg(provider).withClient(async (client) => (await client.query<{ db: string }>('select current_database() as db')).rows[0].db);
  },

  async create(provider, source, copy, { force }) {
    const method = await onMaintenance(provider, async (client) => {
      const sessions = await otherSessions(client, source);
      if (sessions.length > 0 && !force) {
        const who = sessions.map((s) => `pid ${s.pid} (${s.usename ?? '?'}${s.application_name ? `, ${s.application_name}` : ''})`).join(', ');
        throw new StorageError('IN_USE', `A template copy needs database "${source}" to have no other sessions; it has ${sessions.length}: ${who}.`, {
          hint: 'Stop those clients, or add --force to terminate their sessions first.',
          details: { sessions },
        });
      }
      for (let attempt = 0; attempt < 3; attempt++) {
        if (force) await terminate(client, source);
        try {
          await templateCopy(client, source, copy);
          return 'template' as const;
        } catch (error) {
          if (!inUse(error)) throw error;
          if (!force) throw new StorageError('IN_USE', `Database "${source}" gained a session while copying.`, { hint: 'Try again, or add --force.' });
        }
      }
      return 'dump-restore' as const;
    });
    let note: string | undefined;
    if (method === 'dump-restore') {
      note = `Sessions on "${source}" kept coming back, so the snapshot was copied with pg_dump | pg_restore instead of a template copy (slower, same result).`;
      await pg(provider).createDatabase(copy);
      const major = await pg(provider).withClient(async (client) =>
        Math.floor(Number((await client.query<{ n: string }>("select current_setting('server_version_num') as n")).rows[0].n) / 10000),
      );
      const from = await pg(provider).toolConnection(source);
      const to = await pg(provider).toolConnection(copy);
      try {
        await execa(pgTool('pg_dump', major), ['-Fc', '--dbname', from.url], { env: childEnv({ PGPASSWORD: from.password }), extendEnv: false }).pipe(
          pgTool('pg_restore', major),
          ['--no-owner', '--exit-on-error', '--dbname', to.url],
          { env: childEnv({ PGPASSWORD: to.password }), extendEnv: false },
        );
      } catch (error) {
        await pg(provider)
          .dropDatabase(copy, { force: true })
          .catch(() => undefined);
        throw new StorageError('FAILED', `Copying "${source}" with pg_dump | pg_restore failed: ${(error as Error).message.split('\n')[0]}`, {
          hint: 'Nothing was kept; see the message above.',
        });
      }
    }
    const size = await onMaintenance(provider, async (client) => {
      await client.query(
        `comment on database ${quoteIdent(copy)} is ${client.escapeLiteral(`storage snapshot of ${source} taken ${new Date().toISOString()}`)}`,
      );
      return Number((await client.query<{ size: string }>('select pg_database_size($1)::text as size', [copy])).rows[0].size);
    });
    return { method, sizeBytes: size, note };
  },

  async restore(provider, record, { staged, previous }, journal) {
    await onMaintenance(provider, async (client) => {
      // 1. A full copy of the snapshot, so the snapshot itself stays usable.
      await terminate(client, record.copy);
      await templateCopy(client, record.copy, staged);
      // 2. From here on both copies exist; the journal says how to finish if this run dies.
      journal();
      await terminate(client, record.source);
      await client.query(`alter database ${quoteIdent(record.source)} rename to ${quoteIdent(previous)}`);
      await client.query(`alter database ${quoteIdent(staged)} rename to ${quoteIdent(record.source)}`);
    });
  },

  async exists(provider, copy) {
    return (await pg(provider).listDatabases()).includes(copy);
  },

  async drop(provider, copy) {
    await pg(provider).dropDatabase(copy, { force: true });
  },

  async stats(provider, database) {
    return pg(provider).withDatabase(database, (client) => tableStats((sql) => client.query(sql)));
  },
};
