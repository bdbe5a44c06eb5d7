// backups.verified: each store's newest backup is intact now (its manifest seal and file sizes are
// checked on the spot: tier 1) and has passed the verification level backup.verify asks for
// (read-data or restore-test) with no failure since. Nothing is written to the repository.
import { verifyBackup } from '../../backup/verify.js';
import { passedAtLeast, type VerificationRecord, type VerifyLevel } from '../../repository/repository.js';
import type { Check, CheckOutcome } from '../registry.js';
import { newestComplete } from '../../backup/open.js';
import { noRepository, repositoryOf } from './backup-repository.js';
import { shellQuote } from '../../system/shell.js';

const FLAG: Record<VerifyLevel, string> = { files: '', 'read-data': ' --read-data', 'restore-test': ' --restore-test' };

export interface VerifiedInput {
  store: string;
  id: string;
  /** The tier-1 check made now. */
  now: { ok: boolean; problems: string[] };
  /** What earlier verifications recorded. */
  record: VerificationRecord | undefined;
  /** The level the config asks for (backup.verify); files when unset. */
  required: VerifyLevel | undefined;
}

export function judgeVerified({ store, id, now, record, required }: VerifiedInput): CheckOutcome {
  const subject = store;
  if (!now.ok)
    return {
      subject,
      status: 'fail',
      reason: `${id} is damaged: ${now.problems[0]}`,
      hint: `Do not rely on it; take a new backup: storage backup create ${shellQuote(store)}`,
    };
  if (record && !record.ok)
    return {
      subject,
      status: 'fail',
      reason: `${id} FAILED ${record.level} verification at ${record.at}: ${record.problems[0]}`,
      hint: `Do not rely on it; take a new backup (storage backup create ${shellQuote(store)}) and check the repository's disk.`,
    };
  const level = required ?? 'files';
  if (level !== 'files') {
    const at = passedAtLeast(record, level);
    return at
      ? { subject, status: 'pass', reason: `${id} intact; passed ${level} verification at ${at}` }
      : {
          subject,
          status: 'fail',
          reason: `${id} has not passed ${level} verification, which backup.verify asks for`,
          hint: `storage backup verify ${shellQuote(id)}${FLAG[level]}`,
        };
  }
  const readAt = passedAtLeast(record, 'read-data');
  return readAt
    ? { subject, status: 'pass', reason: `${id} intact; data read back at ${readAt}` }
    : {
        subject,
        status: 'warn',
        reason: `${id} intact (manifest and file sizes), but its data were never read back`,
        hint: `storage backup verify ${shellQuote(id)} --read-data, or set backup.verify: read-data`,
      };
}

export const backupsVerified: Check = {
  id: 'backups.verified',
  suite: 'backups',
  title: "each store's newest backup is intact and verified at the level backup.verify asks",
  // With --restore-test, judge the record that restore test leaves.
  after: ['backups.restore-test'],
  async run({ fleet, stores }) {
    const repo = await repositoryOf(fleet);
    if (!repo) return [noRepository(fleet)];
    return Promise.all(
      fleet.select(stores).map(async (store): Promise<CheckOutcome> => {
        const newest = newestComplete(repo, store.name);
        if (!newest) return { subject: store.name, status: 'fail', reason: 'no complete backup', hint: `storage backup create ${shellQuote(store.name)}` };
        const now = await verifyBackup(fleet, repo, newest.id, { record: false });
        return judgeVerified({ store: store.name, id: newest.id, now, record: newest.verification, required: fleet.config.file.backup?.verify });
      }),
    );
  },
};
