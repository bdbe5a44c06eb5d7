import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { csvFlag } from '../../cli/flags.js';
import { storeInfo } from '../../engine/db/inspect.js';
import type { StoreInfo } from '../../engine/engines/provider.js';
import { cell, formatBytes, formatObjects } from '../../ui/format.js';
import { renderCsv, renderTable } from '../../ui/output.js';

export default class DbInfo extends StorageCommand {
  static override summary = 'Show a store: size, server version, and its databases with sizes and object counts.';
  static override args = { store: Args.string({ description: 'The store (may be left out when only one is configured).' }) };
  static override flags = { csv: csvFlag };
  static override examples = ['<%= config.bin %> db info main', '<%= config.bin %> db info local --json'];

  async run(): Promise<StoreInfo> {
    const { args, flags } = await this.parse(DbInfo);
    const fleet = await this.fleet(flags.config);
    const info = await storeInfo(fleet, args.store ?? fleet.onlyStore('storage db info').name);
    if (flags.csv) {
      const kinds = [...new Set(info.databases.flatMap((db) => Object.keys(db.objects ?? {})))];
      this.print(
        renderCsv(
          ['database', 'current', 'size_bytes', ...kinds],
          info.databases.map((db) => [db.name, db.current, db.sizeBytes, ...kinds.map((kind) => db.objects?.[kind] ?? null)]),
        ),
      );
      return info;
    }
    const facts = [`${info.store} (${info.engine}) ${info.target}`, `server ${info.serverVersion}, total ${formatBytes(info.sizeBytes)}`];
    const details = Object.entries(info.details)
      .map(([key, value]) => `${key}: ${cell(value)}`)
      .join(', ');
    if (details) facts.push(details);
    this.print(facts.join('\n'));
    this.print(
      renderTable(
        ['database', 'size', 'objects'],
        info.databases.map((db) => [`${db.name}${db.current ? ' *' : ''}`, formatBytes(db.sizeBytes), formatObjects(db.objects)]),
      ),
    );
    return info;
  }
}
