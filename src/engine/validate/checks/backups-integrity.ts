// backups.integrity: no backup in the repository has a manifest that fails its seal, none is dated
// in the future (taken with a clock ahead: it would pass for the newest backup), and no killed run
// has left leftovers lying around for long.
import type { BackupEntry } from '../../repository/repository.js';
import { listBackups } from '../../backup/open.js';
import { LEFTOVER_AGE_MS } from '../../backup/prune.js';
import type { Check, CheckOutcome } from '../registry.js';
import { noRepository, repositoryOf } from './backup-repository.js';
import { shellQuote } from '../../system/shell.js';

export function judgeRepositoryEntries(entries: BackupEntry[], now: number): CheckOutcome[] {
  const outcomes: CheckOutcome[] = [];
  for (const entry of entries) {
    if (entry.status === 'damaged')
      outcomes.push({
        subject: entry.id,
        status: 'fail',
        reason: `${entry.id} has a manifest that cannot be read or fails its seal (edited, or a damaged disk)${entry.problem ? `: ${entry.problem}` : ''}`,
        hint: 'Do not restore from it; keep it as evidence, and check the repository disk.',
      });
    else if (entry.status === 'future-dated')
      outcomes.push({
        subject: entry.id,
        status: 'fail',
        reason: `${entry.id} is dated in the future (started ${entry.manifest?.startedAt}, ${Math.round((Date.parse(entry.manifest?.startedAt ?? '') - now) / 1000)}s ahead of this host's clock): a clock was wrong when it was taken`,
        hint: "Check the clocks (timedatectl, NTP) of the host that took it and of this one; it is kept, but never counts as the store's newest backup.",
      });
    else if (entry.status === 'incomplete' && now - Date.parse(entry.createdAt) > LEFTOVER_AGE_MS)
      outcomes.push({
        subject: entry.id,
        status: 'warn',
        reason: `${entry.id} is the leftover of a run that never finished, from ${entry.createdAt}`,
        hint: `The next storage backup create ${shellQuote(entry.store)} sweeps it.`,
      });
  }
  const complete = entries.filter((entry) => entry.status === 'complete').length;
  return outcomes.some((outcome) => outcome.status === 'fail')
    ? outcomes
    : [{ status: 'pass', reason: `${complete} complete backup${complete === 1 ? '' : 's'}, every manifest sealed` }, ...outcomes];
}

export const backupsIntegrity: Check = {
  id: 'backups.integrity',
  suite: 'backups',
  title: 'every backup manifest in the repository reads and passes its seal',
  async run({ fleet, stores }) {
    const repo = await repositoryOf(fleet);
    if (!repo) return [noRepository(fleet)];
    const wanted = new Set(fleet.select(stores).map((store) => store.name));
    return judgeRepositoryEntries(
      listBackups(repo).filter((entry) => wanted.has(entry.store)),
      Date.now(),
    );
  },
};
