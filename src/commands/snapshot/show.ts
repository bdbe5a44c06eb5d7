import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { snapshotStoreFilter } from '../../cli/store-filter.js';
import { findSnapshot } from '../../engine/snapshot/catalog.js';
import { snapshotStatus, type SnapshotStatus } from '../../engine/snapshot/service.js';
import { formatBytes } from '../../ui/format.js';

export default class SnapshotShow extends StorageCommand {
  static override summary = 'Show one snapshot, and how to finish an interrupted restore from it.';
  static override args = { name: Args.string({ required: true }) };
  static override flags = { store: Flags.string({ description: 'The store, when several have a snapshot of this name.' }) };

  async run(): Promise<SnapshotStatus> {
    const { args, flags } = await this.parse(SnapshotShow);
    const fleet = await this.fleet(flags.config);
    const status = await snapshotStatus(fleet, findSnapshot(args.name, snapshotStoreFilter(fleet, flags.store)));
    this.print(
      [
        `snapshot ${status.name} of ${status.store}/${status.source}`,
        `copy     ${status.copy} (${status.method}, ${formatBytes(status.sizeBytes)})`,
        `taken    ${status.createdAt} in ${(status.durationMs / 1000).toFixed(1)}s by ${status.tool}`,
        `state    ${status.state}${status.explanation ? `\n         ${status.explanation}` : ''}`,
      ].join('\n'),
    );
    return status;
  }
}
