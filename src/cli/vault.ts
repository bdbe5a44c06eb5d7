// Opening the secrets vault from a command: the key comes from --passphrase-file,
// STORAGE_VAULT_PASSPHRASE or a key file, or is asked for (hidden) at a terminal.
import { Flags } from '@oclif/core';
import fs from 'node:fs';
import type { Fleet } from '../engine/fleet.js';
import { secretReferences } from '../engine/config/secrets.js';
import { StorageError } from '../engine/errors.js';
import { registerSecret } from '../engine/redact.js';
import { vaultKeySource, vaultPath } from '../engine/secrets/resolver.js';
import { MAX_SECRET_BYTES, Vault, type VaultKeySource } from '../engine/secrets/vault.js';
import { sleepSync } from '../engine/resilience/clock.js';
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

/**
 * A secret's value from a file, or from stdin for `-`, without its trailing newline. Read with a
 * bound, so a huge file is refused before it is loaded (the vault holds at most 64 KiB a secret).
 */
export function readSecretFile(file: string): string {
  const limit = MAX_SECRET_BYTES + 2; // room for a trailing \r\n
  let fd = 0;
  try {
    if (file !== '-') fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new StorageError('USAGE', `Cannot read the value file ${file}: ${(error as Error).message}.`, {
      hint: 'Give a readable file, or "-" to read the value from stdin.',
    });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024);
      let read: number;
      try {
        read = fs.readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        // A non-blocking stdin (some terminals and pipes) has no data yet: wait for it.
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          sleepSync(10);
          continue;
        }
        if ((error as NodeJS.ErrnoException).code === 'EOF') break;
        throw error;
      }
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      total += read;
      if (total > limit)
        throw new StorageError('USAGE', `${file === '-' ? 'stdin' : file} holds more than ${MAX_SECRET_BYTES} bytes; a secret holds at most 64 KiB.`, {
          hint: 'The vault is for passwords, keys and tokens. Keep a large file elsewhere (encrypted) and store its key here.',
        });
    }
  } finally {
    if (fd !== 0) fs.closeSync(fd);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}
