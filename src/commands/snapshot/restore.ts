import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { snapshotStoreFilter } from '../../cli/store-filter.js';
import { findSnapshot } from '../../engine/snapshot/catalog.js';
import { restoreSnapshot } from '../../engine/snapshot/service.js';
import { confirmation } from '../../cli/confirm.js';
import { shellQuote } from '../../engine/system/shell.js';

export default class SnapshotRestore extends StorageCommand {
  static override audited = true;
  static override summary = 'Roll a database back to a snapshot. The current data is kept aside as <db>__pre_restore_<time>, never dropped.';
  static override description =
    'Other sessions on the database (PostgreSQL) or processes with the file open (SQLite) are named and refused; --force terminates the sessions (PostgreSQL) or replaces the file anyway (SQLite). A killed restore is settled by the next restore or `storage snapshot cleanup`.';
  static override args = { name: Args.string({ required: true }) };
  static override flags = {
    confirm: Flags.string({ description: 'The database name, to confirm without a prompt.' }),
    store: Flags.string({ description: 'The store, when several have a snapshot of this name.' }),
    force: Flags.boolean({ description: 'Terminate other sessions on the database (PostgreSQL) / replace a SQLite file others have open.' }),
  };

  private restoring?: { name: string; store: string };

  protected override interruptedNote(): string | undefined {
    return (
      this.restoring &&
      `\`storage snapshot show ${shellQuote(this.restoring.name)} --store ${shellQuote(this.restoring.store)}\` says what exists now and how to finish`
    );
  }

  async run(): Promise<{ snapshot: string; database: string; previous: string }> {
    const { args, flags } = await this.parse(SnapshotRestore);
    const fleet = await this.fleet(flags.config);
    const record = findSnapshot(args.name, snapshotStoreFilter(fleet, flags.store));
    this.auditStores = [record.store];
    this.restoring = { name: record.name, store: record.store };
    const confirm = await confirmation(
      flags.confirm,
      `This rolls "${record.source}" on store "${record.store}" back to snapshot "${record.name}". Type the database name to confirm: `,
      this.jsonEnabled(),
    );
    const result = await restoreSnapshot(fleet, { name: args.name, store: record.store, confirm, force: flags.force, command: this.commandLine }, (message) =>
      this.warning(message),
    );
    this.print(
      `Rolled "${result.database}" back to snapshot "${result.snapshot}". The data it replaced is kept as "${result.previous}"; drop it when you no longer need it.`,
    );
    return result;
  }
}
