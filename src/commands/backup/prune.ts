import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { backupStoreFilter } from '../../cli/store-filter.js';
import { parseDuration } from '../../engine/config/duration.js';
import { StorageError } from '../../engine/errors.js';
import { openRepository, policyFromConfig, pruneBackups, type PrunePlan } from '../../engine/backup/service.js';
import { renderTable } from '../../ui/output.js';
import { quietProgress } from '../../ui/progress.js';

export default class BackupPrune extends StorageCommand {
  static override audited = true;
  static override summary = 'Delete backups the retention policy does not keep; never the newest complete backup of a store.';
  static override description =
    'The policy comes from backup.retention in the config unless flags give one. An empty policy is refused. Incomplete leftovers older than a day are swept. --dry-run lists exactly what a real run deletes.';
  static override flags = {
    'keep-last': Flags.integer({ min: 0 }),
    'keep-hourly': Flags.integer({ min: 0 }),
    'keep-daily': Flags.integer({ min: 0 }),
    'keep-weekly': Flags.integer({ min: 0 }),
    'keep-monthly': Flags.integer({ min: 0 }),
    'keep-within': Flags.string({ description: 'Keep everything this much younger than the newest backup, e.g. 7d.' }),
    store: Flags.string({ description: 'Only this store.' }),
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
    let keepWithinMs: number | undefined;
    if (flags['keep-within'] !== undefined) {
      keepWithinMs = parseDuration(flags['keep-within']);
      if (keepWithinMs === undefined)
        throw new StorageError('USAGE', `--keep-within "${flags['keep-within']}" is not a duration.`, { hint: 'Use e.g. 36h, 7d or 2w.' });
    }
    const policy = given
      ? {
          keepLast: flags['keep-last'],
          keepHourly: flags['keep-hourly'],
          keepDaily: flags['keep-daily'],
          keepWeekly: flags['keep-weekly'],
          keepMonthly: flags['keep-monthly'],
          keepWithinMs,
        }
      : policyFromConfig(fleet);
    const repo = await openRepository(fleet, quietProgress);
    const plan = pruneBackups(repo, policy, { dryRun: flags['dry-run'], store: backupStoreFilter(fleet, repo, flags.store) });
    const verb = plan.dryRun ? 'would delete' : 'deleted';
    const rows = [
      ...plan.remove.map((r) => [r.id, r.store, verb, 'not kept by the policy']),
      ...plan.sweep.map((s) => [s.id, '-', verb, `${s.status} leftover`]),
      ...plan.keep.map((k) => [k.id, k.store, 'keep', k.reasons.join(', ')]),
    ];
    this.print(rows.length ? renderTable(['backup', 'store', 'action', 'why'], rows) : 'No backups to consider.');
    if (plan.remove.length + plan.sweep.length === 0) this.warning('Nothing to delete.');
    return plan;
  }
}
