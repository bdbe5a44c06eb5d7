// What SQLite's result codes mean for a store that is a file: it cannot be opened, it is not a
// healthy database, or another process holds its lock. No credentials, no retries.
import { StorageError } from '../../errors.js';
import type { FailureRules } from '../spec.js';

export const sqliteFailures: FailureRules = {
  isTransient: () => false,
  isAuthFailure: () => false,
  describe(store, error, { message, address }) {
    const code = String((error as { code?: unknown })?.code ?? '');
    if (code === 'ELOOP')
      return new StorageError('NOT_FOUND', `Cannot open the SQLite file of store "${store.name}": ${address} (${message}).`, {
        hint: "Point the store's path at the database file, or mend the links (`ls -l` shows where each one points).",
        details: { store: store.name, path: address },
      });
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
    // Opened read-only (`readonly: true`, or a backup's own read-only connection), SQLite cannot
    // finish what a killed writer left: a hot rollback journal must be rolled back, a WAL must be
    // recovered or its shared-memory index built, and each needs a writable open of the file.
    const readonlyStore = (store.config as { readonly?: boolean }).readonly === true;
    const openWritable = readonlyStore
      ? `Open it writable once so SQLite can finish that (run the command once with \`readonly: true\` removed from store "${store.name}", or open the file with the sqlite3 shell and run \`pragma schema_version;\`), then set \`readonly: true\` again.`
      : 'Open it writable once so SQLite can finish that (e.g. the sqlite3 shell: `pragma schema_version;`), as the user that owns the file, then run again.';
    if (code === 'SQLITE_READONLY_ROLLBACK')
      return new StorageError(
        'FAILED',
        `The SQLite file of store "${store.name}" has a hot journal (${address}-journal) left by a write that was interrupted (a killed or crashed writer); rolling it back needs a writable open, and this one is read-only.`,
        {
          hint: `${openWritable} Do not delete the -journal file: it holds the pages that undo the unfinished write.`,
          details: { store: store.name, path: address },
        },
      );
    if (code === 'SQLITE_READONLY_RECOVERY' || code === 'SQLITE_READONLY_CANTINIT')
      return new StorageError(
        'FAILED',
        `The SQLite file of store "${store.name}" is in WAL mode and its write-ahead log (${address}-wal) needs recovery or its shared-memory index (${address}-shm) cannot be set up, after a writer stopped without closing; that needs a writable open, and this one is read-only.`,
        { hint: `${openWritable} Do not delete the -wal file: it holds committed transactions.`, details: { store: store.name, path: address } },
      );
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      return new StorageError('IN_USE', `The SQLite file of store "${store.name}" is locked by another process: ${address}.`, {
        hint: 'Wait for the other writer to finish, then try again.',
        details: { store: store.name, path: address },
      });
    return undefined;
  },
  hintFor: () => undefined,
};
