// Suites `backups` and `audit`: a fresh, verified, encrypted backup per store under a real
// retention policy, and an intact audit chain.
import fs from 'node:fs';
import path from 'node:path';
import { verifyAudit } from '../../audit/log.js';
import { parseDuration } from '../../config/duration.js';
import { isEmptyPolicy } from '../../backup/retention.js';
import { listBackups, openRepository, policyFromConfig, repositoryPath } from '../../backup/service.js';
import type { BackupRepository } from '../../backup/repository.js';
import type { Fleet } from '../../fleet.js';
import type { Check, CheckOutcome } from '../registry.js';

const repositories = new WeakMap<Fleet, Promise<BackupRepository>>();

function repository(fleet: Fleet): Promise<BackupRepository> {
  let repo = repositories.get(fleet);
  if (!repo) {
    repo = openRepository(fleet);
    repositories.set(fleet, repo);
  }
  return repo;
}

function newestComplete(repo: BackupRepository, store: string) {
  return listBackups(repo, store)
    .filter((entry) => entry.status === 'complete')
    .sort((a, b) => Date.parse(b.manifest!.startedAt) - Date.parse(a.manifest!.startedAt))[0];
}

export const backupChecks: Check[] = [
  {
    id: 'backups.rpo',
    suite: 'backups',
    title: 'each store has a complete backup younger than backup.rpo',
    async run({ fleet, stores }) {
      const rpo = fleet.config.file.backup?.rpo;
      const rpoMs = rpo ? parseDuration(rpo)! : undefined;
      if (!fs.existsSync(path.join(repositoryPath(fleet), 'repo.json'))) {
        return [{ status: 'fail', reason: `no backup repository at ${repositoryPath(fleet)}`, hint: 'Take a backup: storage backup create --all' }];
      }
      const repo = await repository(fleet);
      return fleet.select(stores).map((store) => {
        const newest = newestComplete(repo, store.name);
        if (!newest) return { subject: store.name, status: 'fail' as const, reason: 'no complete backup', hint: `storage backup create ${store.name}` };
        const age = Date.now() - Date.parse(newest.manifest!.startedAt);
        const ageText = `${Math.round(age / 1000)}s old (${newest.id})`;
        if (rpoMs === undefined)
          return { subject: store.name, status: 'warn' as const, reason: `newest backup ${ageText}; no backup.rpo is set`, hint: 'Set backup.rpo, e.g. 24h.' };
        return age <= rpoMs
          ? { subject: store.name, status: 'pass' as const, reason: `newest backup ${ageText}, within ${rpo}` }
          : {
              subject: store.name,
              status: 'fail' as const,
              reason: `newest backup ${ageText}, older than backup.rpo ${rpo}`,
              hint: `storage backup create ${store.name}`,
            };
      });
    },
  },
  {
    id: 'backups.verified',
    suite: 'backups',
    title: "each store's newest backup has passed verification",
    async run({ fleet, stores }) {
      if (!fs.existsSync(path.join(repositoryPath(fleet), 'repo.json'))) return [{ status: 'fail', reason: 'no backup repository' }];
      const repo = await repository(fleet);
      return fleet.select(stores).map((store) => {
        const newest = newestComplete(repo, store.name);
        if (!newest) return { subject: store.name, status: 'fail' as const, reason: 'no complete backup' };
        const verification = newest.verification;
        if (!verification)
          return {
            subject: store.name,
            status: 'warn' as const,
            reason: `${newest.id} was never verified`,
            hint: `storage backup verify ${newest.id} --read-data`,
          };
        return verification.ok
          ? { subject: store.name, status: 'pass' as const, reason: `${newest.id} verified (${verification.level}) ${verification.at}` }
          : {
              subject: store.name,
              status: 'fail' as const,
              reason: `${newest.id} FAILED verification: ${verification.problems[0]}`,
              hint: 'Take a new backup; investigate the repository disk.',
            };
      });
    },
  },
  {
    id: 'backups.policy',
    suite: 'backups',
    title: 'retention is set and backups are encrypted',
    async run({ fleet, strict }) {
      const outcomes: CheckOutcome[] = [
        isEmptyPolicy(policyFromConfig(fleet))
          ? {
              subject: 'retention',
              status: 'warn' as const,
              reason: 'backup.retention is empty: backups pile up',
              hint: 'Set backup.retention, e.g. { keepDaily: 7, keepWeekly: 4 }.',
            }
          : { subject: 'retention', status: 'pass' as const, reason: 'a retention policy is set' },
      ];
      const encryption = fleet.config.file.backup?.encryption;
      if (encryption && 'enabled' in encryption)
        outcomes.push({
          subject: 'encryption',
          status: strict ? 'fail' : 'warn',
          reason: 'encryption is explicitly off',
          hint: 'Remove encryption: { enabled: false }.',
        });
      else outcomes.push({ subject: 'encryption', status: 'pass', reason: 'backups are encrypted' });
      return outcomes;
    },
  },
  {
    id: 'audit.chain',
    suite: 'audit',
    title: 'the audit log chain verifies',
    async run() {
      const result = verifyAudit();
      if (result.ok) return [{ status: 'pass', reason: `${result.entries} entries, chain and head intact` }];
      return [
        {
          status: 'fail',
          reason: `line ${result.problem!.line}: ${result.problem!.reason}`,
          hint: 'Entries were changed after they were written; keep the file as evidence.',
        },
      ];
    },
  },
];
