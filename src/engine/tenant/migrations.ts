// A tenancy's migrations: the files of one directory, ordered by name, each with a checksum so
// that a file edited after it was applied is refused instead of silently diverging.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AppliedMigration, TenantMigration } from '../engines/spec.js';
import { StorageError } from '../errors.js';

export function loadMigrations(dir: string | undefined, extension: string): TenantMigration[] {
  if (!dir) return [];
  if (!fs.existsSync(dir))
    throw new StorageError('CONFIG_INVALID', `The migrations directory ${dir} does not exist.`, {
      hint: 'Create it, or fix tenancy.migrations in the config.',
    });
  const names = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith(extension))
    .sort();
  return names.map((file) => {
    const body = fs.readFileSync(path.join(dir, file), 'utf8');
    return { name: file.slice(0, -extension.length), checksum: createHash('sha256').update(body).digest('hex'), body };
  });
}

export interface LedgerProblem {
  tenant: string;
  migration: string;
  problem: string;
}

/**
 * What a tenant still needs, and what is wrong with what it has: an applied migration whose file
 * changed (checksum) or disappeared, or a new file ordered before one already applied.
 */
export function pendingFor(
  tenant: string,
  migrations: TenantMigration[],
  applied: AppliedMigration[],
): { pending: TenantMigration[]; problems: LedgerProblem[] } {
  const byName = new Map(applied.map((entry) => [entry.name, entry]));
  const problems: LedgerProblem[] = [];
  for (const entry of applied) {
    const file = migrations.find((migration) => migration.name === entry.name);
    if (!file) problems.push({ tenant, migration: entry.name, problem: 'applied, but its file is gone' });
    else if (file.checksum !== entry.checksum)
      problems.push({
        tenant,
        migration: entry.name,
        problem: `edited after it was applied (checksum ${file.checksum.slice(0, 12)}, applied ${entry.checksum.slice(0, 12)})`,
      });
  }
  const pending = migrations.filter((migration) => !byName.has(migration.name));
  const latestApplied = applied
    .map((entry) => entry.name)
    .sort()
    .at(-1);
  for (const migration of pending)
    if (latestApplied !== undefined && migration.name < latestApplied)
      problems.push({ tenant, migration: migration.name, problem: `new, but ordered before ${latestApplied}, which is already applied` });
  return { pending, problems };
}
