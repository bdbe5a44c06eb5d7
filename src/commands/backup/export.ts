import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { exportBackup, type ExportResult } from '../../engine/backup/export.js';
import { openRepository } from '../../engine/backup/open.js';
import { lineProgress, quietProgress } from '../../ui/progress.js';

export default class BackupExport extends StorageCommand {
  static override summary = "Decrypt a backup into the vendor's own format: a pg_dump archive, a mongodump directory or a SQLite file.";
  static override description =
    'The export lands in OUT/<id>/ only once every byte has been checked; pg_restore, mongorestore and sqlite3 read it without this tool.';
  static override args = { id: Args.string({ description: 'The backup id.', required: true }) };
  static override flags = { out: Flags.string({ description: 'Directory to export into.', required: true }) };
  static override examples = ['<%= config.bin %> backup export 20261126T020000Z-main-1a2b3c --out ./exported'];

  async run(): Promise<ExportResult> {
    const { args, flags } = await this.parse(BackupExport);
    const progress = this.jsonEnabled() ? quietProgress : lineProgress();
    const repo = await openRepository(await this.fleet(flags.config), progress);
    const result = await exportBackup(repo, args.id, flags.out, progress);
    this.print(`Exported ${result.id} (${result.format}) to ${result.directory}:\n${result.files.map((file) => `  ${file}`).join('\n')}`);
    return result;
  }
}
