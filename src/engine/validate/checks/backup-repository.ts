// What the backup checks share: the repository, opened once per run.
import { openRepository, repositoryExists, repositoryPath } from '../../backup/open.js';
import type { BackupRepository } from '../../repository/repository.js';
import type { Fleet } from '../../fleet.js';
import type { CheckOutcome } from '../registry.js';
import { brokenLink } from '../../system/missing-file.js';

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
  const root = repositoryPath(fleet);
  // A repository on a volume that is not mounted is not "none yet": backups would fail, not start one.
  const broken = brokenLink(root);
  if (broken)
    return { status: 'fail', reason: `the backup repository ${root} is ${broken}`, hint: 'Mount or restore what the link points to, or mend the link.' };
  return { status: 'fail', reason: `no backup repository at ${root}`, hint: 'Take a backup: storage backup create --all' };
}
