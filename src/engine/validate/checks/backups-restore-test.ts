// backups.restore-test (with --restore-test): each store's newest backup restores into a scratch
// target and its counts match the manifest.
import { verifyBackup } from '../../backup/verify.js';
import type { Check, CheckOutcome } from '../registry.js';
import { newestComplete } from '../../backup/open.js';
import { noRepository, repositoryOf } from './backup-repository.js';
import { shellQuote } from '../../system/shell.js';

export const backupsRestoreTest: Check = {
  id: 'backups.restore-test',
  suite: 'backups',
  title: "each store's newest backup restores into a scratch target with matching counts (--restore-test)",
  async run({ fleet, stores, restoreTest }) {
    if (!restoreTest) return [];
    const repo = await repositoryOf(fleet);
    if (!repo) return [noRepository(fleet)];
    const outcomes: CheckOutcome[] = [];
    // One after another: restore tests are heavy, and the servers are production ones.
    for (const store of fleet.select(stores)) {
      const newest = newestComplete(repo, store.name);
      if (!newest) {
        outcomes.push({ subject: store.name, status: 'fail', reason: 'no complete backup', hint: `storage backup create ${shellQuote(store.name)}` });
        continue;
      }
      const result = await verifyBackup(fleet, repo, newest.id, { level: 'restore-test' });
      outcomes.push(
        result.ok
          ? { subject: store.name, status: 'pass', reason: `${newest.id} restored and matched its counts` }
          : {
              subject: store.name,
              status: 'fail',
              reason: `${newest.id}: ${result.problems[0]}`,
              hint: 'Do not rely on this backup; take a new one and investigate.',
            },
      );
    }
    return outcomes;
  },
};
