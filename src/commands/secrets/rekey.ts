import { Flags } from '@oclif/core';
import fs from 'node:fs';
import { StorageCommand } from '../../cli/base-command.js';
import { openVault, passphraseFileFlag } from '../../cli/vault.js';
import { StorageError } from '../../engine/errors.js';
import { registerSecret } from '../../engine/redact.js';
import type { VaultKeySource } from '../../engine/secrets/vault.js';
import { askHidden } from '../../ui/prompt.js';
import { canPrompt } from '../../ui/terminal.js';

export default class SecretsRekey extends StorageCommand {
  static override audited = true;
  static override summary = 'Re-encrypt the vault under a new passphrase or key file, atomically (an interrupted rekey leaves the old vault whole).';
  static override flags = {
    'passphrase-file': passphraseFileFlag,
    'new-passphrase-file': Flags.string({ description: 'Read the new passphrase from this file.', exclusive: ['new-key-file'] }),
    'new-key-file': Flags.string({ description: 'Use this key file (32 random bytes, base64) from now on.' }),
  };

  async run(): Promise<{ vault: string; secrets: number; key: 'passphrase' | 'keyfile' }> {
    const { flags } = await this.parse(SecretsRekey);
    const vault = await openVault(await this.fleet(flags.config), flags['passphrase-file']);
    let next: VaultKeySource;
    if (flags['new-key-file']) next = { kind: 'keyfile', file: flags['new-key-file'] };
    else {
      let passphrase = flags['new-passphrase-file']
        ? fs.readFileSync(flags['new-passphrase-file'], 'utf8').replace(/\r?\n$/, '')
        : process.env.STORAGE_VAULT_NEW_PASSPHRASE;
      if (passphrase === undefined && canPrompt()) {
        passphrase = await askHidden('New vault passphrase: ');
        if ((await askHidden('Repeat it: ')) !== passphrase)
          throw new StorageError('USAGE', 'The two passphrases differ; the vault is unchanged.', { hint: 'Run the command again.' });
      }
      if (!passphrase)
        throw new StorageError('USAGE', 'No new passphrase or key file given.', {
          hint: 'Use --new-passphrase-file, --new-key-file or STORAGE_VAULT_NEW_PASSPHRASE.',
        });
      registerSecret(passphrase);
      next = { kind: 'passphrase', passphrase };
    }
    const count = await vault.rekey(next);
    this.print(
      `Re-encrypted ${count} secret${count === 1 ? '' : 's'} in ${vault.file} under the new ${next.kind === 'passphrase' ? 'passphrase' : 'key file'}.`,
    );
    return { vault: vault.file, secrets: count, key: next.kind };
  }
}
