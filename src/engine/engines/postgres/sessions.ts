// Other sessions on a PostgreSQL database, the one place that finds, names and ends them: drops,
// restores and snapshot copies all need a database to themselves, refuse while others use it
// (naming them) and terminate them only when the operator said --force.
import type { Client } from 'pg';
import { StorageError } from '../../errors.js';

export interface PgSession {
  pid: number;
  usename: string | null;
  application_name: string | null;
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

/** Terminates every other session on `database` and waits (up to 5 s) for them to go; returns how many were terminated. */
export async function terminateSessions(client: Client, database: string): Promise<number> {
  const result = await client.query<{ ok: boolean }>(
    'select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
    [database],
  );
  // Terminated backends take a moment to go away.
  for (let i = 0; i < 50 && (await sessionsNow(client, database)).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  return result.rows.filter((row) => row.ok).length;
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
      `Database "${database}" has ${sessions.length} other session${sessions.length === 1 ? '' : 's'}: ${describeSessions(sessions)}.${options.why ? ` ${options.why}` : ''}`,
      {
        hint: 'Stop those clients, or add --force to terminate their sessions first.',
        details: { sessions: sessions.map((s) => ({ id: String(s.pid), user: s.usename, application: s.application_name })) },
      },
    );
  }
  return terminateSessions(client, database);
}
