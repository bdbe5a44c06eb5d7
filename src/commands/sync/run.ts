import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { confirmation } from '../../cli/confirm.js';
import { requireConfirmation } from '../../engine/confirm.js';
import { adHocFlags, jobArg, syncJob } from '../../cli/sync-job.js';
import { runSync, type SyncRunResult } from '../../engine/sync/service.js';
import type { SyncFollowResult } from '../../engine/sync/follow.js';
import { openFlow } from '../../ui/task-list.js';
import { followText } from '../../ui/views/sync.js';
import type { SyncJob } from '../../engine/sync/jobs.js';
import type { Fleet } from '../../engine/fleet.js';

export default class SyncRun extends StorageCommand {
  static override audited = true;
  static override summary =
    'Copy the source into the target in key-ordered batches from one consistent snapshot; each batch commits with its checkpoint, so a killed run resumes with --resume.';
  static override description =
    "The target table is created when absent (types from the mapping table in the README); it is never truncated: a failed run leaves the target as it was plus whole committed batches. upsert inserts and updates, mirror also deletes rows the source lacks, append only inserts. With a watermark column in the job, later runs read only rows at or past the last value seen. A run that stopped refuses to start over unless --resume (continue) or `storage sync reset` (start again). --follow copies, then keeps applying changes until SIGINT/SIGTERM, which finish the batch under way and checkpoint it (exit 130/143): a PostgreSQL source (wal_level = logical) by logical decoding through a slot the run creates first and drops on a clean stop (inserts, updates and deletes); SQLite and MongoDB sources by polling the job's watermark column (deletes are not seen).";
  static override args = jobArg;
  static override flags = {
    ...adHocFlags,
    resume: Flags.boolean({ description: 'Continue a run that stopped, after its last committed batch.' }),
    confirm: Flags.string({ description: 'Mirror mode deletes target rows the source lacks: the job name again, to confirm without a prompt.' }),
    follow: Flags.boolean({
      description:
        "After the copy, keep applying the source's changes until stopped (SIGINT/SIGTERM finish the batch under way). PostgreSQL: logical decoding (needs wal_level = logical); SQLite/MongoDB: polling the job's watermark.",
    }),
    'batch-size': Flags.integer({ description: "Rows per batch (default 5000, or the job's batchSize).", min: 1, max: 100_000 }),
  };
  static override examples = ['<%= config.bin %> sync run orders', '<%= config.bin %> sync run orders --resume', '<%= config.bin %> sync run orders --follow'];

  async run(): Promise<SyncRunResult | SyncFollowResult> {
    const { args, flags } = await this.parse(SyncRun);
    const fleet = await this.fleet(flags.config);
    const job = syncJob(fleet, args.job, flags);
    this.auditStores = [job.from.store, job.to.store];
    if (job.mode === 'mirror') {
      const given = await confirmation(
        flags.confirm,
        `Mirror mode deletes the rows of ${job.to.store}:${job.to.table} that ${job.from.store}:${job.from.table} lacks. Type the job name to confirm: `,
        this.jsonEnabled(),
      );
      requireConfirmation(job.name, given, `A mirror run of "${job.name}" (it deletes target rows)`);
    }
    if (flags.follow) return this.follow(job, fleet, flags);
    const flow = await openFlow([job.name], (name) => `Sync ${name}`, { json: this.jsonEnabled(), quiet: false });
    try {
      const result = await runSync(fleet, job, { resume: flags.resume, batchSize: flags['batch-size'], command: this.commandLine }, flow.progressFor(job.name));
      flow.settle(job.name, true, `${result.rows} rows`);
      await flow.close();
      this.auditDetails = { job: job.name, rows: result.rows, deleted: result.deleted, resumedFrom: result.resumedFrom, conflicts: result.conflicts };
      this.print(
        `Synced ${result.rows} rows of ${job.from.store}:${job.from.table} into ${job.to.store}:${job.to.table} in ${result.batches} batches (${result.rowsPerSecond} rows/s)${result.deleted ? `, deleted ${result.deleted}` : ''}${result.resumedFrom ? `, resumed after key ${result.resumedFrom}` : ''}.${conflictLine(result)}`,
      );
      return result;
    } finally {
      await flow.close('stopped: the target holds every batch committed so far; `--resume` continues');
    }
  }

  /** Follow mode ends by a signal: the interruption runs the follow's cleanup (batch, checkpoint, slot) and exits 130/143. */
  private async follow(job: SyncJob, fleet: Fleet, flags: { resume?: boolean; 'batch-size'?: number }): Promise<SyncFollowResult> {
    const { followSync } = await import('../../engine/sync/follow.js');
    const flow = await openFlow([job.name], (name) => `Follow ${name}`, { json: this.jsonEnabled(), quiet: false });
    try {
      const result = await followSync(
        fleet,
        job,
        { resume: flags.resume, batchSize: flags['batch-size'], command: this.commandLine },
        flow.progressFor(job.name),
      );
      flow.settle(job.name, true, `${result.upserts + result.deletes} changes`);
      await flow.close();
      this.auditDetails = { job: job.name, follow: result.method, upserts: result.upserts, deletes: result.deletes, position: result.position };
      this.print(followText(result));
      return result;
    } finally {
      await flow.close('stopped: the target holds every batch committed so far');
    }
  }
}

function conflictLine(result: SyncRunResult): string {
  const c = result.conflicts;
  if (!c || (c.detected === 0 && c.targetOnly === 0)) return '';
  const parts = [
    `${c.detected} changed on both sides (${c.policy}: ${c.detected - c.keptTarget} took the source, ${c.keptTarget} kept the target's${c.pending ? `, ${c.pending} wait in \`sync conflicts list\`` : ''})`,
  ];
  if (c.targetOnly) parts.push(`${c.targetOnly} changed only at the target, kept`);
  return ` Rows: ${parts.join('; ')}.`;
}
