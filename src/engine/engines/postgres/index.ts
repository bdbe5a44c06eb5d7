// PostgreSQL: a pooled `pg` provider; backups with pg_dump -Fc / pg_restore; snapshots as template
// copies; password rotation with a client-side SCRAM verifier; pg_dump/pg_restore version checks.
import type { EngineSpec } from '../spec.js';
import { postgresFailures } from './failures.js';
import { PostgresProvider } from './provider.js';

export const postgres: EngineSpec<PostgresProvider> = {
  engine: 'postgres',
  label: 'PostgreSQL',
  openProvider: (store, secrets) => new PostgresProvider(store, secrets),
  failures: postgresFailures,
  // NAMEDATALEN - 1: longer identifiers are silently truncated by the server.
  names: { maxBytes: 63 },
  backup: async () => (await import('./backup.js')).postgresBackup,
  snapshot: async () => (await import('./snapshot.js')).postgresSnapshots,
  rotatePassword: async () => (await import('./rotate.js')).postgresRotation,
  clientTools: async () => (await import('./tools.js')).postgresTools,
  failover: async () => (await import('./failover/index.js')).postgresFailover,
  // Follow mode's change feed lives in its own module (logical decoding); the capability carries it.
  sync: async () => {
    const follow = await import('./sync-follow.js');
    return { ...(await import('./sync.js')).postgresSync, follow: follow.postgresFollow, applyChanges: follow.applyChanges };
  },
  tenancy: async () => (await import('./tenancy.js')).postgresTenancy,
};
