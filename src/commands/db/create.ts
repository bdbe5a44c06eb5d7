import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { createDatabase } from '../../engine/db/admin.js';

export default class DbCreate extends StorageCommand {
  static override audited = true;
  static override summary = 'Create a database on a store (SQLite: NAME.db beside the store file).';
  static override args = {
    store: Args.string({ description: 'The store.', required: true }),
    name: Args.string({ description: 'The new database.', required: true }),
  };
  static override examples = ['<%= config.bin %> db create main reports'];

  async run(): Promise<{ store: string; database: string; created: true }> {
    const { args, flags } = await this.parse(DbCreate);
    this.auditStores = [args.store];
    const result = await createDatabase(await this.fleet(flags.config), args.store, args.name);
    this.print(`Created database "${result.database}" on store "${result.store}".`);
    return result;
  }
}
