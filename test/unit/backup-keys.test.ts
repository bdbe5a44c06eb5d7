// Where a backup repository's key comes from (src/engine/repository/keys.ts): the environment
// before the config, a secret reference resolved through the vault, a key file that is created
// only where allowed, and encryption that is configured but unusable refused, never a silent
// plaintext backup.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../src/engine/config/load.js';
import { isKnownSecret } from '../../src/engine/redact.js';
import { defaultKeyFile, readKeyFile, resolveKeySource } from '../../src/engine/repository/keys.js';
import { refusal } from '../support/refusal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-keys-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function config(backup?: Record<string, unknown>): LoadedConfig {
  return { source: { path: path.join(dir, 'storage.config.yaml') }, file: { backup }, raw: {}, stores: new Map() } as unknown as LoadedConfig;
}

describe('resolveKeySource', () => {
  it('STORAGE_BACKUP_PASSPHRASE wins over the config, and is registered for redaction', async () => {
    const passphrase = 'env-Passphrase-9f8e7d6c';
    const source = await resolveKeySource(config({ encryption: { enabled: false } }), { STORAGE_BACKUP_PASSPHRASE: passphrase });
    expect(source).toEqual({ kind: 'passphrase', passphrase, origin: 'STORAGE_BACKUP_PASSPHRASE' });
    expect(isKnownSecret(passphrase)).toBe(true);
  });

  it('no encryption configured: the default key file in the user config dir, which may be created', async () => {
    expect(await resolveKeySource(config(), {})).toEqual({ kind: 'keyfile', file: defaultKeyFile(), create: true });
    expect(await resolveKeySource(config({ repository: './repo' }), {})).toEqual({ kind: 'keyfile', file: defaultKeyFile(), create: true });
    expect(defaultKeyFile().endsWith(`${path.sep}backup.key`)).toBe(true);
  });

  it('encryption turned off: none; a configured key file: that file (relative to the config), never created', async () => {
    expect(await resolveKeySource(config({ encryption: { enabled: false } }), {})).toEqual({ kind: 'none' });
    expect(await resolveKeySource(config({ encryption: { keyFile: 'keys/backup.key' } }), {})).toEqual({
      kind: 'keyfile',
      file: path.join(dir, 'keys/backup.key'),
      create: false,
    });
  });

  it('a passphrase or key in the config, literal or from the vault, is registered for redaction and says where it came from', async () => {
    const literal = 'config-Passphrase-1a2b3c4d';
    expect(await resolveKeySource(config({ encryption: { passphrase: literal } }), {})).toEqual({
      kind: 'passphrase',
      passphrase: literal,
      origin: 'backup.encryption.passphrase',
    });
    expect(isKnownSecret(literal)).toBe(true);
    const fromVault = 'vault-Key-5e6f7a8b9c';
    const asked: string[] = [];
    const resolver = async (name: string) => {
      asked.push(name);
      return name === 'backupkey' ? fromVault : undefined;
    };
    expect(await resolveKeySource(config({ encryption: { key: 'secret:backupkey' } }), {}, resolver)).toEqual({
      kind: 'passphrase',
      passphrase: fromVault,
      origin: 'backup.encryption.key',
    });
    expect(asked).toEqual(['backupkey']);
    expect(isKnownSecret(fromVault)).toBe(true);
  });

  it('a secret reference that cannot be resolved is SECRET_UNRESOLVED (78), naming the secret, with or without a vault', async () => {
    for (const resolver of [undefined, async () => undefined]) {
      const error = await refusal(() => resolveKeySource(config({ encryption: { passphrase: 'secret:missing' } }), {}, resolver));
      expect(error.code).toBe('SECRET_UNRESOLVED');
      expect(error.exitCode).toBe(78);
      expect(error.message).toBe('The backup passphrase comes from secret "missing", which cannot be resolved.');
      expect(error.hint).toBe('Add the secret to the vault, or set STORAGE_BACKUP_PASSPHRASE for this run.');
    }
  });
});

describe('readKeyFile', () => {
  it('creates a random 32-byte key (mode 0600, private dir) only when allowed, once; later reads return the same bytes', () => {
    const file = path.join(dir, 'made', 'backup.key');
    const notices: string[] = [];
    const first = readKeyFile({ kind: 'keyfile', file, create: true }, (message) => notices.push(message));
    expect(first.length).toBe(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(file);
    const again = readKeyFile({ kind: 'keyfile', file, create: true }, (message) => notices.push(message));
    expect(again.equals(first)).toBe(true);
    expect(notices).toHaveLength(1);
    const other = readKeyFile({ kind: 'keyfile', file: path.join(dir, 'made2', 'backup.key'), create: true }, () => undefined);
    expect(other.equals(first)).toBe(false);
  });

  it('a configured key file that is missing is CONFIG_INVALID (78) and nothing is created', async () => {
    const file = path.join(dir, 'absent', 'backup.key');
    const error = await refusal(() => readKeyFile({ kind: 'keyfile', file, create: false }, () => undefined));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.exitCode).toBe(78);
    expect(error.message).toContain(file);
    expect(error.hint).toContain('Nothing was written.');
    expect(fs.existsSync(path.dirname(file))).toBe(false);
    expect(error.message).toContain('which does not exist');
  });

  it('a key file whose path is a loop of symbolic links, or a link to a missing file, says so (78), even where a missing key file would be made', async () => {
    const loop = path.join(dir, 'loop-a.key');
    fs.symlinkSync('loop-b.key', loop);
    fs.symlinkSync('loop-a.key', path.join(dir, 'loop-b.key'));
    for (const create of [false, true]) {
      const error = await refusal(() => readKeyFile({ kind: 'keyfile', file: loop, create }, () => undefined));
      expect(error.code, `create: ${create}`).toBe('CONFIG_INVALID');
      expect(error.message).toBe(`Backup encryption is configured with key file ${loop}, which is a loop of symbolic links.`);
    }
    expect(fs.readlinkSync(loop)).toBe('loop-b.key');
    // A link to a key on a volume that is not mounted: no new key is made through it.
    const dangling = path.join(dir, 'on-volume.key');
    fs.symlinkSync(path.join(dir, 'unmounted', 'backup.key'), dangling);
    const error = await refusal(() => readKeyFile({ kind: 'keyfile', file: dangling, create: true }, () => undefined));
    expect(error.message).toBe(
      `Backup encryption is configured with key file ${dangling}, which is a symbolic link to ${path.join(dir, 'unmounted', 'backup.key')}, which does not exist.`,
    );
    expect(fs.existsSync(path.join(dir, 'unmounted'))).toBe(false);
  });

  it('a key file holding fewer than 32 bytes is refused; exactly 32 is taken', async () => {
    const short = path.join(dir, 'short.key');
    fs.writeFileSync(short, `${Buffer.alloc(31, 7).toString('base64')}\n`);
    const error = await refusal(() => readKeyFile({ kind: 'keyfile', file: short, create: false }, () => undefined));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('32-byte');
    expect(error.hint).toBe('Point backup.encryption.keyFile at the key file this repository was created with.');
    const exact = path.join(dir, 'exact.key');
    fs.writeFileSync(exact, `  ${Buffer.alloc(32, 9).toString('base64')}  \n`);
    expect(readKeyFile({ kind: 'keyfile', file: exact, create: false }, () => undefined).equals(Buffer.alloc(32, 9))).toBe(true);
  });
});
