// snapshots.state: no restore (from a snapshot or from a backup) was left half done, and every
// catalogued snapshot still exists on its server.
import type { RestoreJournalEntry } from '../../restore-journal.js';
import { listSnapshots } from '../../snapshot/catalog.js';
import { describeInterruptedBackupRestore, interruptedBackupRestores, snapshotStatus, type SnapshotStatus } from '../../snapshot/service.js';
import type { Check, CheckOutcome } from '../registry.js';
import { shellQuote } from '../../system/shell.js';

export function judgeSnapshot(status: SnapshotStatus): CheckOutcome | undefined {
  const subject = `${status.store}/${status.name}`;
  switch (status.state) {
    case 'ok':
      return undefined;
    case 'restore-interrupted':
      return {
        subject,
        status: 'fail',
        reason: status.explanation ?? 'a restore did not finish',
        hint: `storage snapshot show ${shellQuote(status.name)} --store ${shellQuote(status.store)}`,
      };
    case 'restoring':
      return { subject, status: 'warn', reason: status.explanation ?? 'a restore is under way', hint: 'Validate again when it has finished.' };
    case 'missing':
      return {
        subject,
        status: 'warn',
        reason: `its copy ${status.copy} is gone from the server`,
        hint: `storage snapshot delete ${shellQuote(status.name)} --store ${shellQuote(status.store)} --confirm ${shellQuote(status.name)}`,
      };
    default:
      return { subject, status: 'warn', reason: `cannot tell: store "${status.store}" is not configured or did not answer`, hint: 'See connectivity.stores.' };
  }
}

/** A backup restore (or restore test) whose run is gone left a staging copy or an unfinished database. */
export function judgeInterruptedBackupRestore(entry: RestoreJournalEntry): CheckOutcome {
  return {
    subject: `${entry.store}/restore ${entry.staged}`,
    status: 'fail',
    reason: describeInterruptedBackupRestore(entry),
    hint: `storage snapshot cleanup ${entry.store}`,
  };
}

export const snapshotsState: Check = {
  id: 'snapshots.state',
  suite: 'snapshots',
  title: 'no restore was left half done, and every snapshot still exists',
  async run({ fleet, stores }) {
    const wanted = new Set(fleet.select(stores).map((store) => store.name));
    const records = listSnapshots().filter((record) => wanted.has(record.store));
    const statuses = await Promise.all(records.map((record) => snapshotStatus(fleet, record)));
    const snapshotProblems = statuses.map(judgeSnapshot).filter((outcome): outcome is CheckOutcome => outcome !== undefined);
    const fine = statuses.length - snapshotProblems.length;
    const problems = [
      ...snapshotProblems,
      ...interruptedBackupRestores(fleet)
        .filter((entry) => wanted.has(entry.store))
        .map(judgeInterruptedBackupRestore),
    ];
    return [
      ...(fine > 0 || problems.length === 0 ? [{ status: 'pass' as const, reason: `${fine} snapshot${fine === 1 ? '' : 's'} in place` }] : []),
      ...problems,
    ];
  },
};
