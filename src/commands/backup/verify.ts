import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { backupStoreFilter } from '../../cli/store-filter.js';
import { StorageError } from '../../engine/errors.js';
import { latestBackup, listBackups, openRepository } from '../../engine/backup/open.js';
import { verifyBackup, type VerifyResult } from '../../engine/backup/verify.js';
import { isReadable } from '../../engine/repository/repository.js';
import { renderTable } from '../../ui/output.js';
import { openFlow } from '../../ui/task-list.js';
import { lineProgress, quietProgress } from '../../ui/progress.js';

export default class BackupVerify extends StorageCommand {
  static override summary = 'Check backups: files and sizes; --read-data decrypts and re-hashes every byte; --restore-test restores into a scratch target.';
  static override args = { id: Args.string({ description: 'The backup to check.' }) };
  static override flags = {
    latest: Flags.boolean({ description: 'The newest complete backup (of --store).', exclusive: ['all'] }),
    all: Flags.boolean({ description: 'Every complete backup (future-dated ones too).' }),
    store: Flags.string({ description: 'With --latest or --all: only this store.' }),
    'read-data': Flags.boolean({ description: 'Decrypt, decompress and re-hash every byte.' }),
    'restore-test': Flags.boolean({ description: 'Restore into a scratch database, compare row counts with the manifest, drop it.' }),
  };
  static override examples = [
    '<%= config.bin %> backup verify --latest --read-data',
    '<%= config.bin %> backup verify 20261126T020000Z-main-1a2b3c --restore-test',
  ];

  async run(): Promise<{ results: VerifyResult[] }> {
    const { args, flags } = await this.parse(BackupVerify);
    const fleet = await this.fleet(flags.config);
    const progress = this.jsonEnabled() ? quietProgress : lineProgress();
    const repo = await openRepository(fleet, progress);
    const store = backupStoreFilter(fleet, repo, flags.store);
    const ids = args.id
      ? [args.id]
      : flags.all
        ? listBackups(repo, store)
            .filter(isReadable)
            .map((e) => e.id)
        : flags.latest
          ? [latestBackup(repo, store).id]
          : [];
    if (ids.length === 0) throw new StorageError('USAGE', 'Name a backup, or use --latest or --all.', { hint: 'See `storage backup list` for the ids.' });
    const flow = await openFlow(ids, (id) => `Verify ${id}`, { json: this.jsonEnabled(), quiet: false });
    const results: VerifyResult[] = [];
    try {
      for (const id of ids) {
        const result = await verifyBackup(
          fleet,
          repo,
          id,
          { level: flags['restore-test'] ? 'restore-test' : flags['read-data'] ? 'read-data' : 'files' },
          flow.progressFor(id),
        );
        flow.settle(id, result.ok, result.ok ? `ok (${result.level})` : result.problems.join('; '));
        results.push(result);
      }
    } finally {
      await flow.close('not checked: the run stopped early');
    }
    this.print(
      renderTable(
        ['backup', 'store', 'level', 'result', 'problems'],
        results.map((r) => [r.id, r.store, r.level, r.ok ? 'ok' : 'FAILED', r.problems.join('; ')]),
      ),
    );
    const bad = results.filter((r) => !r.ok);
    if (bad.length > 0) {
      this.failWith(
        new StorageError(
          'BAD_DATA',
          `${bad.length} of ${results.length} backups failed verification: ${bad.map((r) => `${r.id}: ${r.problems[0]}`).join('; ')}`,
          { hint: 'Do not restore from a backup that fails verification; take a new backup.' },
        ),
      );
    }
    return { results };
  }
}
