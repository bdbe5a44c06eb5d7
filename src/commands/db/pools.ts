import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { csvFlag, watchFlags } from '../../cli/flags.js';
import { exitSoon, wantsLiveView } from '../../cli/live.js';
import { poolReports, poolsOutcome, type PoolReport } from '../../engine/db/inspect.js';
import { renderCsv, renderTable } from '../../ui/output.js';
import { problemLines } from '../../ui/views/problems.js';

const HEADERS = ['store', 'engine', 'client total', 'client idle', 'client waiting', 'client max', 'server connections', 'details'];

function flat(record: Record<string, unknown>): string {
  return Object.entries(record)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
}

export default class DbPools extends StorageCommand {
  static override summary = "Show connection pools: this tool's client pool and the server's connections by state.";
  static override strict = false;
  static override args = { store: Args.string({ description: 'Stores to show (default: all).' }) };
  static override flags = { csv: csvFlag, ...watchFlags };
  static override examples = ['<%= config.bin %> db pools', '<%= config.bin %> db pools main --watch'];

  async run(): Promise<{ stores: PoolReport[] } | undefined> {
    const { argv, flags } = await this.parse(DbPools);
    const fleet = await this.fleet(flags.config);
    const stores = fleet.select(argv as string[]);
    if (wantsLiveView({ ...flags, json: this.jsonEnabled() })) {
      const { watchPools } = await import('../../ui/live/index.js');
      await watchPools(fleet, stores, flags.interval * 1000);
      exitSoon();
      return undefined;
    }
    const reports = await poolReports(fleet, stores);
    const rows = reports.map((report) =>
      'error' in report
        ? [report.store, report.engine, null, null, null, null, null, flags.csv ? `${report.error.code}: ${report.error.message}` : report.error.code]
        : [
            report.store,
            report.engine,
            report.client.total,
            report.client.idle,
            report.client.waiting,
            report.client.max,
            flat(report.server),
            flat(report.details),
          ],
    );
    const problems = problemLines(reports.map((report) => ({ store: report.store, error: 'error' in report ? report.error : null })));
    this.print(flags.csv ? renderCsv(HEADERS, rows) : renderTable(HEADERS, rows) + (problems ? `\n${problems}` : ''));
    this.failWith(poolsOutcome(reports));
    return { stores: reports };
  }
}
