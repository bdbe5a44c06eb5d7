// The backup repository a configuration names: where it is, opening it (only `backup create` may
// create one), and finding backups in it.
import fs from 'node:fs';
import path from 'node:path';
import { configRelative } from '../config/load.js';
import { userPaths } from '../config/paths.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { silentProgress, type Progress } from '../progress.js';
import { resolveKeySource } from '../repository/keys.js';
import type { SealedManifest } from '../repository/manifest.js';
import { BackupRepository, type BackupEntry, type OpeningRepository } from '../repository/repository.js';

export function repositoryPath(fleet: Fleet): string {
  const configured = fleet.config.file.backup?.repository;
  if (!configured) return path.join(userPaths().data, 'backups');
  return configRelative(fleet.config, configured);
}

/** Opens the repository; only `backup create` may create it (reading commands never make keys or directories). */
export async function openRepository(
  fleet: Fleet,
  progress: Progress = silentProgress,
  options: { create?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<BackupRepository> {
  return (await startOpeningRepository(fleet, progress, options)).unlocked;
}

/** Opens the repository, its key unlocked meanwhile (see BackupRepository.start): `backup create` dumps while it is. */
export async function startOpeningRepository(
  fleet: Fleet,
  progress: Progress = silentProgress,
  options: { create?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<OpeningRepository> {
  const root = repositoryPath(fleet);
  if (!options.create && !repositoryExists(root)) {
    throw new StorageError('NOT_FOUND', `There is no backup repository at ${root} yet.`, {
      hint: 'Take a first backup with `storage backup create`, or point backup.repository in the config at an existing repository.',
    });
  }
  return BackupRepository.start(root, await resolveKeySource(fleet.config, options.env ?? process.env, fleet.secrets), (message) => progress.warn(message), {
    create: options.create,
  });
}

/** Whether anything of a repository is at `root` (its repo.json, the copy in keys/, or backups). */
export function repositoryExists(root: string): boolean {
  return ['repo.json', 'keys', 'backups'].some((name) => fs.existsSync(path.join(root, name)));
}

export function listBackups(repo: BackupRepository, store?: string): BackupEntry[] {
  return repo.list().filter((entry) => !store || entry.store === store);
}

/** The newest complete backup (of a store, or of any), if there is one. */
export function newestComplete(repo: BackupRepository, store?: string): BackupEntry | undefined {
  const complete = listBackups(repo, store).filter((entry) => entry.status === 'complete');
  complete.sort((a, b) => Date.parse(b.manifest!.startedAt) - Date.parse(a.manifest!.startedAt) || b.id.localeCompare(a.id));
  return complete[0];
}

/** The newest complete backup (of a store, or of any); NOT_FOUND when there is none. */
export function latestBackup(repo: BackupRepository, store?: string): SealedManifest {
  const newest = newestComplete(repo, store);
  if (!newest) {
    throw new StorageError('NOT_FOUND', `There is no complete backup${store ? ` of store "${store}"` : ''} in ${repo.root}.`, {
      hint: 'Take one with `storage backup create`.',
    });
  }
  return newest.manifest!;
}
