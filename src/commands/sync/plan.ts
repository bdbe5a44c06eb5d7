import { StorageCommand } from '../../cli/base-command.js';
import { adHocFlags, jobArg, syncJob } from '../../cli/sync-job.js';
import { planSync, type SyncPlan } from '../../engine/sync/service.js';
import { syncPlanText } from '../../ui/views/sync.js';

export default class SyncPlanCommand extends StorageCommand {
  static override summary =
    'Show what a sync would do, writing nothing: both schemas and their drift, row counts, and how many rows a run would insert, update and delete.';
  static override description =
    'Reads every source row in canonical form (a value that cannot be mapped stops the plan, naming its column and key) and hashes it in key ranges against the target (hashed server-side where the engine can), comparing only differing ranges row by row; says how many ranges differ. Exit 0 when a run could go ahead, 1 when the target table does not match the source (drift).';
  static override args = jobArg;
  static override flags = adHocFlags;
  static override examples = ['<%= config.bin %> sync plan orders', '<%= config.bin %> sync plan --from lite:orders --to main:public.orders'];

  async run(): Promise<SyncPlan> {
    const { args, flags } = await this.parse(SyncPlanCommand);
    const fleet = await this.fleet(flags.config);
    const plan = await planSync(fleet, syncJob(fleet, args.job, flags));
    this.print(syncPlanText(plan));
    if (plan.drift.length > 0) process.exitCode = 1;
    return plan;
  }
}
