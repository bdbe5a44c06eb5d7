// What SQLite's result codes mean for a store that is a file: it cannot be opened, it is not a
// healthy database, or another process holds its lock. No credentials, no retries.
import { StorageError } from '../../errors.js';
import type { FailureRules } from '../spec.js';

export const sqliteFailures: FailureRules = {
  isTransient: () => false,
  isAuthFailure: () => false,
  describe(store, error, { message, address }) {
    const code = String((error as { code?: unknown })?.code ?? '');
    if (code === 'SQLITE_CANTOPEN' || code === 'ENOENT')
      return new StorageError('NOT_FOUND', `Cannot open the SQLite file of store "${store.name}": ${address} (${message}).`, {
        hint: "Check the store's path; the file must exist and its directory must be readable.",
        details: { store: store.name, path: address },
      });
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
      return new StorageError('BAD_DATA', `The file of store "${store.name}" is not a healthy SQLite database: ${address} (${message}).`, {
        hint: "Check the store's path points at a SQLite database; restore it from a backup if it is damaged.",
        details: { store: store.name, path: address },
      });
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      return new StorageError('IN_USE', `The SQLite file of store "${store.name}" is locked by another process: ${address}.`, {
        hint: 'Wait for the other writer to finish, then try again.',
        details: { store: store.name, path: address },
      });
    return undefined;
  },
  hintFor: () => undefined,
};
