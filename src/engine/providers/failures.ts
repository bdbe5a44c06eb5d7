// Turns driver errors into StorageErrors an operator can act on, and decides which ones are
// worth retrying. Driver messages are redacted before they are kept.
import type { ResolvedStore } from '../config/load.js';
import { envPrefix } from '../config/load.js';
import { StorageError, isStorageError } from '../errors.js';
import { fileSystemFailure, isFileSystemError } from '../fs-errors.js';
import { redact } from '../redact.js';
import { storeAddress } from './target.js';
import { shellQuote } from '../shell.js';

const TRANSIENT_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED']);
// admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, connection_failure family
const TRANSIENT_PG = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const AUTH_PG = new Set(['28P01', '28000']);
const MONGO_AUTH = new Set([18, 13]);

/** What to do about PostgreSQL errors an operator meets in long runs (SQLSTATE → hint). */
const PG_HINTS: Record<string, string> = {
  '55P03':
    "Another session holds a lock on a table this run needs (see pg_stat_activity / pg_locks). Wait for it to finish, or raise the store's statementTimeout, which bounds how long a run waits for a lock.",
  '57014': "The statement ran longer than the store's statementTimeout; raise statementTimeout in the config if the work is legitimately slow.",
  '53200':
    'The server ran out of lock or shared memory: a dump locks every table at once, so a database with many tables needs max_locks_per_transaction raised (postgresql.conf, then a restart).',
};

/** The hint for a PostgreSQL tool's message (pg_dump, pg_restore print no SQLSTATE), if one applies. */
export function hintForPostgresMessage(message: string): string | undefined {
  if (/out of shared memory|max_locks_per_transaction/i.test(message)) return PG_HINTS['53200'];
  if (/could not obtain lock|lock timeout/i.test(message)) return PG_HINTS['55P03'];
  return undefined;
}

/** The server's own HINT line, when it sent one. */
function serverHint(error: unknown): string | undefined {
  const hint = (error as { hint?: unknown })?.hint;
  return typeof hint === 'string' && hint ? `The server says: ${redact(hint)}` : undefined;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

function isTimeoutMessage(message: string): boolean {
  return /timeout expired|connection timeout|timed out|Server selection timed out/i.test(message);
}

export function isTransient(error: unknown): boolean {
  if (isStorageError(error)) return error.code === 'UNREACHABLE' || error.code === 'TIMEOUT';
  const code = errorCode(error);
  if (code && (TRANSIENT_NET.has(code) || TRANSIENT_PG.has(code))) return true;
  const name = (error as { name?: string })?.name ?? '';
  if (/MongoNetwork|MongoServerSelection|MongoNetworkTimeout/.test(name)) return true;
  const labels = (error as { errorLabels?: unknown })?.errorLabels;
  if (labels instanceof Set ? labels.has('RetryableWriteError') : Array.isArray(labels) && labels.includes('RetryableWriteError')) return true;
  const message = messageOf(error);
  return isTimeoutMessage(message) || /Connection terminated unexpectedly|socket hang up/i.test(message);
}

function isAuthFailure(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && AUTH_PG.has(code)) return true;
  if (typeof code === 'number' && MONGO_AUTH.has(code)) return true;
  return /authentication failed|auth(entication)? error|SASL|password must be a string/i.test(messageOf(error));
}

/** The StorageError to report for a failure talking to a store. */
export function describeFailure(store: ResolvedStore, error: unknown): StorageError {
  if (isStorageError(error)) return error;
  // A full or read-only local disk (the backup repository, a scratch file) is not the server's doing.
  if (isFileSystemError(error)) return fileSystemFailure(error);
  const address = storeAddress(store);
  const message = messageOf(error);
  const engineName = { postgres: 'PostgreSQL', mongodb: 'MongoDB', sqlite: 'SQLite' }[store.engine];
  if (store.engine !== 'sqlite' && isAuthFailure(error)) {
    return new StorageError('AUTH_FAILED', `Authentication failed for store "${store.name}" (${engineName} at ${address}): ${message}`, {
      hint: `Check the user in the store's url and its password (config \`password:\` or ${envPrefix(store.name)}PASSWORD). Not retried: a wrong password does not fix itself.`,
      details: { store: store.name, address },
    });
  }
  const code = errorCode(error);
  if (store.engine === 'postgres' && code === '3D000') {
    return new StorageError('NOT_FOUND', `Store "${store.name}": ${message} (${address}).`, {
      hint: `Create the database with \`storage db create ${shellQuote(store.name)} NAME\` on a store that can reach the server, or fix the database in the url.`,
      details: { store: store.name, address },
    });
  }
  if (isTimeoutMessage(message) || code === 'ETIMEDOUT') {
    return new StorageError('TIMEOUT', `Store "${store.name}" (${engineName} at ${address}) did not answer within ${store.connectTimeoutMs}ms.`, {
      hint: `Check that ${address} is the right address and that no firewall drops the traffic; raise connectTimeout in the config if the server is just slow.`,
      details: { store: store.name, address, cause: message },
    });
  }
  if (isTransient(error) || code === 'ENOTFOUND') {
    return new StorageError('UNREACHABLE', `Cannot reach store "${store.name}" (${engineName} at ${address}): ${message}`, {
      hint: `Is the server running and accepting connections on ${address}? Check the url of store "${store.name}".`,
      details: { store: store.name, address },
    });
  }
  if (store.engine === 'sqlite') {
    const sqliteCode = code ?? '';
    if (sqliteCode === 'SQLITE_CANTOPEN' || sqliteCode === 'ENOENT') {
      return new StorageError('NOT_FOUND', `Cannot open the SQLite file of store "${store.name}": ${address} (${message}).`, {
        hint: "Check the store's path; the file must exist and its directory must be readable.",
        details: { store: store.name, path: address },
      });
    }
    if (sqliteCode === 'SQLITE_NOTADB' || sqliteCode === 'SQLITE_CORRUPT') {
      return new StorageError('BAD_DATA', `The file of store "${store.name}" is not a healthy SQLite database: ${address} (${message}).`, {
        hint: "Check the store's path points at a SQLite database; restore it from a backup if it is damaged.",
        details: { store: store.name, path: address },
      });
    }
    if (sqliteCode === 'SQLITE_BUSY' || sqliteCode === 'SQLITE_LOCKED') {
      return new StorageError('IN_USE', `The SQLite file of store "${store.name}" is locked by another process: ${address}.`, {
        hint: 'Wait for the other writer to finish, then try again.',
        details: { store: store.name, path: address },
      });
    }
  }
  return new StorageError('QUERY_FAILED', `Store "${store.name}" (${engineName} at ${address}): ${message}`, {
    hint: (store.engine === 'postgres' && code && PG_HINTS[code]) || serverHint(error) || 'The server rejected the request; the message above is its own.',
    details: { store: store.name, address, driverCode: code ?? null },
  });
}
