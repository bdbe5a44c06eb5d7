// The secrets vault: one file (mode 0600, written atomically) of AES-256-GCM envelopes, one per
// secret, each with a random 12-byte IV and the secret's name bound as associated data, so a
// value moved under another name does not decrypt. The key comes from a passphrase (scrypt,
// parameters and salt stored in the file) or a key file. There is no plaintext fallback.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { StorageError } from '../errors.js';
import { registerSecret } from '../redact.js';
import { KEY_BYTES, deriveKey, newScryptParams, type ScryptParams } from '../backup/crypto.js';
import { writeFileAtomic } from '../backup/files.js';

const FORMAT = 1;
const CHECK_NAME = '\u0000vault-check';
const CHECK_VALUE = 'storage vault key check';

export type VaultKeySource = { kind: 'passphrase'; passphrase: string } | { kind: 'keyfile'; file: string };

interface Envelope {
  v: number;
  iv: string;
  tag: string;
  data: string;
  created: string;
  rotated: string | null;
}

interface VaultFile {
  format: number;
  kdf: ({ kind: 'scrypt' } & ScryptParams) | { kind: 'keyfile'; salt: string };
  check: Envelope;
  secrets: Record<string, Envelope>;
}

export interface SecretInfo {
  name: string;
  created: string;
  rotated: string | null;
}

export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function seal(key: Buffer, name: string, value: string, created?: string): Envelope {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  const now = new Date().toISOString();
  return {
    v: 1,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
    created: created ?? now,
    rotated: created ? now : null,
  };
}

function open(key: Buffer, name: string, envelope: Envelope): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'));
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

async function keyFor(source: VaultKeySource, kdf: VaultFile['kdf']): Promise<Buffer> {
  if (kdf.kind === 'scrypt') {
    if (source.kind !== 'passphrase')
      throw new StorageError('CONFIG_INVALID', 'This vault is opened with a passphrase, and none was given.', {
        hint: 'Set STORAGE_VAULT_PASSPHRASE or use --passphrase-file.',
      });
    return deriveKey(source.passphrase, kdf);
  }
  if (source.kind !== 'keyfile')
    throw new StorageError('CONFIG_INVALID', 'This vault is opened with a key file, and none was given.', {
      hint: 'Set vault.keyFile in the config or STORAGE_VAULT_KEY_FILE.',
    });
  let bytes: Buffer;
  try {
    bytes = Buffer.from(fs.readFileSync(source.file, 'utf8').trim(), 'base64');
  } catch {
    throw new StorageError('CONFIG_INVALID', `The vault key file ${source.file} cannot be read.`, { hint: 'Check vault.keyFile / STORAGE_VAULT_KEY_FILE.' });
  }
  if (bytes.length < 32)
    throw new StorageError('CONFIG_INVALID', `The vault key file ${source.file} does not hold a 32-byte base64 key.`, {
      hint: 'Create one with: head -c 32 /dev/urandom | base64 > FILE; chmod 600 FILE',
    });
  return Buffer.from(hkdfSync('sha256', bytes, Buffer.from(kdf.salt, 'base64'), 'storage vault key', KEY_BYTES));
}

export class Vault {
  private constructor(
    readonly file: string,
    private data: VaultFile,
    private key: Buffer,
  ) {}

  static exists(file: string): boolean {
    return fs.existsSync(file);
  }

  /** Opens the vault, or creates an empty one when `create` is set and there is none. Wrong key: BAD_DATA (65). */
  static async open(file: string, source: VaultKeySource, options: { create?: boolean } = {}): Promise<Vault> {
    if (!fs.existsSync(file)) {
      if (!options.create)
        throw new StorageError('NOT_FOUND', `There is no secrets vault at ${file} yet.`, {
          hint: 'Create it by storing a first secret: `storage secrets set NAME`.',
        });
      const kdf: VaultFile['kdf'] =
        source.kind === 'passphrase' ? { kind: 'scrypt', ...newScryptParams() } : { kind: 'keyfile', salt: randomBytes(16).toString('base64') };
      const key = await keyFor(source, kdf);
      const vault = new Vault(file, { format: FORMAT, kdf, check: seal(key, CHECK_NAME, CHECK_VALUE), secrets: {} }, key);
      vault.save();
      return vault;
    }
    let data: VaultFile;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8')) as VaultFile;
    } catch {
      throw new StorageError('BAD_DATA', `The vault ${file} is not valid JSON.`, { hint: 'Restore it from a backup copy.' });
    }
    if (data.format !== FORMAT) throw new StorageError('BAD_DATA', `The vault ${file} has format ${data.format}; this tool reads ${FORMAT}.`);
    const key = await keyFor(source, data.kdf);
    if (open(key, CHECK_NAME, data.check) !== CHECK_VALUE) {
      throw new StorageError('BAD_DATA', `Cannot open the vault ${file}: wrong passphrase or key.`, {
        hint: 'Use the passphrase or key file the vault was created with. Nothing was changed.',
      });
    }
    return new Vault(file, data, key);
  }

  private save(): void {
    writeFileAtomic(this.file, `${JSON.stringify(this.data, null, 2)}\n`, 0o600);
  }

  list(): SecretInfo[] {
    return Object.entries(this.data.secrets)
      .map(([name, envelope]) => ({ name, created: envelope.created, rotated: envelope.rotated }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  has(name: string): boolean {
    return name in this.data.secrets;
  }

  /** The value, or undefined when there is no such secret. A tampered entry is BAD_DATA. */
  get(name: string): string | undefined {
    const envelope = this.data.secrets[name];
    if (!envelope) return undefined;
    const value = open(this.key, name, envelope);
    if (value === undefined)
      throw new StorageError('BAD_DATA', `Secret "${name}" in ${this.file} fails authentication: it was altered or moved from another name.`, {
        hint: 'Set the secret again.',
      });
    registerSecret(value);
    return value;
  }

  set(name: string, value: string): void {
    if (!SECRET_NAME.test(name))
      throw new StorageError('USAGE', `"${name}" is not a valid secret name.`, {
        hint: 'Use letters, digits, ".", "-" and "_", starting with a letter or digit.',
      });
    if (!value) throw new StorageError('USAGE', `The value for secret "${name}" is empty.`, { hint: 'Give a non-empty value.' });
    registerSecret(value);
    this.data.secrets[name] = seal(this.key, name, value, this.data.secrets[name]?.created);
    this.save();
  }

  remove(name: string): boolean {
    if (!this.has(name)) return false;
    delete this.data.secrets[name];
    this.save();
    return true;
  }

  /** Re-encrypts every secret under a new key, atomically: an interrupted rekey leaves the old vault whole. */
  async rekey(source: VaultKeySource): Promise<number> {
    const values = Object.keys(this.data.secrets).map((name) => [name, this.get(name)!] as const);
    const kdf: VaultFile['kdf'] =
      source.kind === 'passphrase' ? { kind: 'scrypt', ...newScryptParams() } : { kind: 'keyfile', salt: randomBytes(16).toString('base64') };
    const key = await keyFor(source, kdf);
    const next: VaultFile = { format: FORMAT, kdf, check: seal(key, CHECK_NAME, CHECK_VALUE), secrets: {} };
    for (const [name, value] of values) {
      const old = this.data.secrets[name];
      next.secrets[name] = { ...seal(key, name, value), created: old.created, rotated: old.rotated };
    }
    this.data = next;
    this.key = key;
    this.save();
    return values.length;
  }
}
