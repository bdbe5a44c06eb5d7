// backups.rpo: each store has a complete backup younger than backup.rpo.
import { parseDuration } from '../../config/duration.js';
import type { BackupEntry } from '../../repository/repository.js';
import { FUTURE_SKEW_MS } from '../../repository/retention.js';
import type { Check, CheckOutcome } from '../registry.js';
import { newestComplete } from '../../backup/open.js';
import { noRepository, repositoryOf } from './backup-repository.js';
import { shellQuote } from '../../system/shell.js';

export function judgeRpo(store: string, newest: BackupEntry | undefined, rpo: string | undefined, now: number): CheckOutcome {
  if (!newest) return { subject: store, status: 'fail', reason: 'no complete backup', hint: `storage backup create ${shellQuote(store)}` };
  const age = now - Date.parse(newest.manifest!.startedAt);
  const ageText = `${Math.round(age / 1000)}s old (${newest.id})`;
  // A backup from the future proves nothing about how recent the data is.
  if (!(age >= -FUTURE_SKEW_MS))
    return {
      subject: store,
      status: 'fail',
      reason: `newest backup ${newest.id} is dated ${Math.round(-age / 1000)}s in the future`,
      hint: `Check this host's clock (timedatectl); then storage backup create ${store}`,
    };
  if (rpo === undefined) return { subject: store, status: 'warn', reason: `newest backup ${ageText}; no backup.rpo is set`, hint: 'Set backup.rpo, e.g. 24h.' };
  return age <= parseDuration(rpo)!
    ? { subject: store, status: 'pass', reason: `newest backup ${ageText}, within ${rpo}` }
    : { subject: store, status: 'fail', reason: `newest backup ${ageText}, older than backup.rpo ${rpo}`, hint: `storage backup create ${shellQuote(store)}` };
}

export const backupsRpo: Check = {
  id: 'backups.rpo',
  suite: 'backups',
  title: 'each store has a complete backup younger than backup.rpo',
  async run({ fleet, stores }) {
    const repo = await repositoryOf(fleet);
    if (!repo) return [noRepository(fleet)];
    const now = Date.now();
    return fleet.select(stores).map((store) => judgeRpo(store.name, newestComplete(repo, store.name), fleet.config.file.backup?.rpo, now));
  },
};
