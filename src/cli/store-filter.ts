// `--store NAME` on commands that read records (backups, snapshots, audit entries): the name must be
// a configured store or one the records still name, so a typo is a usage error (64) instead of an
// empty listing or a prune that silently did nothing.
import type { BackupRepository } from '../engine/repository/repository.js';
import type { Fleet } from '../engine/fleet.js';
import { listSnapshots } from '../engine/snapshot/catalog.js';

export function backupStoreFilter(fleet: Fleet, repo: BackupRepository, store: string | undefined): string | undefined {
  return store === undefined ? undefined : fleet.knownStore(store, () => repo.list().map((entry) => entry.store), 'backups in the repository');
}

export function snapshotStoreFilter(fleet: Fleet, store: string | undefined): string | undefined {
  return store === undefined ? undefined : fleet.knownStore(store, () => listSnapshots().map((record) => record.store), 'snapshots');
}
