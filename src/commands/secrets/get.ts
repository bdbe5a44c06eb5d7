import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { openVault, passphraseFileFlag } from '../../cli/vault.js';
import { StorageError } from '../../engine/errors.js';
import { MASK } from '../../engine/redact.js';
import { writeRaw } from '../../ui/output.js';

export default class SecretsGet extends StorageCommand {
  static override summary = 'Show a secret, masked unless --reveal (which is written to the audit log).';
  static override args = { name: Args.string({ required: true }) };
  static override flags = {
    reveal: Flags.boolean({ description: 'Print the value itself on stdout.' }),
    version: Flags.integer({ description: 'An earlier version (see `secrets list`) instead of the current value.', min: 1 }),
    'passphrase-file': passphraseFileFlag,
  };

  async run(): Promise<{ name: string; version: number; value: string; revealed: boolean }> {
    const { args, flags } = await this.parse(SecretsGet);
    // Only revealing is audited: it is the act that exposes the value.
    this.auditThis = flags.reveal;
    const vault = await openVault(await this.fleet(flags.config), flags['passphrase-file']);
    const value = vault.get(args.name, flags.version);
    if (value === undefined)
      throw new StorageError('NOT_FOUND', `There is no secret "${args.name}" in ${vault.file}.`, { hint: 'See `storage secrets list`.' });
    const version = flags.version ?? vault.version(args.name)!;
    if (!flags.reveal) {
      this.print(`${args.name} (version ${version}): ${MASK} (use --reveal to print it)`);
      return { name: args.name, version, value: MASK, revealed: false };
    }
    // Deliberately unredacted: the operator asked for the value.
    if (this.jsonEnabled()) writeRaw(`${JSON.stringify({ name: args.name, version, value, revealed: true }, null, 2)}\n`);
    else writeRaw(`${value}\n`);
    return undefined as never;
  }
}
