import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { openVault, passphraseFileFlag, secretUsers } from '../../cli/vault.js';
import { StorageError } from '../../engine/errors.js';
import { askForName } from '../../ui/prompt.js';
import { canPrompt } from '../../ui/terminal.js';

export default class SecretsRollback extends StorageCommand {
  static override audited = true;
  static override summary = 'Bring back an earlier value of a secret (the newest kept one, or --version N) as its new current version.';
  static override description =
    'The value it replaces is kept as a version in turn, so a rollback can itself be rolled back. Asks at a terminal; needs --force elsewhere.';
  static override args = { name: Args.string({ description: 'The secret name.', required: true }) };
  static override flags = {
    version: Flags.integer({ description: 'The version to bring back (default: the newest kept one).', min: 1 }),
    force: Flags.boolean({ description: 'Replace the current value without asking.' }),
    'passphrase-file': passphraseFileFlag,
  };
  static override examples = ['<%= config.bin %> secrets rollback main-pg --force', '<%= config.bin %> secrets rollback main-pg --version 2 --force'];

  async run(): Promise<{ name: string; restored: number; version: number; replaced: number }> {
    const { args, flags } = await this.parse(SecretsRollback);
    const fleet = await this.fleet(flags.config);
    const vault = await openVault(fleet, flags['passphrase-file']);
    if (!vault.has(args.name))
      throw new StorageError('NOT_FOUND', `There is no secret "${args.name}" in ${vault.file}.`, { hint: 'See `storage secrets list`.' });
    if (!flags.force) {
      const users = secretUsers(fleet).get(args.name) ?? [];
      const question = `This replaces the current value of secret "${args.name}"${users.length ? ` (used by ${users.join(', ')})` : ''}. Type its name to confirm: `;
      if (!canPrompt() || this.jsonEnabled())
        throw new StorageError('CONFIRMATION_REQUIRED', `Rolling back secret "${args.name}" replaces its current value and needs confirmation.`, {
          hint: `Re-run with --force (the current value is kept as a version), or at a terminal.`,
        });
      const answer = await askForName(question);
      if (answer !== args.name)
        throw new StorageError('CONFIRMATION_MISMATCH', `The confirmation "${answer}" does not match "${args.name}"; the secret is unchanged.`, {
          hint: 'Type the name exactly, or add --force.',
        });
    }
    const result = vault.rollback(args.name, flags.version);
    this.print(`Secret "${args.name}" holds the value of version ${result.restored} again, as version ${result.version}; version ${result.replaced} is kept.`);
    return { name: args.name, restored: result.restored, version: result.version, replaced: result.replaced! };
  }
}
