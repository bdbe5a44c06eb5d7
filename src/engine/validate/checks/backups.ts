// Suites `backups` and `audit`: a fresh, verified, encrypted backup per store under a real
// retention policy, and an intact audit chain.
import fs from 'node:fs';
import path from 'node:path';
import { verifyAudit } from '../../audit/log.js';
import { parseDuration } from '../../config/duration.js';
import { isEmptyPolicy } from '../../backup/retention.js';
import { listBackups, openRepository, policyFromConfig, repositoryPath, verifyBackup } from '../../backup/service.js';
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
    id: 'backups.restore-test',
    suite: 'backups',
    title: "each store's newest backup restores into a scratch target with matching counts (--restore-test)",
    async run({ fleet, stores, restoreTest }) {
      if (!restoreTest) return [];
      if (!fs.existsSync(path.join(repositoryPath(fleet), 'repo.json'))) return [{ status: 'fail', reason: 'no backup repository' }];
      const repo = await repository(fleet);
      const outcomes: CheckOutcome[] = [];
      // One after another: restore tests are heavy, and the servers are production ones.
      for (const store of fleet.select(stores)) {
        const newest = newestComplete(repo, store.name);
        if (!newest) {
          outcomes.push({ subject: store.name, status: 'fail', reason: 'no complete backup' });
          continue;
        }
        const result = await verifyBackup(fleet, repo, newest.id, { restoreTest: true });
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
  },
  {
    id: 'capacity.disk',
    suite: 'capacity',
    title: 'the backup repository has room for the next backups (free ≥ 2 × the largest newest backup)',
    async run({ fleet }) {
      const root = repositoryPath(fleet);
      let dir = root;
      while (!fs.existsSync(dir)) dir = path.dirname(dir);
      const stats = fs.statfsSync(dir);
      const free = stats.bavail * stats.bsize;
      let largest = 0;
      if (fs.existsSync(path.join(root, 'repo.json'))) {
        const repo = await repository(fleet);
        for (const store of fleet.select([])) largest = Math.max(largest, newestComplete(repo, store.name)?.manifest?.storedBytes ?? 0);
      }
      const needed = largest * 2;
      const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;
      return [
        free >= needed
          ? { status: 'pass', reason: `${mb(free)} free, ${mb(needed)} wanted` }
          : { status: 'fail', reason: `${mb(free)} free, ${mb(needed)} wanted (2 × the largest backup)`, hint: 'Free space or prune: storage backup prune' },
      ];
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
