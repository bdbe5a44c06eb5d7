// The journal of tenant restores. A PostgreSQL tenant restore moves the tenant's schema aside,
// restores the backup's schema in one transaction, then sets the catalog: three commits. The tool
// undoes a failure itself, but a run killed with kill -9 between them leaves the tenant without
// its schema (moved aside) or with its data restored and the catalog as before. So before it
// changes anything the engine records here what it is about to change (one small file per
// restore in the user data dir), and the next tenant change on the store (under the store's lock,
// so the run that wrote it is gone) settles it: rolled back when the restored data never
// committed, finished when it did. `validate --suite tenants` reports one still waiting.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { userPaths } from '../config/paths.js';
import { writeFileAtomic } from '../system/files.js';
import type { BackedUpTenant } from '../engines/spec.js';
import type { Progress } from '../progress.js';
import type { Tenancy } from './service.js';

export interface TenantRestoreEntry {
  store: string;
  /** The tenant as the backup recorded it (what the catalog is set to when the restore is finished). */
  tenant: BackedUpTenant;
  backup: string;
  /** Where the replaced container is moved. */
  previous: string;
  /** What the engine is about to change, as it needs to know to roll back or finish (PostgreSQL: the schema it moves aside, its grant, a role it creates). */
  facts: Record<string, unknown>;
  startedAt: string;
  command: string;
  pid: number;
  host: string;
}

export function tenantJournalDir(): string {
  return path.join(userPaths().data, 'tenant-restores');
}

function entryFile(store: string, tenant: string): string {
  return path.join(tenantJournalDir(), encodeURIComponent(store), `${encodeURIComponent(tenant)}.json`);
}

export function writeTenantJournal(entry: Omit<TenantRestoreEntry, 'pid' | 'host' | 'startedAt'>): void {
  const full: TenantRestoreEntry = { ...entry, startedAt: new Date().toISOString(), pid: process.pid, host: os.hostname() };
  writeFileAtomic(entryFile(entry.store, entry.tenant.name), `${JSON.stringify(full, null, 2)}\n`);
}

export function removeTenantJournal(store: string, tenant: string): void {
  fs.rmSync(entryFile(store, tenant), { force: true });
}

/** The entries of a store's interrupted tenant restores (an unreadable one is skipped: it cannot be acted on). */
export function listTenantJournal(store: string): TenantRestoreEntry[] {
  const dir = path.join(tenantJournalDir(), encodeURIComponent(store));
  if (!fs.existsSync(dir)) return [];
  const entries: TenantRestoreEntry[] = [];
  for (const name of fs.readdirSync(dir).filter((file) => file.endsWith('.json'))) {
    try {
      entries.push(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as TenantRestoreEntry);
    } catch {
      // a half-written entry cannot exist (written atomically); anything else is not ours to act on
    }
  }
  return entries;
}

/**
 * Settles the tenant restores of the tenancy store that a killed run left (see
 * tenant/restore-journal.ts), each as its engine says; call it holding the store's lock. Says
 * what was done as a warning, for the operator and the cron log.
 */
export async function settleTenantRestores(tenancy: Tenancy, progress: Progress): Promise<void> {
  const settle = tenancy.impl.settleTenantRestore;
  if (!settle) return;
  for (const entry of listTenantJournal(tenancy.store.name)) {
    if (!tenancyNamed(tenancy, entry)) {
      progress.warn(
        `Left alone a tenant restore entry that names containers this tenancy does not make (tenant "${entry.tenant?.name}"): it was not written by this tool. Look at it, then remove it from ${tenantJournalDir()}.`,
      );
      continue;
    }
    const what = await settle.call(tenancy.impl, tenancy.provider, entry, tenancy.settings);
    removeTenantJournal(entry.store, entry.tenant.name);
    progress.warn(
      `Settled the restore of tenant "${entry.tenant.name}" from ${entry.backup} that ${entry.command} (pid ${entry.pid} on ${entry.host}, ${entry.startedAt}) left unfinished: ${what}.`,
    );
  }
}

/** An entry this tool wrote names the tenant's own container (the prefix and its name) and a `__pre_restore_` name beside it: nothing else is settled. */
function tenancyNamed(tenancy: Tenancy, entry: TenantRestoreEntry): boolean {
  const container = `${tenancy.settings.prefix}${entry.tenant?.name}`;
  const existing = (entry.facts as { existing?: unknown } | undefined)?.existing;
  return (
    typeof entry.tenant?.name === 'string' &&
    entry.tenant.container === container &&
    typeof entry.previous === 'string' &&
    entry.previous.includes('__pre_restore_') &&
    (existing === null || existing === container)
  );
}
