import { Args, Flags } from '@oclif/core';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { StorageCommand } from '../../cli/base-command.js';
import { openVault, passphraseFileFlag } from '../../cli/vault.js';
import { StorageError } from '../../engine/errors.js';
import { askHidden } from '../../ui/prompt.js';
import { canPrompt } from '../../ui/terminal.js';

export default class SecretsSet extends StorageCommand {
  static override audited = true;
  static override summary = 'Store a secret in the vault. The value never goes on the command line (shell history).';
  static override args = { name: Args.string({ description: 'The secret name, referred to as secret:NAME in the config.', required: true }) };
  static override flags = {
    'from-file': Flags.string({ description: 'Read the value from this file (a trailing newline is dropped).', exclusive: ['from-env', 'generate'] }),
    'from-env': Flags.string({ description: 'Read the value from this environment variable.', exclusive: ['generate'] }),
    generate: Flags.boolean({ description: 'Generate a strong random value.' }),
    length: Flags.integer({ description: 'Length of a generated value (default 32).', min: 16, max: 256, dependsOn: ['generate'] }),
    'passphrase-file': passphraseFileFlag,
  };
  static override examples = ['<%= config.bin %> secrets set main-pg --from-env PGPASSWORD', '<%= config.bin %> secrets set backup-key --generate'];

  async run(): Promise<{ name: string; stored: true; generated: boolean }> {
    const { args, flags } = await this.parse(SecretsSet);
    let value: string | undefined;
    if (flags['from-file']) value = fs.readFileSync(flags['from-file'], 'utf8').replace(/\r?\n$/, '');
    else if (flags['from-env']) {
      value = process.env[flags['from-env']];
      if (value === undefined)
        throw new StorageError('USAGE', `The environment variable ${flags['from-env']} is not set.`, { hint: 'Export it first, or use --from-file.' });
    } else if (flags.generate)
      value = randomBytes(flags.length ?? 32)
        .toString('base64url')
        .slice(0, flags.length ?? 32);
    else if (canPrompt()) value = await askHidden(`Value for secret "${args.name}": `);
    else throw new StorageError('USAGE', 'No value given, and there is no terminal to ask for it.', { hint: 'Use --from-file, --from-env or --generate.' });
    const vault = await openVault(await this.fleet(flags.config), flags['passphrase-file'], { create: true });
    vault.set(args.name, value);
    this.print(`Stored secret "${args.name}" in ${vault.file}${flags.generate ? ' (generated)' : ''}.`);
    return { name: args.name, stored: true, generated: flags.generate };
  }
}
