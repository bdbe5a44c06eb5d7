// Opening the secrets vault from a command: the key comes from --passphrase-file,
// STORAGE_VAULT_PASSPHRASE or a key file, or is asked for (hidden) at a terminal.
import { Flags } from '@oclif/core';
import type { Fleet } from '../engine/fleet.js';
import { secretReferences } from '../engine/config/secrets.js';
import { StorageError } from '../engine/errors.js';
import { registerSecret } from '../engine/redact.js';
import { vaultKeySource, vaultPath } from '../engine/secrets/resolver.js';
import { Vault, type VaultKeySource } from '../engine/secrets/vault.js';
import { askHidden } from '../ui/prompt.js';
import { canPrompt } from '../ui/terminal.js';

export const passphraseFileFlag = Flags.string({ description: 'Read the vault passphrase from this file (first line).' });

export async function openVault(fleet: Fleet, passphraseFile: string | undefined, options: { create?: boolean } = {}): Promise<Vault> {
  const file = vaultPath(fleet.config);
  let source: VaultKeySource | undefined = vaultKeySource(fleet.config, process.env, passphraseFile);
  if (!source) {
    if (!canPrompt()) {
      throw new StorageError('CONFIG_INVALID', `The secrets vault ${file} needs a key, and none was given.`, {
        hint: 'Set STORAGE_VAULT_PASSPHRASE, pass --passphrase-file, or set vault.keyFile in the config (the way for cron).',
      });
    }
    const passphrase = await askHidden(`Vault passphrase for ${file}: `);
    if (!Vault.exists(file) && options.create) {
      if ((await askHidden('Repeat the passphrase: ')) !== passphrase)
        throw new StorageError('USAGE', 'The two passphrases differ; nothing was written.', { hint: 'Run the command again.' });
    }
    registerSecret(passphrase);
    source = { kind: 'passphrase', passphrase };
  }
  return Vault.open(file, source, options);
}

/** Stores whose password (or the backup key) refers to each secret. */
export function secretUsers(fleet: Fleet): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const ref of secretReferences(fleet.config)) users.set(ref.name, [...(users.get(ref.name) ?? []), ref.user]);
  return users;
}
