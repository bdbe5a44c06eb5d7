import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { snapshotStoreFilter } from '../../cli/store-filter.js';
import { csvFlag } from '../../cli/flags.js';
import { diffSnapshot, type DiffRow } from '../../engine/snapshot/service.js';
import type { SnapshotRecord } from '../../engine/snapshot/catalog.js';
import { formatBytes } from '../../ui/format.js';
import { renderCsv, renderTable } from '../../ui/output.js';

const HEADERS = ['table', 'snapshot rows', 'live rows', 'change', 'snapshot size', 'live size'];

export default class SnapshotDiff extends StorageCommand {
  static override summary = 'What changed since a snapshot: rows and sizes per table or collection, snapshot against live.';
  static override args = { name: Args.string({ required: true }) };
  static override flags = { store: Flags.string({ description: 'The store, when several have a snapshot of this name.' }), csv: csvFlag };

  async run(): Promise<{ snapshot: SnapshotRecord; tables: DiffRow[] }> {
    const { args, flags } = await this.parse(SnapshotDiff);
    const fleet = await this.fleet(flags.config);
    const diff = await diffSnapshot(fleet, args.name, snapshotStoreFilter(fleet, flags.store));
    const rows = diff.tables.map((t) => [
      t.table,
      t.snapshotRows,
      t.liveRows,
      t.snapshotRows === null ? 'new' : t.liveRows === null ? 'dropped' : t.rowChange === 0 ? 0 : t.rowChange! > 0 ? `+${t.rowChange}` : t.rowChange,
      flags.csv ? t.snapshotBytes : formatBytes(t.snapshotBytes),
      flags.csv ? t.liveBytes : formatBytes(t.liveBytes),
    ]);
    this.print(flags.csv ? renderCsv(HEADERS, rows) : renderTable(HEADERS, rows));
    return diff;
  }
}
