import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { createSnapshot } from '../../engine/snapshot/service.js';
import type { SnapshotRecord } from '../../engine/snapshot/catalog.js';
import { formatBytes } from '../../ui/format.js';

export default class SnapshotCreate extends StorageCommand {
  static override audited = true;
  static override summary = 'Take a fast same-server copy of a database, to roll back to after a risky change.';
  static override description =
    'PostgreSQL: CREATE DATABASE … TEMPLATE (needs no other sessions on the source; --force terminates them). MongoDB: every collection with its options and indexes. SQLite: the online backup API, into a file beside the database.';
  static override args = { store: Args.string({ description: 'The store.', required: true }) };
  static override flags = {
    database: Flags.string({ description: "The database to copy (default: the store's own)." }),
    name: Flags.string({ description: 'The snapshot name (default: the time, YYYYMMDDHHMMSS).' }),
    force: Flags.boolean({ description: 'PostgreSQL: terminate other sessions on the source first.' }),
  };
  static override examples = ['<%= config.bin %> snapshot create main --name before_v42', '<%= config.bin %> snapshot create main --force --json'];

  async run(): Promise<SnapshotRecord & { note?: string }> {
    const { args, flags } = await this.parse(SnapshotCreate);
    this.auditStores = [args.store];
    const record = await createSnapshot(
      await this.fleet(flags.config),
      { store: args.store, database: flags.database, name: flags.name, force: flags.force, command: this.commandLine },
      (message) => this.warning(message),
    );
    if (record.note) this.warning(record.note);
    this.print(
      `Snapshot "${record.name}" of ${record.store}/${record.source} is ${record.copy} (${record.method}, ${formatBytes(record.sizeBytes)}, ${(record.durationMs / 1000).toFixed(1)}s).`,
    );
    return record;
  }
}
