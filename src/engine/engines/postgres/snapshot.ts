// PostgreSQL snapshots: CREATE DATABASE … TEMPLATE (a server-side file copy), which needs the
// source to have no other sessions. When the template route is impossible even after --force
// (sessions that cannot be ended, no right to), it falls back to pg_dump | pg_restore into the
// snapshot database and says so. Restores stage a copy of the snapshot and swap names, so the
// current data is renamed aside, never dropped; sessions on the database are refused unless --force.
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { startTool } from '../../system/child-process.js';
import { StorageError } from '../../errors.js';
import { tableStats } from './backup.js';
import { pgTool } from './tools.js';
import { clearSessions, describeSessions, otherSessions, terminateSessions } from './sessions.js';
import { onMaintenance, pgStagingOps, swapInto } from './staging.js';
import { quoteIdent, type PostgresProvider } from './provider.js';
import { settleStaged } from '../../restore-journal.js';
import type { SnapshotCapability } from '../spec.js';

function inUse(error: unknown): boolean {
  return (error as { code?: string }).code === '55006';
}

async function templateCopy(client: Client, source: string, copy: string): Promise<void> {
  await client.query(`create database ${quoteIdent(copy)} template ${quoteIdent(source)} strategy file_copy`);
}

/** pg_dump | pg_restore from one database of the server into another (both run under the watchdog). */
async function dumpRestore(provider: PostgresProvider, source: string, copy: string, major: number): Promise<void> {
  const from = await provider.toolConnection(source);
  const to = await provider.toolConnection(copy);
  const dump = startTool(pgTool('pg_dump', major), ['-Fc', '--dbname', from.url], {
    what: `pg_dump of "${source}"`,
    env: { PGPASSWORD: from.password },
    stdout: 'pipe',
  });
  const restore = startTool(pgTool('pg_restore', major), ['--no-owner', '--exit-on-error', '--dbname', to.url], {
    what: `pg_restore into "${copy}"`,
    env: { PGPASSWORD: to.password },
    stdin: 'pipe',
  });
  const piped = pipeline(dump.stdout!, restore.stdin!).catch(() => undefined);
  const [dumped, restored] = await Promise.all([dump.done, restore.done, piped]);
  const failures = (
    [
      ['pg_dump', dumped],
      ['pg_restore', restored],
    ] as const
  )
    .filter(([, result]) => result.exitCode !== 0)
    .map(
      ([tool, result]) =>
        `${tool} ${result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`}: ${result.stderr.trim().split('\n').slice(-3).join(' ')}`,
    );
  // Both are named when both failed: the one that failed first made the other fail.
  if (failures.length > 0) throw new Error(failures.join('; '));
}

export const postgresSnapshots: SnapshotCapability<PostgresProvider> = {
  async defaultDatabase(provider) {
    return provider.withClient(async (client) => (await client.query<{ db: string }>('select current_database() as db')).rows[0].db);
  },

  async create(provider, source, copy, { force }) {
    const method = await onMaintenance(provider, async (client) => {
      const sessions = await otherSessions(client, source);
      if (sessions.length > 0 && !force) {
        const who = describeSessions(sessions);
        throw new StorageError('IN_USE', `A template copy needs database "${source}" to have no other sessions; it has ${sessions.length}: ${who}.`, {
          hint: 'Stop those clients, or add --force to terminate their sessions first.',
          details: { sessions },
        });
      }
      for (let attempt = 0; attempt < 3; attempt++) {
        if (force) await terminateSessions(client, source);
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
      await provider.createDatabase(copy);
      const major = await provider.serverMajor();
      try {
        await dumpRestore(provider, source, copy, major);
      } catch (error) {
        await provider.dropDatabase(copy, { force: true }).catch(() => undefined);
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

  async restore(provider, record, { staged, previous }, journal, { force }) {
    const why = 'Restoring a snapshot renames the database aside, which needs them gone.';
    const copyWhy = 'Copying the snapshot (CREATE DATABASE … TEMPLATE) needs it to have no other sessions.';
    await onMaintenance(provider, async (client) => {
      // Refused before anything is copied: sessions on the database (renamed aside) or on the snapshot (the template).
      if (!force) {
        await clearSessions(client, record.source, { force, why });
        await clearSessions(client, record.copy, { force, why: copyWhy });
      }
      // 1. A full copy of the snapshot, so the snapshot itself stays usable; recorded before it is made.
      journal('staging');
      await clearSessions(client, record.copy, { force, why: copyWhy });
      await templateCopy(client, record.copy, staged);
    });
    // 2. The database is moved aside and the copy renamed into place.
    journal('swapping');
    await swapInto(provider, { staged, database: record.source, previous }, { force, why });
  },

  async settleRestore(provider, record, restoring) {
    return settleStaged(pgStagingOps(provider), { database: record.source, staged: restoring.staged, phase: restoring.phase ?? 'swapping' });
  },

  async exists(provider, copy) {
    return (await provider.listDatabases()).includes(copy);
  },

  async drop(provider, copy) {
    await provider.dropDatabase(copy, { force: true });
  },

  async stats(provider, database) {
    return provider.withDatabase(database, (client) => tableStats((sql) => client.query(sql)));
  },
};
