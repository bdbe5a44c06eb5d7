// The secrets vault: one file (mode 0600, written atomically) of AES-256-GCM envelopes, one per
// secret, each with a random 12-byte IV and the secret's name bound as associated data, so a
// value moved under another name does not decrypt. The key comes from a passphrase (scrypt,
// parameters and salt stored in the file) or a key file. There is no plaintext fallback.
//
// Every write takes an exclusive lock and re-reads the file under it, so concurrent commands never
// lose each other's secrets, and a write that finds the vault re-keyed under it writes nothing.
// A replaced value is kept as a numbered version (the last KEEP_VERSIONS), so a mistaken
// `secrets set` can be rolled back; and a password rotation records its new password as
// *pending* before it changes the server, so a rotation killed half-way never loses it.
import { hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { StorageError } from '../errors.js';
import { withFileLock } from '../system/file-lock.js';
import { registerSecret } from '../redact.js';
import { KEY_BYTES, deriveKey, newScryptParams, unwrapKey, wrapKey, type ScryptParams } from '../repository/crypto.js';
import { writeFileAtomic } from '../system/files.js';
import { brokenLink } from '../system/missing-file.js';

const FORMAT = 1;
const CHECK_NAME = '\u0000vault-check';
const CHECK_VALUE = 'storage vault key check';

/** Previous values kept per secret (as HashiCorp Vault's KV v2 keeps 10 by default). */
export const KEEP_VERSIONS = 10;
/** The largest value a secret may hold: passwords, keys and tokens, not files (64 KiB, as cloud secret managers allow). */
export const MAX_SECRET_BYTES = 64 * 1024;

export type VaultKeySource = { kind: 'passphrase'; passphrase: string } | { kind: 'keyfile'; file: string };

interface Envelope {
  v: number;
  iv: string;
  tag: string;
  data: string;
  created: string;
  rotated: string | null;
}

/** A previous value, sealed under "NAME\0v<N>" so it cannot be moved back in as the current value. */
interface VersionEnvelope extends Envelope {
  version: number;
  replaced: string;
}

/** The next value of a rotation in flight, sealed under "NAME\0pending". */
interface PendingEnvelope extends Envelope {
  store: string;
  since: string;
  pid: number;
  host: string;
}

interface SecretEntry extends Envelope {
  /** The current value's version number; absent in vaults written before versions (= 1). */
  version?: number;
  /** Previous values, newest first. */
  history?: VersionEnvelope[];
  pending?: PendingEnvelope;
}

interface VaultFile {
  format: number;
  kdf: ({ kind: 'scrypt' } & ScryptParams) | { kind: 'keyfile'; salt: string };
  check: Envelope;
  secrets: Record<string, SecretEntry>;
}

export interface PendingRotation {
  store: string;
  since: string;
  pid: number;
  host: string;
}

export interface SecretInfo {
  name: string;
  created: string;
  rotated: string | null;
  version: number;
  /** Previous versions kept, newest first. */
  versions: number[];
  pending?: PendingRotation;
}

export interface SetResult {
  version: number;
  /** The version the value replaced (kept), if there was one. */
  replaced?: number;
  /** The value was already the current one: nothing was written. */
  unchanged: boolean;
}

export const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const versionAad = (name: string, version: number) => `${name}\u0000v${version}`;
const pendingAad = (name: string) => `${name}\u0000pending`;

function seal(key: Buffer, aad: string, value: string, created?: string): Envelope {
  const now = new Date().toISOString();
  return { v: 1, ...wrapKey(key, Buffer.from(value, 'utf8'), aad), created: created ?? now, rotated: created ? now : null };
}

function open(key: Buffer, aad: string, envelope: Envelope): string | undefined {
  return unwrapKey(key, envelope, aad)?.toString('utf8');
}

function newKdf(source: VaultKeySource): VaultFile['kdf'] {
  return source.kind === 'passphrase' ? { kind: 'scrypt', ...newScryptParams() } : { kind: 'keyfile', salt: randomBytes(16).toString('base64') };
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

function readVaultFile(file: string): VaultFile {
  let data: VaultFile;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8')) as VaultFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new StorageError('NOT_FOUND', `The secrets vault ${file} is gone.`, { hint: 'Restore it from a backup copy.' });
    throw new StorageError('BAD_DATA', `The vault ${file} is not valid JSON.`, { hint: 'Restore it from a backup copy.' });
  }
  if (data.format !== FORMAT) throw new StorageError('BAD_DATA', `The vault ${file} has format ${data.format}; this tool reads ${FORMAT}.`);
  return data;
}

function checkSize(name: string, value: string): void {
  if (!value) throw new StorageError('USAGE', `The value for secret "${name}" is empty.`, { hint: 'Give a non-empty value.' });
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_SECRET_BYTES)
    throw new StorageError('USAGE', `The value for secret "${name}" is ${bytes} bytes; a secret holds at most ${MAX_SECRET_BYTES} bytes (64 KiB).`, {
      hint: 'The vault is for passwords, keys and tokens. Keep a large file elsewhere (encrypted) and store its key here.',
    });
}

function checkName(name: string): void {
  if (!SECRET_NAME.test(name))
    throw new StorageError('USAGE', `"${name}" is not a valid secret name.`, {
      hint: 'Use letters, digits, ".", "-" and "_", starting with a letter or digit.',
    });
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

  private static lockFile(file: string): string {
    return `${file}.lock`;
  }

  /** Opens the vault, or creates an empty one when `create` is set and there is none. Wrong key: BAD_DATA (65). */
  static async open(file: string, source: VaultKeySource, options: { create?: boolean } = {}): Promise<Vault> {
    if (!fs.existsSync(file)) {
      const broken = brokenLink(file);
      if (broken)
        throw new StorageError('CONFIG_INVALID', `The secrets vault ${file} is ${broken}: refusing to make a new vault in its place.`, {
          hint: 'Mount or restore what the link points to (or mend the link), then run again. Nothing was written.',
        });
      if (!options.create)
        throw new StorageError('NOT_FOUND', `There is no secrets vault at ${file} yet.`, {
          hint: 'Create it by storing a first secret: `storage secrets set NAME`.',
        });
      const kdf = newKdf(source);
      const key = await keyFor(source, kdf);
      // Created under the lock: of two first `secrets set` at once, the second opens the first's vault.
      const created = withFileLock(
        Vault.lockFile(file),
        () => {
          if (fs.existsSync(file)) return undefined;
          const vault = new Vault(file, { format: FORMAT, kdf, check: seal(key, CHECK_NAME, CHECK_VALUE), secrets: {} }, key);
          vault.save();
          return vault;
        },
        { what: `the secrets vault ${file}` },
      );
      if (created) return created;
    }
    const data = readVaultFile(file);
    const key = await keyFor(source, data.kdf);
    if (open(key, CHECK_NAME, data.check) !== CHECK_VALUE) {
      throw new StorageError('BAD_DATA', `Cannot open the vault ${file}: wrong passphrase or key.`, {
        hint: 'Use the passphrase or key file the vault was created with. Nothing was changed.',
      });
    }
    return new Vault(file, data, key);
  }

  private save(data: VaultFile = this.data): void {
    writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`, 0o600);
  }

  /**
   * Applies `change` to the vault as it is on disk now, under the lock, and writes it back. The
   * key this vault was opened with must still open the file: one re-keyed meanwhile is not
   * written over with the old key.
   */
  private mutate<T>(change: (data: VaultFile) => T): T {
    return withFileLock(
      Vault.lockFile(this.file),
      () => {
        const fresh = readVaultFile(this.file);
        if (open(this.key, CHECK_NAME, fresh.check) !== CHECK_VALUE) {
          throw new StorageError('BAD_DATA', `The vault ${this.file} was re-keyed by another command while this one ran; nothing was written.`, {
            hint: 'Run the command again with the new passphrase or key file.',
          });
        }
        const result = change(fresh);
        this.save(fresh);
        this.data = fresh;
        return result;
      },
      { what: `the secrets vault ${this.file}` },
    );
  }

  /** Reads the vault again (another process may have written it since it was opened). */
  refresh(): void {
    const fresh = readVaultFile(this.file);
    if (open(this.key, CHECK_NAME, fresh.check) === CHECK_VALUE) this.data = fresh;
  }

  list(): SecretInfo[] {
    return Object.entries(this.data.secrets)
      .map(([name, entry]) => ({
        name,
        created: entry.created,
        rotated: entry.rotated,
        version: entry.version ?? 1,
        versions: (entry.history ?? []).map((old) => old.version),
        ...(entry.pending ? { pending: { store: entry.pending.store, since: entry.pending.since, pid: entry.pending.pid, host: entry.pending.host } } : {}),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  has(name: string): boolean {
    return Object.hasOwn(this.data.secrets, name);
  }

  private decrypt(name: string, aad: string, envelope: Envelope, what: string): string {
    const value = open(this.key, aad, envelope);
    if (value === undefined)
      throw new StorageError('BAD_DATA', `${what} in ${this.file} fails authentication: it was altered or moved from another name.`, {
        hint: `Set the secret again: storage secrets set ${name} --force`,
      });
    registerSecret(value);
    return value;
  }

  /** The value (or an older version's), or undefined when there is no such secret. A tampered entry is BAD_DATA. */
  get(name: string, version?: number): string | undefined {
    const entry = this.has(name) ? this.data.secrets[name] : undefined;
    if (!entry) return undefined;
    const current = entry.version ?? 1;
    if (version === undefined || version === current) return this.decrypt(name, name, entry, `Secret "${name}"`);
    const old = (entry.history ?? []).find((candidate) => candidate.version === version);
    if (!old) {
      const kept = [current, ...(entry.history ?? []).map((candidate) => candidate.version)].join(', ');
      throw new StorageError('NOT_FOUND', `Secret "${name}" has no version ${version}; the vault keeps versions ${kept}.`, {
        hint: `See the versions with: storage secrets list. At most ${KEEP_VERSIONS} previous values are kept.`,
      });
    }
    return this.decrypt(name, versionAad(name, version), old, `Version ${version} of secret "${name}"`);
  }

  /** The current version number of a secret (1 for one stored before versions existed). */
  version(name: string): number | undefined {
    return this.has(name) ? (this.data.secrets[name].version ?? 1) : undefined;
  }

  /**
   * Stores a value. Replacing an existing value needs `replace` (the command asks, or takes
   * --force); the replaced value is kept as a version.
   */
  set(name: string, value: string, options: { replace?: boolean } = {}): SetResult {
    checkName(name);
    checkSize(name, value);
    registerSecret(value);
    return this.mutate((data) => {
      const entry = Object.hasOwn(data.secrets, name) ? data.secrets[name] : undefined;
      if (!entry) {
        data.secrets[name] = { ...seal(this.key, name, value), version: 1 };
        return { version: 1, unchanged: false };
      }
      if (open(this.key, name, entry) === value) return { version: entry.version ?? 1, unchanged: true };
      if (!options.replace)
        throw new StorageError('CONFIRMATION_REQUIRED', `Secret "${name}" already exists; replacing it needs confirmation.`, {
          hint: `Add --force to replace it (the current value is kept as version ${entry.version ?? 1}, and \`storage secrets rollback ${name}\` brings it back).`,
        });
      return this.replaceCurrent(data, name, value);
    });
  }

  /** Makes `value` the current value of an existing secret, keeping the current one as a version. */
  private replaceCurrent(data: VaultFile, name: string, value: string): SetResult {
    const entry = data.secrets[name];
    const current = entry.version ?? 1;
    const currentValue = open(this.key, name, entry);
    if (currentValue === undefined)
      throw new StorageError('BAD_DATA', `Secret "${name}" in ${this.file} fails authentication, so it cannot be kept as a version.`, {
        hint: `Remove it (storage secrets remove ${name} --force) and set it again.`,
      });
    const now = new Date().toISOString();
    const kept: VersionEnvelope = {
      ...seal(this.key, versionAad(name, current), currentValue, entry.created),
      rotated: entry.rotated,
      version: current,
      replaced: now,
    };
    const history = [kept, ...(entry.history ?? [])].slice(0, KEEP_VERSIONS);
    const next = Math.max(current, ...history.map((old) => old.version)) + 1;
    data.secrets[name] = { ...seal(this.key, name, value, entry.created), version: next, history, ...(entry.pending ? { pending: entry.pending } : {}) };
    return { version: next, replaced: current, unchanged: false };
  }

  /**
   * Brings back a previous value (the newest kept one unless `version` is given) as a new current
   * version; the value it replaces is kept in turn, so a rollback can itself be undone.
   */
  rollback(name: string, version?: number): SetResult & { restored: number } {
    return this.mutate((data) => {
      const entry = Object.hasOwn(data.secrets, name) ? data.secrets[name] : undefined;
      if (!entry) throw new StorageError('NOT_FOUND', `There is no secret "${name}" in ${this.file}.`, { hint: 'See `storage secrets list`.' });
      const history = entry.history ?? [];
      const wanted = version ?? history[0]?.version;
      const old = history.find((candidate) => candidate.version === wanted);
      if (wanted === undefined || !old) {
        throw new StorageError(
          'NOT_FOUND',
          history.length === 0
            ? `Secret "${name}" has no previous version to roll back to.`
            : `Secret "${name}" has no kept version ${wanted}; kept: ${history.map((candidate) => candidate.version).join(', ')}.`,
          { hint: 'See the versions with: storage secrets list.' },
        );
      }
      const value = this.decrypt(name, versionAad(name, old.version), old, `Version ${old.version} of secret "${name}"`);
      return { ...this.replaceCurrent(data, name, value), restored: old.version };
    });
  }

  remove(name: string): boolean {
    return this.mutate((data) => {
      if (!Object.hasOwn(data.secrets, name)) return false;
      delete data.secrets[name];
      return true;
    });
  }

  /** Whether a rotation of this secret is in flight (or was interrupted). */
  hasPending(name: string): boolean {
    return this.has(name) && this.data.secrets[name].pending !== undefined;
  }

  /** The pending next value of a rotation in flight, if there is one. */
  pending(name: string): (PendingRotation & { value: string }) | undefined {
    const pending = this.has(name) ? this.data.secrets[name].pending : undefined;
    if (!pending) return undefined;
    const value = this.decrypt(name, pendingAad(name), pending, `The pending rotation of secret "${name}"`);
    return { store: pending.store, since: pending.since, pid: pending.pid, host: pending.host, value };
  }

  /** Records the next password of a rotation before the server is changed, so a killed rotation never loses it. */
  setPending(name: string, value: string, store: string): void {
    checkSize(name, value);
    registerSecret(value);
    this.mutate((data) => {
      const entry = Object.hasOwn(data.secrets, name) ? data.secrets[name] : undefined;
      if (!entry) throw new StorageError('NOT_FOUND', `There is no secret "${name}" in ${this.file}.`, { hint: `storage secrets set ${name}` });
      if (entry.pending)
        throw new StorageError(
          'LOCKED',
          `A rotation of secret "${name}" (store "${entry.pending.store}") is already in progress since ${entry.pending.since}.`,
          {
            hint: 'Let it finish, or run `storage db health` to settle a rotation that was interrupted.',
          },
        );
      entry.pending = { ...seal(this.key, pendingAad(name), value), store, since: new Date().toISOString(), pid: process.pid, host: os.hostname() };
    });
  }

  /** The server took the pending password: it becomes the current value (the old one kept as a version). */
  commitPending(name: string, expected?: string): void {
    this.mutate((data) => {
      const entry = Object.hasOwn(data.secrets, name) ? data.secrets[name] : undefined;
      const pending = entry?.pending;
      const value = pending ? open(this.key, pendingAad(name), pending) : undefined;
      if (!entry || value === undefined || (expected !== undefined && value !== expected))
        throw new StorageError('FAILED', `The pending rotation of secret "${name}" is no longer in the vault (another command settled it).`, {
          hint: 'Run `storage db health` to check which password the server takes.',
        });
      delete entry.pending;
      this.replaceCurrent(data, name, value);
    });
  }

  /** The server kept the current password: the pending one is dropped. */
  clearPending(name: string): void {
    this.mutate((data) => {
      if (Object.hasOwn(data.secrets, name)) delete data.secrets[name].pending;
    });
  }

  /** Re-encrypts every secret (and every kept version) under a new key, atomically: an interrupted rekey leaves the old vault whole. */
  async rekey(source: VaultKeySource): Promise<number> {
    const kdf = newKdf(source);
    // Deriving the new key (scrypt) is slow: done before the lock is taken.
    const key = await keyFor(source, kdf);
    return withFileLock(
      Vault.lockFile(this.file),
      () => {
        const fresh = readVaultFile(this.file);
        if (open(this.key, CHECK_NAME, fresh.check) !== CHECK_VALUE)
          throw new StorageError('BAD_DATA', `The vault ${this.file} was re-keyed by another command while this one ran; nothing was written.`, {
            hint: 'Run the command again with the new passphrase or key file.',
          });
        const reseal = (oldAad: string, envelope: Envelope, what: string, name: string): Envelope => {
          const value = open(this.key, oldAad, envelope);
          if (value === undefined)
            throw new StorageError('BAD_DATA', `${what} in ${this.file} fails authentication; the vault was not re-keyed.`, {
              hint: `Remove or set it again first: storage secrets set ${name} --force`,
            });
          return { ...seal(key, oldAad, value), created: envelope.created, rotated: envelope.rotated };
        };
        const next: VaultFile = { format: FORMAT, kdf, check: seal(key, CHECK_NAME, CHECK_VALUE), secrets: {} };
        for (const [name, entry] of Object.entries(fresh.secrets)) {
          next.secrets[name] = {
            ...reseal(name, entry, `Secret "${name}"`, name),
            ...(entry.version !== undefined ? { version: entry.version } : {}),
            ...(entry.history
              ? {
                  history: entry.history.map((old) => ({
                    ...reseal(versionAad(name, old.version), old, `Version ${old.version} of secret "${name}"`, name),
                    version: old.version,
                    replaced: old.replaced,
                  })),
                }
              : {}),
            ...(entry.pending
              ? {
                  pending: {
                    ...reseal(pendingAad(name), entry.pending, `The pending rotation of secret "${name}"`, name),
                    store: entry.pending.store,
                    since: entry.pending.since,
                    pid: entry.pending.pid,
                    host: entry.pending.host,
                  },
                }
              : {}),
          };
        }
        this.save(next);
        this.data = next;
        this.key = key;
        return Object.keys(next.secrets).length;
      },
      { what: `the secrets vault ${this.file}` },
    );
  }
}
