import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { openRepository, restoreBackup, restoreTarget, type RestoreOutcome } from '../../engine/backup/service.js';
import { lineProgress, quietProgress } from '../../ui/progress.js';
import { askForName } from '../../ui/prompt.js';
import { openFlow } from '../../ui/task-list.js';
import { canPrompt } from '../../ui/terminal.js';

export default class BackupRestore extends StorageCommand {
  static override audited = true;
  static override summary = 'Restore a backup into a new database (default) or, with confirmation, over an existing one.';
  static override description =
    'Every byte is checked before the target is touched: a corrupt backup or a wrong key writes nothing. Replacing a database that holds data needs --confirm NAME (or the name typed at a terminal); without a TTY and without --confirm it refuses (exit 77).';
  static override args = { id: Args.string({ description: 'The backup id.', required: true }) };
  static override flags = {
    to: Flags.string({ description: 'The store to restore into.', required: true }),
    database: Flags.string({ description: 'The database to restore into (default: a new <db>_restore_<time>).' }),
    confirm: Flags.string({ description: 'The target database name, to confirm replacing it.' }),
    parallel: Flags.integer({ description: 'pg_restore jobs (PostgreSQL).', default: 2, min: 1 }),
  };
  static override examples = [
    '<%= config.bin %> backup restore 20261126T020000Z-main-1a2b3c --to main',
    '<%= config.bin %> backup restore ID --to main --database app --confirm app',
  ];

  async run(): Promise<RestoreOutcome> {
    const { args, flags } = await this.parse(BackupRestore);
    this.auditStores = [flags.to];
    const fleet = await this.fleet(flags.config);
    const json = this.jsonEnabled();
    const repo = await openRepository(fleet, json ? quietProgress : lineProgress());
    const request = { id: args.id, to: flags.to, database: flags.database, confirm: flags.confirm, parallel: flags.parallel };
    const target = await restoreTarget(fleet, repo, request);
    if (target.state === 'non-empty' && request.confirm === undefined && canPrompt() && !json) {
      request.confirm = await askForName(`Database "${target.database}" on store "${flags.to}" holds data and will be replaced. Type its name to confirm: `);
    }
    const name = `${args.id} → ${flags.to}/${target.database}`;
    const flow = await openFlow([name], (title) => `Restore ${title}`, { json, quiet: false });
    try {
      const outcome = await restoreBackup(fleet, repo, { ...request, database: target.database }, flow.progressFor(name));
      flow.settle(name, true, `${Object.keys(outcome.backedUpCounts).length} tables`);
      await flow.close();
      return this.report(outcome);
    } finally {
      await flow.close('failed: nothing was restored');
    }
  }

  private report(outcome: RestoreOutcome): RestoreOutcome {
    this.print(
      `Restored ${outcome.id} into database "${outcome.database}" on store "${outcome.store}" (${Object.keys(outcome.backedUpCounts).length} tables).`,
    );
    if (outcome.previous) this.print(`The data it replaced is kept as "${outcome.previous}"; drop it when you no longer need it.`);
    return outcome;
  }
}
