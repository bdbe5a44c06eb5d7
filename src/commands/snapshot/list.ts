import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { csvFlag } from '../../cli/flags.js';
import { describeInterruptedBackupRestore, interruptedBackupRestores, snapshotList, type SnapshotStatus } from '../../engine/snapshot/service.js';
import { formatBytes } from '../../ui/format.js';
import { renderCsv, renderTable } from '../../ui/output.js';

const HEADERS = ['name', 'store', 'source', 'copy', 'taken', 'method', 'size', 'state'];

export default class SnapshotList extends StorageCommand {
  static override summary = 'List snapshots with their source, copy, method, size and state (ok, missing, restoring, restore-interrupted).';
  static override args = { store: Args.string({ description: 'Only this store.' }) };
  static override flags = { csv: csvFlag };

  async run(): Promise<{ snapshots: SnapshotStatus[]; interruptedRestores: string[] }> {
    const { args, flags } = await this.parse(SnapshotList);
    const fleet = await this.fleet(flags.config);
    const snapshots = await snapshotList(fleet, args.store);
    // Staging copies of killed backup restores are on the same servers: worth the same warning.
    const interruptedRestores = interruptedBackupRestores(fleet, args.store).map(
      (entry) => `store "${entry.store}": ${describeInterruptedBackupRestore(entry)}`,
    );
    const rows = snapshots.map((s) => [s.name, s.store, s.source, s.copy, s.createdAt, s.method, flags.csv ? s.sizeBytes : formatBytes(s.sizeBytes), s.state]);
    this.print(flags.csv ? renderCsv(HEADERS, rows) : rows.length ? renderTable(HEADERS, rows) : 'No snapshots yet.');
    for (const s of snapshots.filter((s) => s.explanation)) this.warning(`${s.name}: ${s.explanation}`);
    for (const line of interruptedRestores) this.warning(line);
    return { snapshots, interruptedRestores };
  }
}
