import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { confirmation } from '../../cli/confirm.js';
import { adHocFlags, jobArg, syncJob } from '../../cli/sync-job.js';
import { requireConfirmation } from '../../engine/confirm.js';
import { resetSync } from '../../engine/sync/service.js';

export default class SyncReset extends StorageCommand {
  static override audited = true;
  static override summary =
    "Forget a stopped run's position (and an incremental job's watermark): the next run reads the whole source again. No data is touched; a replication slot a killed --follow left at a PostgreSQL source is dropped.";
  static override args = jobArg;
  static override flags = { ...adHocFlags, confirm: Flags.string({ description: 'The job name again, to confirm without a prompt.' }) };

  async run(): Promise<{ job: string; reset: true; feedDropped: string | null }> {
    const { args, flags } = await this.parse(SyncReset);
    const fleet = await this.fleet(flags.config);
    const job = syncJob(fleet, args.job, flags);
    this.auditStores = [job.to.store];
    const given = await confirmation(flags.confirm, `This forgets where sync job "${job.name}" stopped. Type the job name to confirm: `, this.jsonEnabled());
    requireConfirmation(job.name, given, `Resetting sync job "${job.name}"`);
    const { feedDropped } = await resetSync(fleet, job);
    this.print(
      `Sync job "${job.name}" will start from the beginning next time.${feedDropped ? ` Dropped replication slot ${feedDropped} at ${job.from.store}.` : ''}`,
    );
    return { job: job.name, reset: true, feedDropped };
  }
}
