// Turns driver errors into StorageErrors an operator can act on, and decides which ones are
// worth retrying. What every engine shares lives here (network errors, timeouts, local files);
// what an engine's own errors mean comes from its spec (engines/<engine>/failures.ts). Driver
// messages are redacted before they are kept.
import type { ResolvedStore } from '../config/load.js';
import { envPrefix } from '../config/load.js';
import { StorageError, isStorageError } from '../errors.js';
import { redact } from '../redact.js';
import { fileSystemFailure, isFileSystemError } from '../system/fs-errors.js';
import { loadedEngine, loadedEngines } from './loaded.js';
import { storeAddress } from './target.js';

const TRANSIENT_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED']);

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

/** A failure worth retrying: the network, a timeout, or what a loaded engine calls transient. */
export function isTransient(error: unknown): boolean {
  if (isStorageError(error)) return error.code === 'UNREACHABLE' || error.code === 'TIMEOUT';
  const code = errorCode(error);
  if (code && TRANSIENT_NET.has(code)) return true;
  if (loadedEngines().some((spec) => spec.failures.isTransient(error))) return true;
  const message = messageOf(error);
  return isTimeoutMessage(message) || /Connection terminated unexpectedly|socket hang up/i.test(message);
}

/** The StorageError to report for a failure talking to a store. */
export function describeFailure(store: ResolvedStore, error: unknown): StorageError {
  if (isStorageError(error)) return error;
  // A full or read-only local disk (the backup repository, a scratch file) is not the server's doing.
  if (isFileSystemError(error)) return fileSystemFailure(error);
  const address = storeAddress(store);
  const message = messageOf(error);
  const spec = loadedEngine(store.engine);
  const label = spec?.label ?? store.engine;
  const rules = spec?.failures;
  if (rules?.isAuthFailure(error)) {
    return new StorageError('AUTH_FAILED', `Authentication failed for store "${store.name}" (${label} at ${address}): ${message}`, {
      hint: `Check the user in the store's url and its password (config \`password:\` or ${envPrefix(store.name)}PASSWORD). Not retried: a wrong password does not fix itself.`,
      details: { store: store.name, address },
    });
  }
  const own = rules?.describe(store, error, { message, address });
  if (own) return own;
  const code = errorCode(error);
  if (isTimeoutMessage(message) || code === 'ETIMEDOUT') {
    return new StorageError('TIMEOUT', `Store "${store.name}" (${label} at ${address}) did not answer within ${store.connectTimeoutMs}ms.`, {
      hint: `Check that ${address} is the right address and that no firewall drops the traffic; raise connectTimeout in the config if the server is just slow.`,
      details: { store: store.name, address, cause: message },
    });
  }
  if (isTransient(error) || code === 'ENOTFOUND') {
    return new StorageError('UNREACHABLE', `Cannot reach store "${store.name}" (${label} at ${address}): ${message}`, {
      hint: `Is the server running and accepting connections on ${address}? Check the url of store "${store.name}".`,
      details: { store: store.name, address },
    });
  }
  return new StorageError('QUERY_FAILED', `Store "${store.name}" (${label} at ${address}): ${message}`, {
    hint: rules?.hintFor(error) || serverHint(error) || 'The server rejected the request; the message above is its own.',
    details: { store: store.name, address, driverCode: code ?? null },
  });
}
