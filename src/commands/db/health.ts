import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { csvFlag, watchFlags } from '../../cli/flags.js';
import { exitSoon, wantsLiveView } from '../../cli/live.js';
import { checkHealth, healthOutcome, type StoreHealth } from '../../engine/db/health.js';
import { healthCsv, healthTable } from '../../ui/views/health.js';

export default class DbHealth extends StorageCommand {
  static override summary = 'Probe stores: up or down, latency, server version, role, read-only.';
  static override description =
    'All stores are probed at once, so several stores take about as long as the slowest. Exit 0 when all are up, 2 when some are down, 69 when none can be reached.';
  static override strict = false;
  static override args = { store: Args.string({ description: 'Stores to probe (default: all).' }) };
  static override flags = { csv: csvFlag, ...watchFlags };
  static override examples = [
    '<%= config.bin %> db health',
    '<%= config.bin %> db health main events --json',
    '<%= config.bin %> db health --watch --interval 5',
  ];

  async run(): Promise<{ stores: StoreHealth[] } | undefined> {
    const { argv, flags } = await this.parse(DbHealth);
    const fleet = await this.fleet(flags.config);
    const stores = fleet.select(argv as string[]);
    if (wantsLiveView({ ...flags, json: this.jsonEnabled() })) {
      const { watchHealth } = await import('../../ui/live/index.js');
      await watchHealth(fleet, stores, flags.interval * 1000);
      exitSoon();
      return undefined;
    }
    const results = await checkHealth(fleet, stores);
    this.print(flags.csv ? healthCsv(results) : healthTable(results));
    this.failWith(healthOutcome(results));
    return { stores: results };
  }
}
