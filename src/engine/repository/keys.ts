// Where the repository's key comes from: STORAGE_BACKUP_PASSPHRASE, the config (passphrase,
// key, key file, or encryption explicitly off), or with no config a random key file created
// in the user config dir. Encryption that is configured but unusable is an error, never a
// silent plaintext backup.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { configRelative, type LoadedConfig } from '../config/load.js';
import { userPaths } from '../config/paths.js';
import { secretName, type SecretResolver } from '../config/secrets.js';
import { StorageError } from '../errors.js';
import { ensurePrivateDir } from '../system/private-dir.js';
import { registerSecret } from '../redact.js';
import { writeFileExclusive } from '../system/files.js';
import { brokenLink, whyMissing } from '../system/missing-file.js';

export type KeySource = { kind: 'passphrase'; passphrase: string; origin: string } | { kind: 'keyfile'; file: string; create: boolean } | { kind: 'none' };

export function defaultKeyFile(): string {
  return path.join(userPaths().config, 'backup.key');
}

async function fromSecret(value: string, what: string, resolver?: SecretResolver): Promise<string> {
  const name = secretName(value);
  if (name === undefined) return value;
  const resolved = await resolver?.(name);
  if (resolved === undefined) {
    throw new StorageError('SECRET_UNRESOLVED', `The backup ${what} comes from secret "${name}", which cannot be resolved.`, {
      hint: 'Add the secret to the vault, or set STORAGE_BACKUP_PASSPHRASE for this run.',
    });
  }
  return resolved;
}

export async function resolveKeySource(config: LoadedConfig, env: NodeJS.ProcessEnv = process.env, resolver?: SecretResolver): Promise<KeySource> {
  if (env.STORAGE_BACKUP_PASSPHRASE) {
    registerSecret(env.STORAGE_BACKUP_PASSPHRASE);
    return { kind: 'passphrase', passphrase: env.STORAGE_BACKUP_PASSPHRASE, origin: 'STORAGE_BACKUP_PASSPHRASE' };
  }
  const encryption = config.file.backup?.encryption;
  if (!encryption) return { kind: 'keyfile', file: defaultKeyFile(), create: true };
  if ('enabled' in encryption) return { kind: 'none' };
  if ('keyFile' in encryption) {
    return { kind: 'keyfile', file: configRelative(config, encryption.keyFile), create: false };
  }
  const material =
    'passphrase' in encryption ? await fromSecret(encryption.passphrase, 'passphrase', resolver) : await fromSecret(encryption.key, 'key', resolver);
  registerSecret(material);
  return { kind: 'passphrase', passphrase: material, origin: 'passphrase' in encryption ? 'backup.encryption.passphrase' : 'backup.encryption.key' };
}

/** The key file's bytes; creates a random one (mode 0600) only where the source allows it. */
export function readKeyFile(source: Extract<KeySource, { kind: 'keyfile' }>, onNotice: (message: string) => void): Buffer {
  if (!fs.existsSync(source.file)) {
    // A link that leads nowhere (a loop, a volume not mounted) is never "created" through: it is a path to mend.
    if (!source.create || brokenLink(source.file)) {
      throw new StorageError('CONFIG_INVALID', `Backup encryption is configured with key file ${source.file}, ${whyMissing(source.file)}.`, {
        hint: 'Restore the key file from where you keep it; without it the backups cannot be read. Nothing was written.',
      });
    }
    ensurePrivateDir(path.dirname(source.file));
    // Linked into place whole: two first runs at once share one key, and neither reads half a file.
    if (writeFileExclusive(source.file, `${randomBytes(32).toString('base64')}\n`))
      onNotice(`Created the backup key file ${source.file} (mode 0600). Keep a copy somewhere safe: without it the backups cannot be restored.`);
  }
  // Stryker disable next-line MethodExpression: equivalent; base64 decoding skips the surrounding whitespace trim() removes
  const text = fs.readFileSync(source.file, 'utf8').trim();
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length < 32) {
    throw new StorageError('CONFIG_INVALID', `The backup key file ${source.file} does not hold a 32-byte base64 key.`, {
      hint: 'Point backup.encryption.keyFile at the key file this repository was created with.',
    });
  }
  return bytes;
}
