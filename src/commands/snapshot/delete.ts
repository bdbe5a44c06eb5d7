import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { snapshotStoreFilter } from '../../cli/store-filter.js';
import { findSnapshot, type SnapshotRecord } from '../../engine/snapshot/catalog.js';
import { deleteSnapshot } from '../../engine/snapshot/service.js';
import { confirmation } from '../../cli/confirm.js';

export default class SnapshotDelete extends StorageCommand {
  static override audited = true;
  static override summary = 'Delete a snapshot (its copy and its record). Needs --confirm NAME or the name typed at a terminal.';
  static override args = { name: Args.string({ required: true }) };
  static override flags = {
    confirm: Flags.string({ description: 'The snapshot name again.' }),
    store: Flags.string({ description: 'The store, when several have a snapshot of this name.' }),
  };

  async run(): Promise<SnapshotRecord & { dropped: boolean }> {
    const { args, flags } = await this.parse(SnapshotDelete);
    const fleet = await this.fleet(flags.config);
    const record = findSnapshot(args.name, snapshotStoreFilter(fleet, flags.store));
    this.auditStores = [record.store];
    const confirm = await confirmation(flags.confirm, `This deletes snapshot "${args.name}" (${record.copy}). Type its name to confirm: `, this.jsonEnabled());
    const deleted = await deleteSnapshot(fleet, args.name, record.store, confirm);
    if (!deleted.dropped) this.warning(`Its copy ${deleted.copy} was already gone from store "${deleted.store}"; only the record was deleted.`);
    this.print(`Deleted snapshot "${deleted.name}" (${deleted.copy}).`);
    return deleted;
  }
}
