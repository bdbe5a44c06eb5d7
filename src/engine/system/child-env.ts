// The environment a child process (pg_dump, pg_restore, logger) gets: the parent's, minus the
// tool's own settings and secrets. execa extends the parent's environment by default, which
// handed STORAGE_BACKUP_PASSPHRASE, STORAGE_VAULT_PASSPHRASE and every store password override
// to pg_dump; callers pass this with `extendEnv: false`.
import { isKnownSecret } from '../redact.js';

/**
 * The parent's environment without any `STORAGE_*` variable and without any variable whose value
 * is a secret this process knows (e.g. the variable `secrets set --from-env` read), plus `extra`.
 * libpq's own `PG*` variables are the operator's to give and are kept.
 */
export function childEnv(extra: Record<string, string | undefined> = {}, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(parent)) {
    if (value === undefined || key.startsWith('STORAGE_')) continue;
    if (!key.startsWith('PG') && isKnownSecret(value)) continue;
    env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}
