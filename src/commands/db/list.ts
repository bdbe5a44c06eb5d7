import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { csvFlag } from '../../cli/flags.js';
import { listStores, type StoreListing } from '../../engine/db/stores.js';
import { formatLatency } from '../../ui/format.js';
import { color, renderCsv, renderTable } from '../../ui/output.js';

const HEADERS = ['store', 'engine', 'target', 'reachable', 'latency', 'problem'];

export default class DbList extends StorageCommand {
  static override summary = 'List the configured stores with engine, target (password masked) and reachability.';
  static override flags = {
    csv: csvFlag,
    probe: Flags.boolean({ description: 'Check that each store answers.', default: true, allowNo: true }),
  };
  static override examples = ['<%= config.bin %> db list', '<%= config.bin %> db list --no-probe --csv'];

  async run(): Promise<{ stores: StoreListing[] }> {
    const { flags } = await this.parse(DbList);
    const stores = await listStores(await this.fleet(flags.config), { probe: flags.probe });
    const reachable = (entry: StoreListing, plain: boolean) =>
      entry.reachable === null ? null : plain ? entry.reachable : entry.reachable ? color.green('yes') : color.red('no');
    const rows = stores.map((entry) => [
      entry.store,
      entry.engine,
      entry.target,
      reachable(entry, flags.csv),
      flags.csv ? entry.latencyMs : formatLatency(entry.latencyMs),
      entry.error ?? '',
    ]);
    this.print(flags.csv ? renderCsv(HEADERS, rows) : renderTable(HEADERS, rows));
    return { stores };
  }
}
