// How `secret:NAME` references find their values: the vault is opened on the first lookup
// (connect time), with the key from STORAGE_VAULT_PASSPHRASE or a key file, never earlier.
import fs from 'node:fs';
import path from 'node:path';
import { configRelative, type LoadedConfig } from '../config/load.js';
import { userPaths } from '../config/paths.js';
import type { SecretResolver } from '../config/secrets.js';
import { StorageError } from '../errors.js';
import { registerSecret } from '../redact.js';
// Only the type: the vault module (and its crypto) loads when a secret is first looked up, so it
// stays out of every command's start-up.
import type { Vault, VaultKeySource } from './vault.js';

export function defaultVaultPath(): string {
  return path.join(userPaths().config, 'vault.json');
}

export function vaultPath(config: LoadedConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (env.STORAGE_VAULT) return path.resolve(env.STORAGE_VAULT);
  return config.file.vault?.path ? configRelative(config, config.file.vault.path) : defaultVaultPath();
}

/** The vault key from the environment, a --passphrase-file, or the config's key file; undefined when none is given. */
export function vaultKeySource(config: LoadedConfig, env: NodeJS.ProcessEnv = process.env, passphraseFile?: string): VaultKeySource | undefined {
  if (passphraseFile) {
    const passphrase = fs.readFileSync(passphraseFile, 'utf8').replace(/\r?\n$/, '');
    registerSecret(passphrase);
    return { kind: 'passphrase', passphrase };
  }
  if (env.STORAGE_VAULT_PASSPHRASE) {
    registerSecret(env.STORAGE_VAULT_PASSPHRASE);
    return { kind: 'passphrase', passphrase: env.STORAGE_VAULT_PASSPHRASE };
  }
  const keyFile = env.STORAGE_VAULT_KEY_FILE ?? (config.file.vault?.keyFile ? configRelative(config, config.file.vault.keyFile) : undefined);
  return keyFile ? { kind: 'keyfile', file: keyFile } : undefined;
}

/**
 * Looks secrets up in the vault, opened on the first lookup. A secret with a rotation left
 * pending by an interrupted `secrets rotate` is settled first (both passwords tried on its
 * store, the one the server takes kept), once per process.
 */
export function vaultResolver(config: LoadedConfig, env: NodeJS.ProcessEnv = process.env): SecretResolver {
  let opened: Promise<Vault | undefined> | undefined;
  const settling = new Map<string, Promise<unknown>>();
  return async (name) => {
    opened ??= (async () => {
      const file = vaultPath(config, env);
      if (!fs.existsSync(file)) return undefined;
      const source = vaultKeySource(config, env);
      if (!source) {
        throw new StorageError('CONFIG_INVALID', `Secret "${name}" is in the vault ${file}, which needs a key to open.`, {
          hint: 'Set STORAGE_VAULT_PASSPHRASE, or vault.keyFile in the config (a key file is the way for cron).',
        });
      }
      const { Vault } = await import('./vault.js');
      return Vault.open(file, source);
    })();
    const vault = await opened;
    if (!vault) return undefined;
    if (vault.hasPending(name)) {
      let settled = settling.get(name);
      if (!settled) {
        settled = import('./rotate.js').then(({ settlePendingRotation }) => settlePendingRotation(config, vault, name)).catch(() => undefined);
        settling.set(name, settled);
      }
      await settled;
    }
    return vault.get(name);
  };
}
