// SQLite: a store is a file (better-sqlite3); backups and snapshots through the online backup
// API; no server, so no credentials to rotate and no client programs.
import type { EngineSpec } from '../spec.js';
import { sqliteFailures } from './failures.js';
import { SqliteProvider } from './provider.js';

export const sqlite: EngineSpec<SqliteProvider> = {
  engine: 'sqlite',
  label: 'SQLite',
  openProvider: (store) => new SqliteProvider(store),
  embedded: true,
  failures: sqliteFailures,
  // A database of a store is NAME.db beside the store's file; NAME is kept to a safe file name.
  names: { maxBytes: 63, unsafe: /[^A-Za-z0-9_-]/g },
  backup: async () => (await import('./backup.js')).sqliteBackup,
  snapshot: async () => (await import('./snapshot.js')).sqliteSnapshots,
  sync: async () => (await import('./sync.js')).sqliteSync,
  tenancy: async () => (await import('./tenancy.js')).sqliteTenancy,
  lacks: {
    rotatePassword: 'it has no server credentials to rotate',
    clientTools: 'its backups run no external programs',
    failover: 'it has no replication; use backups or sync',
  },
};
