import { StorageCommand } from '../../../cli/base-command.js';
import { adHocFlags, jobArg, syncJob } from '../../../cli/sync-job.js';
import { listConflicts, type ConflictList } from '../../../engine/sync/pending-conflicts.js';
import { conflictsText } from '../../../ui/views/sync.js';

export default class SyncConflictsList extends StorageCommand {
  static override summary = 'Rows changed on both sides since the last run that wait for a decision (manual policy), with both versions.';
  static override description =
    'A job whose conflict policy is manual leaves such rows as the target has them and records both versions at the target; `storage sync conflicts resolve` takes one side.';
  static override args = jobArg;
  static override flags = adHocFlags;
  static override examples = ['<%= config.bin %> sync conflicts list orders', '<%= config.bin %> sync conflicts list orders --json'];

  async run(): Promise<ConflictList> {
    const { args, flags } = await this.parse(SyncConflictsList);
    const fleet = await this.fleet(flags.config);
    const list = await listConflicts(fleet, syncJob(fleet, args.job, flags));
    this.print(conflictsText(list));
    return list;
  }
}
