import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../../cli/base-command.js';
import { adHocFlags, syncJob } from '../../../cli/sync-job.js';
import { resolveConflicts, type ConflictResolution } from '../../../engine/sync/pending-conflicts.js';

export default class SyncConflictsResolve extends StorageCommand {
  static override audited = true;
  static override summary = 'Settle rows changed on both sides: --take source writes the source version, --take target keeps the target version.';
  static override description =
    'Give the keys `sync conflicts list` shows (several columns: "1, a"), or none for every pending conflict of the job. Taking the target records it as reconciled, so later runs leave the row alone until the source changes it again.';
  static override strict = false;
  static override args = {
    job: Args.string({ description: 'A job named under sync.jobs in the config (or give --from and --to).' }),
    key: Args.string({ description: 'Keys of the conflicts to resolve, as `sync conflicts list` shows them (default: all).' }),
  };
  static override flags = {
    ...adHocFlags,
    take: Flags.string({ description: 'Which version wins.', options: ['source', 'target'], required: true }),
  };
  static override examples = [
    '<%= config.bin %> sync conflicts resolve orders 42 --take source',
    '<%= config.bin %> sync conflicts resolve orders --take target',
  ];

  async run(): Promise<ConflictResolution> {
    const { argv, flags } = await this.parse(SyncConflictsResolve);
    const fleet = await this.fleet(flags.config);
    const [first, ...rest] = argv as string[];
    const adHoc = Boolean(flags.from || flags.to);
    const job = syncJob(fleet, adHoc ? undefined : first, flags);
    const keys = adHoc ? (argv as string[]) : rest;
    this.auditStores = [job.to.store];
    const take = flags.take as 'source' | 'target';
    const done = await resolveConflicts(fleet, job, keys, take, { command: this.commandLine, warn: (message) => this.warning(message) });
    this.auditDetails = { job: job.name, took: take, keys: done.resolved };
    this.print(
      done.resolved.length
        ? `${job.name}: ${done.resolved.length} conflict(s) resolved taking the ${take} version (keys ${done.resolved.join('; ')}).`
        : `${job.name}: no conflicts were pending.`,
    );
    return done;
  }
}
