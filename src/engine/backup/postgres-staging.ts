// What PostgreSQL restores (from a backup or a snapshot) share: other sessions on a database are
// named and refused unless --force, which terminates them (as `db drop` and `snapshot create` do);
// a complete staged copy is swapped in by renames, the replaced database kept aside; and what an
// interrupted restore left is settled by name.
import type { Client } from 'pg';
import { StorageError } from '../errors.js';
import { quoteIdent, type PostgresProvider } from '../providers/postgres.js';
import type { Provider } from '../providers/types.js';
import type { StagingOps } from '../restore-journal.js';

export interface PgSession {
  pid: number;
  usename: string | null;
  application_name: string | null;
}

function pg(provider: Provider): PostgresProvider {
  return provider as PostgresProvider;
}

/** Runs work on a connection to the maintenance database, with our own pool (which may sit on the database being renamed) closed. */
export async function onMaintenance<T>(provider: Provider, work: (client: Client) => Promise<T>): Promise<T> {
  const postgres = pg(provider);
  const maintenance = await postgres.maintenanceDatabase();
  await postgres.closePool();
  return postgres.withDatabase(maintenance, work);
}

async function sessionsNow(client: Client, database: string): Promise<PgSession[]> {
  return (
    await client.query<PgSession>('select pid, usename, application_name from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() order by pid', [
      database,
    ])
  ).rows;
}

/**
 * Other sessions on `database` that stay: a connection just closed (our own pool's, closed before
 * this check, or anyone's) lingers in pg_stat_activity for a moment, so sessions are looked at
 * again for up to a second and only those still there count.
 */
export async function otherSessions(client: Client, database: string): Promise<PgSession[]> {
  let sessions = await sessionsNow(client, database);
  for (let i = 0; i < 10 && sessions.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const pids = new Set((await sessionsNow(client, database)).map((session) => session.pid));
    sessions = sessions.filter((session) => pids.has(session.pid));
  }
  return sessions;
}

export function describeSessions(sessions: PgSession[]): string {
  return sessions.map((s) => `pid ${s.pid} (${s.usename ?? '?'}${s.application_name ? `, ${s.application_name}` : ''})`).join(', ');
}

export async function terminateSessions(client: Client, database: string): Promise<void> {
  await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
  // Terminated backends take a moment to go away.
  for (let i = 0; i < 50 && (await sessionsNow(client, database)).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
}

/**
 * Other sessions on `database`: refused (IN_USE, naming them) unless `force`, which terminates
 * them. `why` says what needs them gone ("Restoring renames it").
 */
export async function clearSessions(client: Client, database: string, options: { force: boolean; why: string }): Promise<number> {
  const sessions = await otherSessions(client, database);
  if (sessions.length === 0) return 0;
  if (!options.force) {
    throw new StorageError(
      'IN_USE',
      `Database "${database}" has ${sessions.length} other session${sessions.length === 1 ? '' : 's'}: ${describeSessions(sessions)}. ${options.why}`,
      {
        hint: 'Stop those clients, or add --force to terminate their sessions first.',
        details: { sessions: sessions.map((s) => ({ id: String(s.pid), user: s.usename, application: s.application_name })) },
      },
    );
  }
  await terminateSessions(client, database);
  return sessions.length;
}

/** Renames `staged` into `database`, moving an existing `database` to `previous` first (sessions on it: as clearSessions). */
export async function swapInto(
  provider: Provider,
  names: { staged: string; database: string; previous?: string },
  options: { force: boolean; why: string },
): Promise<void> {
  await onMaintenance(provider, async (client) => {
    if (names.previous !== undefined) {
      await clearSessions(client, names.database, options);
      await client.query(`alter database ${quoteIdent(names.database)} rename to ${quoteIdent(names.previous)}`);
    }
    await client.query(`alter database ${quoteIdent(names.staged)} rename to ${quoteIdent(names.database)}`);
  });
}

export function pgStagingOps(provider: Provider): StagingOps {
  return {
    exists: async (name) => (await pg(provider).listDatabases()).includes(name),
    drop: async (name) => {
      await pg(provider).dropDatabase(name, { force: true });
    },
    rename: (from, to) =>
      onMaintenance(provider, (client) => client.query(`alter database ${quoteIdent(from)} rename to ${quoteIdent(to)}`)).then(() => undefined),
  };
}
