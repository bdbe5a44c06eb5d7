// capacity.disk: the backup repository's disk has room for the next backups.
import fs from 'node:fs';
import path from 'node:path';
import { newestComplete, repositoryPath } from '../../backup/open.js';
import type { Check, CheckOutcome } from '../registry.js';
import { repositoryOf } from './backup-repository.js';

/** Free space wanted: this many times the largest newest backup. */
export const DISK_MARGIN = 2;

export function judgeDisk(freeBytes: number, largestBackupBytes: number, margin = DISK_MARGIN): CheckOutcome {
  const needed = largestBackupBytes * margin;
  const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;
  return freeBytes >= needed
    ? { status: 'pass', reason: `${mb(freeBytes)} free, ${mb(needed)} wanted` }
    : {
        status: 'fail',
        reason: `${mb(freeBytes)} free, ${mb(needed)} wanted (${margin} × the largest backup)`,
        hint: 'Free space, or prune: storage backup prune (the margin is validate.diskMargin)',
      };
}

export const capacityDisk: Check = {
  id: 'capacity.disk',
  suite: 'capacity',
  title: 'the backup repository has room for the next backups (free ≥ validate.diskMargin, default 2, × the largest newest backup)',
  async run({ fleet }) {
    let dir = repositoryPath(fleet);
    while (!fs.existsSync(dir)) dir = path.dirname(dir);
    const stats = fs.statfsSync(dir);
    const repo = await repositoryOf(fleet);
    let largest = 0;
    if (repo) for (const store of fleet.select([])) largest = Math.max(largest, newestComplete(repo, store.name)?.manifest?.storedBytes ?? 0);
    return [judgeDisk(stats.bavail * stats.bsize, largest, fleet.config.file.validate?.diskMargin ?? DISK_MARGIN)];
  },
};
