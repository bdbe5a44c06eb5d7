// The one writer per store: the lock backups, restores, failovers, sync runs and tenant changes
// take in the repository's locks directory, held while `work` runs (a second run is refused, 75).
import { repositoryPath } from './backup/open.js';
import type { Fleet } from './fleet.js';
import { locksDirOf } from './repository/layout.js';
import { StoreLock } from './store-lock.js';

/** The directory of the per-store locks: the backup repository's, also where no backup was taken yet. */
export function storeLocksDir(fleet: Fleet): string {
  return locksDirOf(repositoryPath(fleet));
}

export async function withStoreLock<T>(fleet: Fleet, store: string, command: string, warn: (message: string) => void, work: () => Promise<T>): Promise<T> {
  const lock = StoreLock.acquire(storeLocksDir(fleet), fleet.store(store).name, command, warn);
  try {
    return await work();
  } finally {
    lock.release();
  }
}
