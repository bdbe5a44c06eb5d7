import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { csvFlag } from '../../cli/flags.js';
import { backupStoreFilter } from '../../cli/store-filter.js';
import { listBackups, openRepository } from '../../engine/backup/open.js';
import { verificationSummary, type BackupEntry } from '../../engine/repository/repository.js';
import { formatBytes } from '../../ui/format.js';
import { renderCsv, renderTable } from '../../ui/output.js';
import { quietProgress } from '../../ui/progress.js';

const HEADERS = ['id', 'store', 'tenant', 'engine', 'started', 'duration', 'stored', 'original', 'status', 'encrypted', 'verified', 'tags'];

export default class BackupList extends StorageCommand {
  static override summary =
    'List backups: complete, running (with bytes so far), incomplete leftovers, damaged and future-dated ones; a tenant backup names its tenant.';
  static override flags = { store: Flags.string({ description: 'Only this store.' }), csv: csvFlag };
  static override examples = ['<%= config.bin %> backup list', '<%= config.bin %> backup list --store main --csv'];

  async run(): Promise<{ repository: string; backups: BackupEntry[] }> {
    const { flags } = await this.parse(BackupList);
    const fleet = await this.fleet(flags.config);
    const repo = await openRepository(fleet, quietProgress);
    const entries = listBackups(repo, backupStoreFilter(fleet, repo, flags.store));
    const rows = entries.map((entry) => {
      const m = entry.manifest;
      const verified = m ? verificationSummary(entry.verification) : '-';
      return [
        entry.id,
        entry.store,
        m?.tenant?.name ?? (m ? '-' : null),
        m?.engine,
        m?.startedAt ?? entry.createdAt,
        m ? `${(m.durationMs / 1000).toFixed(1)}s` : null,
        flags.csv ? (m?.storedBytes ?? entry.progressBytes) : formatBytes(m?.storedBytes ?? entry.progressBytes),
        flags.csv ? m?.originalBytes : formatBytes(m?.originalBytes),
        entry.status === 'running' ? `running (${formatBytes(entry.progressBytes)} so far)` : entry.status,
        m ? m.cipher !== 'none' : null,
        verified,
        m?.tags.join(' '),
      ];
    });
    this.print(flags.csv ? renderCsv(HEADERS, rows) : rows.length ? renderTable(HEADERS, rows) : `No backups in ${repo.root} yet.`);
    if (!repo.encrypted)
      this.warning(
        `The repository ${repo.root} is NOT encrypted${repo.sealsAreKeyed ? '' : ', and its manifests are sealed with a plain SHA-256 (made before repository format 2): they prove nothing against edits'}.`,
      );
    for (const entry of entries.filter((e) => e.status === 'damaged'))
      this.warning(`${entry.id} is damaged: ${entry.problem} It cannot be judged, so prune keeps it; do not restore from it.`);
    for (const entry of entries.filter((e) => e.status === 'future-dated'))
      this.warning(
        `${entry.id} is dated in the future (${entry.manifest!.startedAt}): the clock was wrong when it was taken, or is wrong now. It never counts as the newest backup.`,
      );
    return { repository: repo.root, backups: entries };
  }
}
