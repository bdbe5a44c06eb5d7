import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { openRepository } from '../../engine/backup/open.js';
import { prepareStores } from '../../engine/backup/prepare.js';
import { restoreBackup, restoreTarget, type RestoreOutcome } from '../../engine/backup/restore.js';
import { StorageError } from '../../engine/errors.js';
import type { Fleet } from '../../engine/fleet.js';
import type { BackupRepository } from '../../engine/repository/repository.js';
import { restoreTenantBackup, tenantRestoreTarget, type TenantRestoreOutcome, type TenantRestoreRequest } from '../../engine/tenant/backup.js';
import { lineProgress, quietProgress } from '../../ui/progress.js';
import { askForName } from '../../ui/prompt.js';
import { openFlow } from '../../ui/task-list.js';
import { canPrompt } from '../../ui/terminal.js';

/** "1 table", "4 collections": what the backup counted, in the engine's words. */
function counted(outcome: RestoreOutcome): string {
  const n = Object.keys(outcome.backedUpCounts).length;
  return `${n} ${n === 1 ? outcome.counted.one : outcome.counted.many}`;
}

export default class BackupRestore extends StorageCommand {
  static override audited = true;
  static override summary = 'Restore a backup into a new database (default) or, with confirmation, over an existing one.';
  static override description =
    'Every byte is checked before the target is touched: a corrupt backup or a wrong key writes nothing. The restore writes into a staging copy that is renamed into place only when complete (MongoDB, which cannot rename a database, marks the new database unfinished until done), so a killed restore never leaves half a database under the requested name; the next restore or `storage snapshot cleanup` settles what it left. Replacing any existing database needs --confirm NAME (or the name typed at a terminal); without a TTY and without --confirm it refuses (exit 77). System databases are refused (64). Other sessions on the database (PostgreSQL) or processes with the file open (SQLite) are refused unless --force.';
  static override args = { id: Args.string({ description: 'The backup id.', required: true }) };
  static override flags = {
    to: Flags.string({ description: 'The store to restore into (a tenant backup: the tenancy store, implied).' }),
    tenant: Flags.string({
      description:
        'Restore the tenant the backup holds (it must be this one): its current data is moved aside and kept, the backed-up data takes its place, and the catalog gets the tenant back as the backup recorded it. A backup of a tenant restores this way even without --tenant; replacing an existing tenant needs --confirm NAME.',
    }),
    database: Flags.string({ description: 'The database to restore into (default: a new <db>_restore_<time>).' }),
    confirm: Flags.string({ description: 'The target database name (with a tenant backup: the tenant name), to confirm replacing it.' }),
    force: Flags.boolean({ description: 'Terminate other sessions on the database being replaced (PostgreSQL) / replace a SQLite file others have open.' }),
    parallel: Flags.integer({
      description:
        'pg_restore jobs (PostgreSQL). Above 1, pg_restore needs the decrypted archive in a file (0600, removed on every exit, swept by the next command); with 1 it reads it from a pipe and no plaintext touches the disk.',
      default: 1,
      min: 1,
    }),
  };
  static override examples = [
    '<%= config.bin %> backup restore 20261126T020000Z-main-1a2b3c --to main',
    '<%= config.bin %> backup restore ID --to main --database app --confirm app',
    '<%= config.bin %> backup restore ID --tenant acme --confirm acme',
  ];

  async run(): Promise<RestoreOutcome | TenantRestoreOutcome> {
    const { args, flags } = await this.parse(BackupRestore);
    const fleet = await this.fleet(flags.config);
    const json = this.jsonEnabled();
    if (flags.to !== undefined) prepareStores(fleet, [flags.to], 'restore');
    const repo = await openRepository(fleet, json ? quietProgress : lineProgress());
    if (flags.tenant !== undefined || repo.readManifest(args.id).tenant) {
      if (flags.database !== undefined)
        throw new StorageError('USAGE', 'A tenant backup restores into its tenant, not into a database.', { hint: 'Leave out --database.' });
      return this.tenantRun(fleet, repo, { id: args.id, tenant: flags.tenant, to: flags.to, confirm: flags.confirm });
    }
    if (flags.to === undefined)
      throw new StorageError('USAGE', 'Missing --to: the store to restore into.', { hint: `storage backup restore ${args.id} --to STORE` });
    this.auditStores = [flags.to];
    const request = { id: args.id, to: flags.to, database: flags.database, confirm: flags.confirm, parallel: flags.parallel, force: flags.force };
    const target = await restoreTarget(fleet, repo, request);
    if (target.state !== 'absent' && request.confirm === undefined && canPrompt() && !json) {
      const holds = target.state === 'non-empty' ? 'holds data' : 'exists';
      request.confirm = await askForName(`Database "${target.database}" on store "${flags.to}" ${holds} and will be replaced. Type its name to confirm: `);
    }
    const name = `${args.id} → ${flags.to}/${target.database}`;
    const flow = await openFlow([name], (title) => `Restore ${title}`, { json, quiet: false });
    try {
      const outcome = await restoreBackup(fleet, repo, { ...request, database: target.database }, flow.progressFor(name));
      flow.settle(name, true, counted(outcome));
      await flow.close();
      return this.report(outcome);
    } finally {
      await flow.close('failed: nothing was restored');
    }
  }

  private async tenantRun(fleet: Fleet, repo: BackupRepository, request: TenantRestoreRequest): Promise<TenantRestoreOutcome> {
    const target = await tenantRestoreTarget(fleet, repo, request);
    this.auditStores = [target.tenancy.store.name];
    this.auditDetails = { tenant: target.tenant.name };
    if (target.exists && request.confirm === undefined && canPrompt() && !this.jsonEnabled())
      request.confirm = await askForName(
        `Tenant "${target.tenant.name}" exists on store "${target.tenancy.store.name}"; its data will be replaced (and kept aside). Type its name to confirm: `,
      );
    const name = `${request.id} → tenant ${target.tenant.name}`;
    const flow = await openFlow([name], (title) => `Restore ${title}`, { json: this.jsonEnabled(), quiet: false });
    try {
      const outcome = await restoreTenantBackup(fleet, repo, request, flow.progressFor(name));
      flow.settle(name, true, `${Object.keys(outcome.backedUpCounts).length} tables/collections`);
      await flow.close();
      this.print(
        `Restored tenant "${outcome.tenant}" (${outcome.container}) from ${outcome.id} on store "${outcome.store}": ${outcome.status}, at migration ${outcome.version ?? '(none)'}${outcome.registered ? '; it is back in the tenant catalog' : ''}.`,
      );
      if (outcome.previous) this.print(`The data it replaced is kept as "${outcome.previous}"; drop it when you no longer need it.`);
      this.print('Run `storage tenant migrate` to bring it to the latest migration if it is behind.');
      return outcome;
    } finally {
      await flow.close('failed: nothing was restored');
    }
  }

  private report(outcome: RestoreOutcome): RestoreOutcome {
    this.print(`Restored ${outcome.id} into database "${outcome.database}" on store "${outcome.store}" (${counted(outcome)}).`);
    if (outcome.previous) this.print(`The data it replaced is kept as "${outcome.previous}"; drop it when you no longer need it.`);
    return outcome;
  }
}
