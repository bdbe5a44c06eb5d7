// What the backup checks share: the repository, opened once per run.
import { openRepository, repositoryExists, repositoryPath } from '../../backup/open.js';
import type { BackupRepository } from '../../repository/repository.js';
import type { Fleet } from '../../fleet.js';
import type { CheckOutcome } from '../registry.js';

const repositories = new WeakMap<Fleet, Promise<BackupRepository | undefined>>();

/** The fleet's backup repository, or undefined when none has been made yet. */
export function repositoryOf(fleet: Fleet): Promise<BackupRepository | undefined> {
  let repo = repositories.get(fleet);
  if (!repo) {
    repo = repositoryExists(repositoryPath(fleet)) ? openRepository(fleet) : Promise.resolve(undefined);
    repositories.set(fleet, repo);
  }
  return repo;
}

export function noRepository(fleet: Fleet): CheckOutcome {
  return { status: 'fail', reason: `no backup repository at ${repositoryPath(fleet)}`, hint: 'Take a backup: storage backup create --all' };
}
