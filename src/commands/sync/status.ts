import { StorageCommand } from '../../cli/base-command.js';
import { watchFlags } from '../../cli/flags.js';
import { exitSoon, wantsLiveView } from '../../cli/live.js';
import { jobArg } from '../../cli/sync-job.js';
import { configuredJobs, jobNamed } from '../../engine/sync/jobs.js';
import { syncStatus, type SyncStatus } from '../../engine/sync/service.js';
import { renderTable } from '../../ui/output.js';
import { syncStateText } from '../../ui/views/sync.js';

export default class SyncStatusCommand extends StorageCommand {
  static override summary =
    "Each sync job's position: its checkpoint at the target (done, or stopped after N rows at a key; a follow's position and how far behind the source it is), its slot at a PostgreSQL source (a slot left by a killed follow is shown with the WAL it holds), and its last run here (rows, rows/s).";
  static override args = jobArg;
  static override flags = { ...watchFlags };
  static override examples = ['<%= config.bin %> sync status', '<%= config.bin %> sync status --watch'];

  async run(): Promise<{ jobs: SyncStatus[] } | undefined> {
    const { args, flags } = await this.parse(SyncStatusCommand);
    const fleet = await this.fleet(flags.config);
    const jobs = (args.job ? [args.job] : configuredJobs(fleet)).map((name) => jobNamed(fleet, name));
    if (wantsLiveView({ ...flags, json: this.jsonEnabled() })) {
      const { watchSync } = await import('../../ui/live/index.js');
      await watchSync(() => syncStatus(fleet, jobs), flags.interval * 1000);
      exitSoon();
      return undefined;
    }
    const statuses = await syncStatus(fleet, jobs);
    const rows = statuses.map((s) => [
      s.job,
      `${s.from} → ${s.to}`,
      syncStateText(s),
      s.checkpoint?.updatedAt ?? '',
      s.lastRun ? `${s.lastRun.rows} rows, ${s.lastRun.rowsPerSecond} rows/s` : '',
      String(s.conflictsPending),
    ]);
    this.print(rows.length ? renderTable(['job', 'from → to', 'state', 'updated', 'last run here', 'conflicts'], rows) : 'No sync jobs in the config.');
    return { jobs: statuses };
  }
}
