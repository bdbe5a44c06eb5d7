import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { openVault, passphraseFileFlag, secretUsers } from '../../cli/vault.js';
import { StorageError } from '../../engine/errors.js';
import { confirmation } from '../../cli/confirm.js';
import { requireConfirmation } from '../../engine/confirm.js';

export default class SecretsRemove extends StorageCommand {
  static override audited = true;
  static override summary = 'Remove a secret. Needs its name again (--confirm or a prompt); refuses while a store uses it unless --force.';
  static override args = { name: Args.string({ required: true }) };
  static override flags = {
    confirm: Flags.string({ description: 'The secret name again, to confirm without a prompt.' }),
    force: Flags.boolean({ description: 'Remove it even though stores refer to it.' }),
    'passphrase-file': passphraseFileFlag,
  };

  async run(): Promise<{ name: string; removed: boolean }> {
    const { args, flags } = await this.parse(SecretsRemove);
    const fleet = await this.fleet(flags.config);
    const users = secretUsers(fleet).get(args.name) ?? [];
    if (users.length > 0 && !flags.force) {
      // Refused, not failed (77): the operator can act on it (point the stores elsewhere, or --force).
      throw new StorageError('PERMISSION_DENIED', `Secret "${args.name}" is used by ${users.join(', ')}; removing it would break them.`, {
        hint: 'Point those stores elsewhere first, or add --force.',
      });
    }
    const confirm = await confirmation(flags.confirm, `This removes secret "${args.name}". Type its name to confirm: `, this.jsonEnabled());
    requireConfirmation(args.name, confirm, `Removing secret "${args.name}"`);
    const vault = await openVault(fleet, flags['passphrase-file']);
    const removed = vault.remove(args.name);
    if (removed) this.print(`Removed secret "${args.name}" from ${vault.file}.`);
    else this.warning(`There is no secret "${args.name}"; nothing to remove.`);
    return { name: args.name, removed };
  }
}
