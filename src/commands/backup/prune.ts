import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { durationFlag } from '../../cli/flags.js';
import { backupStoreFilter } from '../../cli/store-filter.js';
import { openRepository } from '../../engine/backup/open.js';
import { policyFromConfig, pruneBackups, pruneFindings, prunedBackups, type PrunePlan } from '../../engine/backup/prune.js';
import { quietProgress } from '../../ui/progress.js';
import { renderPrune } from '../../ui/views/prune.js';

export default class BackupPrune extends StorageCommand {
  static override audited = true;
  static override summary = 'Delete backups the retention policy does not keep; never the newest complete backup of a store.';
  static override description =
    'The policy comes from backup.retention in the config unless flags give one. An empty policy is refused. Incomplete leftovers older than a day are swept. Tagged backups are kept unless --prune-tagged. Backups that cannot be judged (damaged) are kept and reported (exit 65) unless --delete-damaged; backups dated in the future are kept and never count as the newest; backups of stores not in the config are left alone unless --include-orphans. --dry-run lists exactly what a real run deletes.';
  static override flags = {
    'keep-last': Flags.integer({ min: 0 }),
    'keep-hourly': Flags.integer({ min: 0 }),
    'keep-daily': Flags.integer({ min: 0 }),
    'keep-weekly': Flags.integer({ min: 0 }),
    'keep-monthly': Flags.integer({ min: 0 }),
    'keep-within': durationFlag({ description: 'Keep everything this much younger than the newest backup, e.g. 7d.' }),
    store: Flags.string({ description: 'Only this store.' }),
    'prune-tagged': Flags.boolean({ description: 'Let the policy judge tagged backups too (by default a tag keeps a backup).' }),
    'include-orphans': Flags.boolean({ description: 'Also apply the policy to backups of stores that are no longer in the config.' }),
    'delete-damaged': Flags.boolean({ description: 'Also delete backups whose manifest cannot be read or fails its seal (never by default).' }),
    'dry-run': Flags.boolean({ description: 'Show what would be deleted; delete nothing.' }),
  };
  static override examples = ['<%= config.bin %> backup prune --keep-daily 7 --keep-weekly 4 --dry-run'];

  async run(): Promise<PrunePlan> {
    const { flags } = await this.parse(BackupPrune);
    this.auditStores = flags.store ? [flags.store] : [];
    const fleet = await this.fleet(flags.config);
    const given = [flags['keep-last'], flags['keep-hourly'], flags['keep-daily'], flags['keep-weekly'], flags['keep-monthly'], flags['keep-within']].some(
      (v) => v !== undefined,
    );
    const policy = given
      ? {
          keepLast: flags['keep-last'],
          keepHourly: flags['keep-hourly'],
          keepDaily: flags['keep-daily'],
          keepWeekly: flags['keep-weekly'],
          keepMonthly: flags['keep-monthly'],
          keepWithinMs: flags['keep-within'],
        }
      : policyFromConfig(fleet);
    const repo = await openRepository(fleet, quietProgress);
    const store = backupStoreFilter(fleet, repo, flags.store);
    const plan = pruneBackups(
      repo,
      { ...policy, pruneTagged: flags['prune-tagged'] },
      {
        dryRun: flags['dry-run'],
        stores: store ? [store] : undefined,
        configured: [...fleet.config.stores.keys()],
        includeOrphans: flags['include-orphans'],
        deleteDamaged: flags['delete-damaged'],
      },
    );
    this.auditDetails = { [plan.dryRun ? 'wouldDelete' : 'deleted']: prunedBackups(plan).map((b) => b.id) };
    this.print(renderPrune(plan, { keptToo: true }) ?? 'No backups to consider.');
    const findings = pruneFindings(plan);
    for (const warning of findings.warnings) this.warning(warning);
    if (prunedBackups(plan).length === 0 && !findings.failure) this.warning('Nothing to delete.');
    this.failWith(findings.failure);
    return plan;
  }
}
