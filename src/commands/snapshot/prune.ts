import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { durationFlag } from '../../cli/flags.js';
import { snapshotStoreFilter } from '../../cli/store-filter.js';
import { pruneSnapshots } from '../../engine/snapshot/service.js';
import type { SnapshotRecord } from '../../engine/snapshot/catalog.js';
import { renderTable } from '../../ui/output.js';

export default class SnapshotPrune extends StorageCommand {
  static override audited = true;
  static override summary = 'Delete old snapshots, keeping the newest N per store (and, with --older-than, only deleting older ones).';
  static override flags = {
    'keep-last': Flags.integer({ description: 'Snapshots to keep per store.', required: true, min: 1 }),
    'older-than': durationFlag({ description: 'Only delete snapshots older than this, e.g. 7d.' }),
    store: Flags.string({ description: 'Only this store.' }),
    'dry-run': Flags.boolean({ description: 'Show what would be deleted.' }),
  };

  async run(): Promise<{ deleted: SnapshotRecord[]; kept: SnapshotRecord[]; dryRun: boolean }> {
    const { flags } = await this.parse(SnapshotPrune);
    this.auditStores = flags.store ? [flags.store] : [];
    const olderThanMs = flags['older-than'];
    const fleet = await this.fleet(flags.config);
    const result = await pruneSnapshots(fleet, {
      store: snapshotStoreFilter(fleet, flags.store),
      keepLast: flags['keep-last'],
      olderThanMs,
      dryRun: flags['dry-run'],
    });
    const verb = result.dryRun ? 'would delete' : 'deleted';
    const rows = [...result.deleted.map((r) => [r.name, r.store, r.createdAt, verb]), ...result.kept.map((r) => [r.name, r.store, r.createdAt, 'keep'])];
    this.print(rows.length ? renderTable(['snapshot', 'store', 'taken', 'action'], rows) : 'No snapshots.');
    if (result.deleted.length === 0) this.warning('Nothing to delete.');
    return result;
  }
}
