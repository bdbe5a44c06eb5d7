// A catalog row (PostgreSQL and SQLite keep the same columns) as a TenantRecord, times as ISO text.
import type { TenantRecord } from '../engines/spec.js';

const iso = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string | Date).toISOString());

export function tenantFromRow(row: Record<string, unknown>): TenantRecord {
  return {
    name: row.name as string,
    container: row.container as string,
    status: row.status as TenantRecord['status'],
    version: (row.version as string | null) ?? null,
    createdAt: iso(row.created_at)!,
    migratedAt: iso(row.migrated_at),
  };
}
