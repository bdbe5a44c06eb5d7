// What PostgreSQL's errors mean (by SQLSTATE): which are worth retrying, which are wrong
// credentials, and what an operator can do about the ones long runs meet.
import { envPrefix } from '../../config/load.js';
import { StorageError } from '../../errors.js';
import { shellQuote } from '../../system/shell.js';
import type { FailureRules } from '../spec.js';

// admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, connection_failure family
const TRANSIENT = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const AUTH = new Set(['28P01', '28000']);

/** What to do about PostgreSQL errors an operator meets in long runs (SQLSTATE → hint). */
const HINTS: Record<string, string> = {
  '55P03':
    "Another session holds a lock on a table this run needs (see pg_stat_activity / pg_locks). Wait for it to finish, or raise the store's statementTimeout, which bounds how long a run waits for a lock.",
  '57014': "The statement ran longer than the store's statementTimeout; raise statementTimeout in the config if the work is legitimately slow.",
  '53200':
    'The server ran out of lock or shared memory: a dump locks every table at once, so a database with many tables needs max_locks_per_transaction raised (postgresql.conf, then a restart).',
};

const sqlstate = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
};

/** The hint for a PostgreSQL tool's message (pg_dump, pg_restore print no SQLSTATE), if one applies. */
export function hintForPostgresMessage(message: string): string | undefined {
  if (/out of shared memory|max_locks_per_transaction/i.test(message)) return HINTS['53200'];
  if (/could not obtain lock|lock timeout/i.test(message)) return HINTS['55P03'];
  return undefined;
}

export const postgresFailures: FailureRules = {
  isTransient: (error) => TRANSIENT.has(sqlstate(error) ?? ''),
  isAuthFailure: (error) =>
    AUTH.has(sqlstate(error) ?? '') || /authentication failed|password must be a string|SASL/i.test(String((error as Error)?.message ?? '')),
  describe(store, error, { message, address }) {
    if (sqlstate(error) === '3D000')
      return new StorageError('NOT_FOUND', `Store "${store.name}": ${message} (${address}).`, {
        hint: `Create the database with \`storage db create ${shellQuote(store.name)} NAME\` on a store that can reach the server, or fix the database in the url (or ${envPrefix(store.name)}URL).`,
        details: { store: store.name, address },
      });
    return undefined;
  },
  hintFor: (error) => HINTS[sqlstate(error) ?? ''],
};
