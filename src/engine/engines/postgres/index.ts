// PostgreSQL: a pooled `pg` provider; backups with pg_dump -Fc / pg_restore; snapshots as template
// copies; password rotation with a client-side SCRAM verifier; pg_dump/pg_restore version checks.
import type { EngineSpec } from '../spec.js';
import { postgresBackup } from './backup.js';
import { postgresFailures } from './failures.js';
import { PostgresProvider } from './provider.js';
import { postgresRotation } from './rotate.js';
import { postgresSnapshots } from './snapshot.js';
import { postgresTools } from './tools.js';

export const postgres: EngineSpec<PostgresProvider> = {
  engine: 'postgres',
  label: 'PostgreSQL',
  openProvider: (store, secrets) => new PostgresProvider(store, secrets),
  failures: postgresFailures,
  // NAMEDATALEN - 1: longer identifiers are silently truncated by the server.
  names: { maxBytes: 63 },
  backup: postgresBackup,
  snapshot: postgresSnapshots,
  rotatePassword: postgresRotation,
  clientTools: postgresTools,
};
