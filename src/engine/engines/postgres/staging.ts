// What PostgreSQL restores (from a backup or a snapshot) share: other sessions on a database are
// named and refused unless --force, which terminates them (as `db drop` and `snapshot create` do);
// a complete staged copy is swapped in by renames, the replaced database kept aside; and what an
// interrupted restore left is settled by name.
import type { Client } from 'pg';
import { quoteIdent, type PostgresProvider } from './provider.js';
import { clearSessions } from './sessions.js';
import type { StagingOps } from '../../restore-journal.js';

/** Runs work on a connection to the maintenance database, with our own pool (which may sit on the database being renamed) closed. */
export async function onMaintenance<T>(provider: PostgresProvider, work: (client: Client) => Promise<T>): Promise<T> {
  const postgres = provider;
  const maintenance = await postgres.maintenanceDatabase();
  await postgres.closePool();
  return postgres.withDatabase(maintenance, work);
}

/** Renames `staged` into `database`, moving an existing `database` to `previous` first (sessions on it: as clearSessions). */
export async function swapInto(
  provider: PostgresProvider,
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

export function pgStagingOps(provider: PostgresProvider): StagingOps {
  return {
    exists: async (name) => (await provider.listDatabases()).includes(name),
    drop: async (name) => {
      await provider.dropDatabase(name, { force: true });
    },
    rename: (from, to) =>
      onMaintenance(provider, (client) => client.query(`alter database ${quoteIdent(from)} rename to ${quoteIdent(to)}`)).then(() => undefined),
  };
}
