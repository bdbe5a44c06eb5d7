// Where things are in a backup repository, and what can be done there without its key: the
// directories, new backup ids, scratch space, and the backups a dead run left without a manifest.
// `backup create` works with this while the key is still being unlocked (scrypt, ~0.3 s).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors.js';
import { ensurePrivateDir } from '../system/private-dir.js';
import { processAlive } from '../system/processes.js';

/** Where a repository keeps its per-store locks (snapshots take the same locks without opening the repository). */
export function locksDirOf(root: string): string {
  return path.join(root, 'locks');
}

export function isBackupId(id: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(id) && !id.includes('..') && !id.startsWith('.');
}

/** Backup ids are `<time>-<store>-<random>`; the store is the middle part. */
export function storeOfBackupId(id: string): string {
  return id.split('-').slice(1, -1).join('-');
}

export class RepositoryLayout {
  constructor(readonly root: string) {}

  get backupsDir(): string {
    return path.join(this.root, 'backups');
  }

  get locksDir(): string {
    return locksDirOf(this.root);
  }

  get tmpDir(): string {
    return path.join(this.root, 'tmp');
  }

  newBackupId(store: string, now = new Date()): string {
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return `${stamp}-${store}-${randomBytes(3).toString('hex')}`;
  }

  backupDir(id: string): string {
    if (!isBackupId(id)) throw new StorageError('USAGE', `"${id}" is not a backup id.`, { hint: 'See `storage backup list`.' });
    return path.join(this.backupsDir, id);
  }

  /** Backups of `store` without a manifest (a run's directory before it completes); only the caller holding the store's lock may call them dead. */
  unfinished(store: string): string[] {
    if (!fs.existsSync(this.backupsDir)) return [];
    return fs
      .readdirSync(this.backupsDir)
      .filter((id) => isBackupId(id) && storeOfBackupId(id) === store)
      .filter((id) => fs.statSync(path.join(this.backupsDir, id)).isDirectory() && !fs.existsSync(path.join(this.backupsDir, id, 'manifest.json')));
  }

  /** A scratch directory for work in progress (0700), removed by the caller or by a later sweep. */
  scratch(label: string): string {
    ensurePrivateDir(this.tmpDir);
    return fs.mkdtempSync(path.join(this.tmpDir, `${label}-${process.pid}-`));
  }

  /** Removes scratch directories of runs that are no longer alive. */
  sweepScratch(): number {
    if (!fs.existsSync(this.tmpDir)) return 0;
    let swept = 0;
    for (const name of fs.readdirSync(this.tmpDir)) {
      const pid = Number(name.split('-').at(-2));
      if (!(pid > 0 && processAlive(pid))) {
        fs.rmSync(path.join(this.tmpDir, name), { recursive: true, force: true });
        swept++;
      }
    }
    return swept;
  }
}
