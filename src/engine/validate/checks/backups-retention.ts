// backups.retention: a retention policy is set, so backups do not pile up until the disk fills.
import { isEmptyPolicy } from '../../repository/retention.js';
import { policyFromConfig } from '../../backup/prune.js';
import type { Check } from '../registry.js';

export const backupsRetention: Check = {
  id: 'backups.retention',
  suite: 'backups',
  title: 'a retention policy is set',
  async run({ fleet }) {
    return isEmptyPolicy(policyFromConfig(fleet))
      ? [{ status: 'warn', reason: 'backup.retention is empty: backups pile up', hint: 'Set backup.retention, e.g. { keepDaily: 7, keepWeekly: 4 }.' }]
      : [{ status: 'pass', reason: 'a retention policy is set' }];
  },
};
