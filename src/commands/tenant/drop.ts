import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { confirmation } from '../../cli/confirm.js';
import { openRepository } from '../../engine/backup/open.js';
import { dropTenantWithBackup, type TenantDropOutcome } from '../../engine/tenant/backup.js';
import { shellQuote } from '../../engine/system/shell.js';
import { lineProgress, quietProgress } from '../../ui/progress.js';

export default class TenantDrop extends StorageCommand {
  static override audited = true;
  static override summary = 'Drop a tenant (its schema, database or file, and its catalog entry), after a backup of it that restores it whole.';
  static override description =
    'Asks for the tenant name at a terminal; elsewhere needs --confirm NAME (exit 77 without it, nothing touched). The backup is taken first (tagged tenant-drop, so retention keeps it) and a failed backup drops nothing; `storage backup restore ID` brings the tenant back, catalog entry included.';
  static override args = { name: Args.string({ description: 'The tenant.', required: true }) };
  static override flags = {
    confirm: Flags.string({ description: 'The tenant name again, to confirm without a prompt.' }),
    backup: Flags.boolean({ description: 'Back the tenant up first (--no-backup drops without a backup).', default: true, allowNo: true }),
  };
  static override examples = ['<%= config.bin %> tenant drop acme', '<%= config.bin %> tenant drop acme --confirm acme --no-backup'];

  async run(): Promise<TenantDropOutcome> {
    const { args, flags } = await this.parse(TenantDrop);
    const fleet = await this.fleet(flags.config);
    this.auditStores = fleet.config.file.tenancy ? [fleet.config.file.tenancy.store] : [];
    this.auditDetails = { tenant: args.name, backup: flags.backup };
    const confirm = await confirmation(
      flags.confirm,
      `This drops tenant "${args.name}" and all its data${flags.backup ? ' (after a backup)' : ', WITHOUT a backup'}. Type its name to confirm: `,
      this.jsonEnabled(),
    );
    const progress = this.jsonEnabled() ? quietProgress : lineProgress();
    // The repository is opened (created on first use, like `backup create`) only once confirmed.
    const repo = confirm === args.name && flags.backup ? await openRepository(fleet, progress, { create: true }) : undefined;
    const outcome = await dropTenantWithBackup(fleet, args.name, { confirm, repo, command: this.commandLine }, progress);
    this.auditDetails = { tenant: args.name, container: outcome.container, backup: outcome.backup ?? null };
    this.print(`Dropped tenant "${outcome.tenant}" (${outcome.container}) on store "${outcome.store}".`);
    if (outcome.backup)
      this.print(
        `Its backup is ${outcome.backup}; restore it with: storage backup restore ${shellQuote(outcome.backup)} --tenant ${shellQuote(outcome.tenant)}`,
      );
    else this.warning(`No backup was taken (--no-backup): tenant "${outcome.tenant}"'s data is gone.`);
    return outcome;
  }
}
