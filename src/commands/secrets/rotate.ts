import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { openVault, passphraseFileFlag } from '../../cli/vault.js';
import { planRotation, rotatePassword, type RotationResult } from '../../engine/secrets/rotate.js';
import { confirmation } from '../../cli/confirm.js';
import { requireConfirmation } from '../../engine/confirm.js';

export default class SecretsRotate extends StorageCommand {
  static override audited = true;
  static override summary = "Rotate a store's password: a new strong one on the server, proven on a fresh connection, then saved in the vault.";
  static override description =
    'PostgreSQL gets a SCRAM-SHA-256 verifier computed here, so the plaintext never reaches the server or its logs. The new password is saved in the vault as pending before the server changes, so an interrupted rotation never loses it (the next command that connects settles it). If anything fails after the server-side change, the old password is put back. Nothing secret is printed.';
  static override args = { store: Args.string({ description: 'The store whose password to rotate.', required: true }) };
  static override flags = {
    confirm: Flags.string({ description: 'The store name again, to confirm without a prompt.' }),
    'dry-run': Flags.boolean({ description: 'Show what would change; change nothing.' }),
    'passphrase-file': passphraseFileFlag,
  };

  async run(): Promise<RotationResult> {
    const { args, flags } = await this.parse(SecretsRotate);
    this.auditStores = [args.store];
    const fleet = await this.fleet(flags.config);
    const plan = await planRotation(fleet, args.store);
    if (!flags['dry-run']) {
      const confirm = await confirmation(
        flags.confirm,
        `This changes the password of "${plan.user}" on store "${plan.store}". Type the store name to confirm: `,
        this.jsonEnabled(),
      );
      requireConfirmation(plan.store, confirm, `Rotating the password of store "${plan.store}"`);
    }
    const vault = await openVault(fleet, flags['passphrase-file']);
    const result = await rotatePassword(fleet, args.store, vault, { dryRun: flags['dry-run'] });
    if (result.settled?.outcome === 'completed')
      this.warning(
        `An interrupted earlier rotation of secret "${result.secret}" had changed the server: its password is now the current one (the previous value is kept as a version).`,
      );
    else if (result.settled?.outcome === 'kept-current')
      this.warning(`An interrupted earlier rotation of secret "${result.secret}" never reached the server: its pending password was dropped.`);
    this.print(
      result.dryRun
        ? `Would set a new password for "${result.user}" on store "${result.store}" (${result.engine}) and save it in secret "${result.secret}".`
        : `Rotated the password of "${result.user}" on store "${result.store}"; the new one is in secret "${result.secret}".`,
    );
    return result;
  }
}
