// Backups of one tenant: the tenancy capability dumps the tenant's container (a schema, a database,
// a file) in the engine's backup format, and the backup repository keeps it like any backup
// (encrypted, checksummed, manifest written last), the manifest recording the tenant as the catalog
// had it (with its migration ledger). A restore puts the container back, keeps the one it replaces,
// and sets the catalog to the backup's, so a dropped tenant comes back. `tenant drop` takes such a
// backup first (tagged `tenant-drop`, so retention keeps it).
import { createBackup } from '../backup/create.js';
import { requireConfirmation } from '../confirm.js';
import { derivedName, restoreStamp } from '../derived-names.js';
import type { BackedUpTenant, TenancyCapability, TenantRecord } from '../engines/spec.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { silentProgress, type Progress } from '../progress.js';
import type { SealedManifest } from '../repository/manifest.js';
import type { BackupRepository } from '../repository/repository.js';
import { StoreLock } from '../store-lock.js';
import { withStoreLock } from '../fleet-lock.js';
import { removeTenantJournal, settleTenantRestores, writeTenantJournal } from './restore-journal.js';
import { holdScratch } from '../system/scratch-registry.js';
import { checkTenantName } from './names.js';
import { openTenancy, tenantRecord, type Tenancy } from './service.js';

/** The tag of the backup `tenant drop` takes first: tagged backups are kept by retention unless it says otherwise. */
export const DROP_TAG = 'tenant-drop';

function lacking(tenancy: Tenancy, what: 'dumpTenant' | 'restoreTenant'): never {
  throw new StorageError('UNSUPPORTED', `${tenancy.label} tenants cannot be ${what === 'dumpTenant' ? 'backed up' : 'restored'} one at a time yet.`, {
    hint:
      what === 'dumpTenant' ? 'Back up the whole store (`storage backup create`); `tenant drop` needs --no-backup here.' : "Restore the whole store's backup.",
  });
}

/** The tenancy store named on the command line (or implied): it must be the one tenancy.store names. */
function checkStore(tenancy: Tenancy, store: string | undefined): void {
  if (store !== undefined && store !== tenancy.store.name)
    throw new StorageError('USAGE', `Tenants live on store "${tenancy.store.name}" (tenancy.store), not "${store}".`, {
      hint: `Leave the store out, or name ${tenancy.store.name}.`,
    });
}

export async function createTenantBackup(
  fleet: Fleet,
  repo: BackupRepository,
  name: string,
  options: { store?: string; tags?: string[]; command?: string; locked?: boolean } = {},
  progress: Progress = silentProgress,
): Promise<SealedManifest> {
  const { tenancy, record } = await tenantRecord(fleet, name);
  checkStore(tenancy, options.store);
  const impl: TenancyCapability = tenancy.impl;
  if (!impl.dumpTenant) lacking(tenancy, 'dumpTenant');
  const ledger = (await impl.ledger(tenancy.provider, tenancy.settings))
    .filter((entry) => entry.tenant === name)
    .map((entry) => ({ name: entry.name, checksum: entry.checksum, appliedAt: entry.appliedAt }));
  const tenant: BackedUpTenant = { ...record, ledger };
  return createBackup(
    fleet,
    repo,
    tenancy.store.name,
    {
      tags: options.tags,
      command: options.command ?? `storage backup create --tenant ${name}`,
      locked: options.locked,
      scope: { tenant, dump: (context) => impl.dumpTenant!(context, record, tenancy.settings) },
    },
    progress,
  );
}

export interface TenantRestoreRequest {
  id: string;
  /** The tenant the operator expects the backup to hold (it must). */
  tenant?: string;
  /** The store named with --to (it must be the tenancy store). */
  to?: string;
  confirm?: string;
}

export interface TenantRestoreOutcome {
  id: string;
  store: string;
  tenant: string;
  container: string;
  /** Where the data it replaced is kept (a schema, a database, a file under the tenant directory). */
  previous?: string;
  /** The tenant was not in the catalog (dropped) and is registered again. */
  registered: boolean;
  status: TenantRecord['status'];
  version: string | null;
  backedUpCounts: Record<string, number>;
}

/** Whether a restore of this tenant would replace something: it is in the catalog, or its container exists. */
export async function tenantRestoreTarget(
  fleet: Fleet,
  repo: BackupRepository,
  request: TenantRestoreRequest,
): Promise<{ tenancy: Tenancy; manifest: SealedManifest; tenant: BackedUpTenant; current?: TenantRecord; exists: boolean }> {
  const manifest = repo.readManifest(request.id);
  const tenant = manifest.tenant;
  if (!tenant)
    throw new StorageError('USAGE', `Backup ${manifest.id} is of the whole store "${manifest.store}", not of a tenant.`, {
      hint: `Restore it with --to STORE (without --tenant), or pick a tenant backup (\`storage backup list\` shows their tenant).`,
    });
  if (request.tenant !== undefined && request.tenant !== tenant.name)
    throw new StorageError('USAGE', `Backup ${manifest.id} holds tenant "${tenant.name}", not "${request.tenant}".`, {
      hint: `Restore it with --tenant ${tenant.name}, or pick a backup of ${request.tenant} (\`storage backup list\`).`,
    });
  checkTenantName(tenant.name);
  const tenancy = await openTenancy(fleet);
  checkStore(tenancy, request.to);
  if (tenancy.store.engine !== manifest.engine)
    throw new StorageError(
      'USAGE',
      `Backup ${manifest.id} is of a ${manifest.engine} tenant; the tenancy store "${tenancy.store.name}" is ${tenancy.store.engine}.`,
      {
        hint: 'Restore it with a tenancy of the same engine.',
      },
    );
  const current = (await tenancy.impl.catalog(tenancy.provider, tenancy.settings)).find((record) => record.name === tenant.name);
  const exists = current !== undefined || (await tenancy.impl.containers(tenancy.provider, tenancy.settings)).includes(tenant.container);
  return { tenancy, manifest, tenant, current, exists };
}

/** Restores one tenant from its backup; replacing a tenant that exists needs its name as confirmation. */
export async function restoreTenantBackup(
  fleet: Fleet,
  repo: BackupRepository,
  request: TenantRestoreRequest,
  progress: Progress = silentProgress,
): Promise<TenantRestoreOutcome> {
  const seen = await tenantRestoreTarget(fleet, repo, request);
  const { tenancy, manifest, tenant } = seen;
  const impl: TenancyCapability = tenancy.impl;
  if (!impl.restoreTenant) lacking(tenancy, 'restoreTenant');
  const action = `Restoring tenant "${tenant.name}" over its current data (kept aside)`;
  if (seen.exists) requireConfirmation(tenant.name, request.confirm, action);
  const { spec } = await fleet.capability(tenancy.store.name, 'tenancy');
  // The data key opens (right repository key) before anything is touched.
  const key = repo.dataKey(manifest);
  const command = `storage backup restore ${manifest.id} --tenant ${tenant.name}`;
  const lock = StoreLock.acquire(repo.locksDir, tenancy.store.name, command, (message) => progress.warn(message));
  let releaseScratch: (() => void) | undefined;
  try {
    // Under the lock: an earlier restore killed half-way is settled first; what is there then is what gets replaced (and confirmed).
    await settleTenantRestores(tenancy, progress);
    const now = await tenantRestoreTarget(fleet, repo, request);
    if (now.exists) requireConfirmation(tenant.name, request.confirm, action);
    const scratch = repo.scratch(`restore-${manifest.id}`);
    releaseScratch = holdScratch(scratch, `scratch of the restore of ${manifest.id}`);
    const previous = derivedName(spec, now.current?.container ?? tenant.container, `__pre_restore_${restoreStamp()}`);
    let journalled = false;
    const result = await impl.restoreTenant!({
      manifest,
      dir: repo.backupDir(manifest.id),
      key,
      store: tenancy.store,
      provider: tenancy.provider,
      tenant,
      current: now.current,
      previous,
      settings: tenancy.settings,
      scratch,
      progress,
      journal: (facts) => {
        if (!impl.settleTenantRestore) return;
        writeTenantJournal({ store: tenancy.store.name, tenant, backup: manifest.id, previous, facts, command });
        journalled = true;
      },
    }).finally(() => {
      // Done, or failed and undone by the engine: nothing is left to settle (a kill skips this).
      if (journalled) removeTenantJournal(tenancy.store.name, tenant.name);
    });
    return {
      id: manifest.id,
      store: tenancy.store.name,
      tenant: tenant.name,
      container: tenant.container,
      previous: result.previous,
      registered: now.current === undefined,
      status: tenant.status,
      version: tenant.version,
      backedUpCounts: manifest.counts,
    };
  } finally {
    releaseScratch?.();
    lock.release();
  }
}

export interface TenantDropOutcome {
  tenant: string;
  store: string;
  container: string;
  /** The backup taken first (absent with --no-backup). */
  backup?: string;
}

/**
 * Drops a tenant: its name as confirmation first (nothing is touched without it), then a backup of
 * it (unless `repo` is undefined: --no-backup) — a failed backup drops nothing — then the drop.
 */
export async function dropTenantWithBackup(
  fleet: Fleet,
  name: string,
  options: { confirm: string | undefined; repo: BackupRepository | undefined; command?: string },
  progress: Progress = silentProgress,
): Promise<TenantDropOutcome> {
  requireConfirmation(name, options.confirm, `Dropping tenant "${name}"`);
  const { tenancy } = await tenantRecord(fleet, name);
  const command = options.command ?? `storage tenant drop ${name}`;
  // One lock for the backup and the drop: nothing (a migration, a restore) gets in between them.
  return withStoreLock(
    fleet,
    tenancy.store.name,
    command,
    (message) => progress.warn(message),
    async () => {
      await settleTenantRestores(tenancy, progress);
      const { record } = await tenantRecord(fleet, name);
      let backup: SealedManifest | undefined;
      if (options.repo) {
        if (!tenancy.impl.dumpTenant) lacking(tenancy, 'dumpTenant');
        backup = await createTenantBackup(fleet, options.repo, name, { tags: [DROP_TAG], command, locked: true }, progress);
      }
      const done = progress.step(`drop tenant ${name} (${record.container})`);
      await tenancy.impl.drop(tenancy.provider, record, tenancy.settings);
      done();
      return { tenant: name, store: tenancy.store.name, container: record.container, ...(backup ? { backup: backup.id } : {}) };
    },
  );
}
