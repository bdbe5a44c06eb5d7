import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { openVault, passphraseFileFlag, secretUsers } from '../../cli/vault.js';
import { StorageError } from '../../engine/errors.js';
import { askForName } from '../../ui/prompt.js';
import { canPrompt } from '../../ui/terminal.js';

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
      throw new StorageError('IN_USE', `Secret "${args.name}" is used by ${users.join(', ')}; removing it would break them.`, {
        hint: 'Point those stores elsewhere first, or add --force.',
      });
    }
    let confirm = flags.confirm;
    if (confirm === undefined && canPrompt() && !this.jsonEnabled())
      confirm = await askForName(`This removes secret "${args.name}". Type its name to confirm: `);
    if (confirm === undefined)
      throw new StorageError('CONFIRMATION_REQUIRED', `Removing secret "${args.name}" needs confirmation.`, { hint: `Re-run with --confirm ${args.name}.` });
    if (confirm !== args.name)
      throw new StorageError('CONFIRMATION_MISMATCH', `"${confirm}" does not match "${args.name}"; nothing was removed.`, { hint: `--confirm ${args.name}` });
    const vault = await openVault(fleet, flags['passphrase-file']);
    const removed = vault.remove(args.name);
    if (removed) this.print(`Removed secret "${args.name}" from ${vault.file}.`);
    else this.warning(`There is no secret "${args.name}"; nothing to remove.`);
    return { name: args.name, removed };
  }
}
