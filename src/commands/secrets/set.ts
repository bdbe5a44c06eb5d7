import { Args, Flags } from '@oclif/core';
import { generatePassword } from '../../engine/secrets/password.js';
import { StorageCommand } from '../../cli/base-command.js';
import { openVault, passphraseFileFlag, readSecretFile, secretUsers } from '../../cli/vault.js';
import { StorageError } from '../../engine/errors.js';
import { askForName, askHidden } from '../../ui/prompt.js';
import { canPrompt } from '../../ui/terminal.js';

export default class SecretsSet extends StorageCommand {
  static override audited = true;
  static override summary = 'Store a secret in the vault. The value never goes on the command line (shell history).';
  static override description =
    'Replacing an existing value asks at a terminal and needs --force elsewhere; the replaced value is kept as a version (see `secrets get --version`, `secrets rollback`).';
  static override args = { name: Args.string({ description: 'The secret name, referred to as secret:NAME in the config.', required: true }) };
  static override flags = {
    'from-file': Flags.string({
      description: 'Read the value from this file, or from stdin with "-" (a trailing newline is dropped).',
      exclusive: ['from-env', 'generate'],
    }),
    'from-env': Flags.string({ description: 'Read the value from this environment variable.', exclusive: ['generate'] }),
    generate: Flags.boolean({ description: 'Generate a strong random value.' }),
    length: Flags.integer({ description: 'Length of a generated value (default 32).', min: 16, max: 256, dependsOn: ['generate'] }),
    force: Flags.boolean({ description: 'Replace an existing value without asking (it is kept as a version).' }),
    'passphrase-file': passphraseFileFlag,
  };
  static override examples = [
    '<%= config.bin %> secrets set main-pg --from-env PGPASSWORD',
    '<%= config.bin %> secrets set backup-key --generate',
    'vault-tool read main-pg | <%= config.bin %> secrets set main-pg --from-file - --force',
  ];

  async run(): Promise<{ name: string; stored: boolean; generated: boolean; version: number; replaced: number | null }> {
    const { args, flags } = await this.parse(SecretsSet);
    let value: string | undefined;
    if (flags['from-file']) value = readSecretFile(flags['from-file']);
    else if (flags['from-env']) {
      value = process.env[flags['from-env']];
      if (value === undefined)
        throw new StorageError('USAGE', `The environment variable ${flags['from-env']} is not set.`, { hint: 'Export it first, or use --from-file.' });
    } else if (flags.generate) value = generatePassword(flags.length);
    else if (canPrompt()) value = await askHidden(`Value for secret "${args.name}": `);
    else throw new StorageError('USAGE', 'No value given, and there is no terminal to ask for it.', { hint: 'Use --from-file, --from-env or --generate.' });
    const fleet = await this.fleet(flags.config);
    const vault = await openVault(fleet, flags['passphrase-file'], { create: true });
    let replace = flags.force;
    if (!replace && vault.has(args.name) && vault.get(args.name) !== value && canPrompt() && !this.jsonEnabled()) {
      const users = secretUsers(fleet).get(args.name) ?? [];
      const used = users.length > 0 ? ` It is used by ${users.join(', ')}.` : '';
      const answer = await askForName(
        `Secret "${args.name}" already exists (version ${vault.version(args.name)}).${used} Type its name to replace it (the current value is kept as a version): `,
      );
      if (answer !== args.name)
        throw new StorageError('CONFIRMATION_MISMATCH', `The confirmation "${answer}" does not match "${args.name}"; the secret is unchanged.`, {
          hint: `Type the name exactly, or add --force.`,
        });
      replace = true;
    }
    const result = vault.set(args.name, value, { replace });
    if (result.unchanged) this.warning(`Secret "${args.name}" already holds this value; nothing changed.`);
    else if (result.replaced !== undefined)
      this.print(
        `Replaced secret "${args.name}" in ${vault.file}: now version ${result.version}; version ${result.replaced} is kept (\`storage secrets rollback ${args.name}\` brings it back).`,
      );
    else this.print(`Stored secret "${args.name}" in ${vault.file}${flags.generate ? ' (generated)' : ''}.`);
    return { name: args.name, stored: !result.unchanged, generated: flags.generate, version: result.version, replaced: result.replaced ?? null };
  }
}
