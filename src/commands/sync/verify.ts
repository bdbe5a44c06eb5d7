import { StorageCommand } from '../../cli/base-command.js';
import { adHocFlags, jobArg, syncJob } from '../../cli/sync-job.js';
import { StorageError } from '../../engine/errors.js';
import { verifySync, type SyncVerdict } from '../../engine/sync/service.js';
import { differenceText } from '../../ui/views/sync.js';

export default class SyncVerify extends StorageCommand {
  static override summary =
    'Prove source and target agree: key ranges hashed on both sides (server-side where the engine can), differing ranges compared row by row, the differing keys listed; exit 3 when they differ.';
  static override args = jobArg;
  static override flags = adHocFlags;
  static override examples = ['<%= config.bin %> sync verify orders'];

  async run(): Promise<SyncVerdict> {
    const { args, flags } = await this.parse(SyncVerify);
    const fleet = await this.fleet(flags.config);
    const verdict = await verifySync(fleet, syncJob(fleet, args.job, flags));
    this.print(verdict.equal ? `${verdict.job}: source and target agree (${verdict.difference.same} rows).` : differenceText(verdict.job, verdict.difference));
    if (!verdict.equal)
      this.failWith(
        new StorageError('CHECKS_FAILED', `${verdict.job}: source and target differ.`, {
          hint: `\`storage sync run ${verdict.job}\` brings the target in line; \`storage sync plan\` shows what it would do.`,
        }),
      );
    return verdict;
  }
}
