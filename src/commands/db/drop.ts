import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { dropDatabase } from '../../engine/db/admin.js';
import type { DropResult } from '../../engine/engines/provider.js';
import { confirmation } from '../../cli/confirm.js';

export default class DbDrop extends StorageCommand {
  static override audited = true;
  static override summary = 'Drop a database. Asks for its name at a terminal; elsewhere needs --confirm NAME.';
  static override description =
    'Refuses (exit 77) without a TTY and without --confirm. A database with other sessions is refused unless --force, which terminates them first (PostgreSQL).';
  static override args = {
    store: Args.string({ description: 'The store.', required: true }),
    name: Args.string({ description: 'The database to drop.', required: true }),
  };
  static override flags = {
    confirm: Flags.string({ description: 'The database name again, to confirm without a prompt.' }),
    force: Flags.boolean({ description: 'Terminate other sessions on the database first.' }),
  };
  static override examples = ['<%= config.bin %> db drop main reports', '<%= config.bin %> db drop main reports --confirm reports --force'];

  async run(): Promise<DropResult & { store: string }> {
    const { args, flags } = await this.parse(DbDrop);
    this.auditStores = [args.store];
    const fleet = await this.fleet(flags.config);
    fleet.store(args.store);
    const confirm = await confirmation(
      flags.confirm,
      `This permanently drops database "${args.name}" on store "${args.store}". Type its name to confirm: `,
      this.jsonEnabled(),
    );
    const result = await dropDatabase(fleet, { store: args.store, database: args.name, confirm, force: flags.force });
    if (!result.dropped) this.warning(`Database "${args.name}" does not exist on store "${args.store}"; nothing to drop.`);
    else
      this.print(
        `Dropped database "${result.database}" on store "${result.store}"${result.terminatedSessions ? ` after terminating ${result.terminatedSessions} session(s)` : ''}.`,
      );
    return result;
  }
}
