import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Vault } from '../../src/engine/secrets/vault.js';
import { ROOT } from '../support/paths.js';

function keyFile(dir: string, name = 'vault.key'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return file;
}

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'storage-vault-'));

describe('secrets vault', () => {
  it('round-trips secrets, keeps the file at mode 0600, and survives reopening', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const source = { kind: 'passphrase' as const, passphrase: 'correct horse battery' };
    const vault = await Vault.open(file, source, { create: true });
    vault.set('main-pg', 's3cr3t-value-1');
    vault.set('other', 'another value');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = await Vault.open(file, source);
    expect(again.get('main-pg')).toBe('s3cr3t-value-1');
    expect(again.list().map((s) => s.name)).toEqual(['main-pg', 'other']);
    expect(fs.readFileSync(file, 'utf8')).not.toContain('s3cr3t-value-1');
  });

  it('a wrong passphrase is BAD_DATA (65)', async () => {
    const file = path.join(tempDir(), 'vault.json');
    (await Vault.open(file, { kind: 'passphrase', passphrase: 'right one' }, { create: true })).set('a', 'value-a');
    await expect(Vault.open(file, { kind: 'passphrase', passphrase: 'wrong one' })).rejects.toMatchObject({ code: 'BAD_DATA', exitCode: 65 });
  });

  it('detects a flipped byte in an entry, and refuses a value copied under another name', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const source = { kind: 'keyfile' as const, file: keyFile(dir) };
    const vault = await Vault.open(file, source, { create: true });
    vault.set('a', 'value-a');
    vault.set('b', 'value-b');
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    const flipped = Buffer.from(data.secrets.a.data, 'base64');
    flipped[0] ^= 1;
    data.secrets.a.data = flipped.toString('base64');
    data.secrets.b = JSON.parse(fs.readFileSync(file, 'utf8')).secrets.a; // a's untouched envelope moved under b
    fs.writeFileSync(file, JSON.stringify(data));
    const reopened = await Vault.open(file, source);
    expect(() => reopened.get('a')).toThrow(/fails authentication/);
    expect(() => reopened.get('b')).toThrow(/fails authentication/);
  });

  it('rekeys atomically: killed at any moment, the vault opens with the old key or the new one', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const oldKey = keyFile(dir, 'old.key');
    const newKey = keyFile(dir, 'new.key');
    const vault = await Vault.open(file, { kind: 'keyfile', file: oldKey }, { create: true });
    for (let i = 0; i < 400; i++) vault.set(`secret-${i}`, `value-${i}-${'x'.repeat(200)}`);
    const script = `import { Vault } from ${JSON.stringify(path.join(ROOT, 'dist/engine/secrets/vault.js'))};
      const v = await Vault.open(${JSON.stringify(file)}, { kind: 'keyfile', file: ${JSON.stringify(oldKey)} });
      console.log('open'); await v.rekey({ kind: 'keyfile', file: ${JSON.stringify(newKey)} });`;
    const child = execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
    child.kill('SIGKILL');
    await child;
    const withOld = await Vault.open(file, { kind: 'keyfile', file: oldKey }).catch(() => undefined);
    const withNew = await Vault.open(file, { kind: 'keyfile', file: newKey }).catch(() => undefined);
    const opened = withOld ?? withNew;
    expect(opened, 'the vault opens with one of the two keys').toBeDefined();
    expect(opened!.get('secret-399')).toBe(`value-399-${'x'.repeat(200)}`);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp')).length).toBeLessThanOrEqual(1);
  });
});

describe('vault envelopes', () => {
  it('gives every envelope its own random IV: two envelopes of the same value differ', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const vault = await Vault.open(file, { kind: 'keyfile', file: keyFile(dir) }, { create: true });
    vault.set('a', 'the same value');
    vault.set('b', 'the same value');
    const { secrets } = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(secrets.a.iv).not.toBe(secrets.b.iv);
    expect(secrets.a.data).not.toBe(secrets.b.data);
    expect(Buffer.from(secrets.a.iv, 'base64')).toHaveLength(12);
  });
});

describe('vault writes never lose an update', () => {
  it('two writers that opened the vault at the same time both keep their secret (each re-reads under the lock)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const source = { kind: 'keyfile' as const, file: keyFile(dir) };
    await Vault.open(file, source, { create: true });
    const first = await Vault.open(file, source);
    const second = await Vault.open(file, source);
    first.set('from-first', 'value-1');
    second.set('from-second', 'value-2');
    const reopened = await Vault.open(file, source);
    expect(reopened.list().map((s) => s.name)).toEqual(['from-first', 'from-second']);
  });

  it('a write that started before a rekey does not write the old-key vault back: it fails and the new key keeps working', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const oldKey = { kind: 'keyfile' as const, file: keyFile(dir, 'old.key') };
    const newKey = { kind: 'keyfile' as const, file: keyFile(dir, 'new.key') };
    (await Vault.open(file, oldKey, { create: true })).set('kept', 'kept-value');
    const slowWriter = await Vault.open(file, oldKey);
    await (await Vault.open(file, oldKey)).rekey(newKey);
    expect(() => slowWriter.set('late', 'late-value')).toThrow(/re-keyed by another command/);
    const reopened = await Vault.open(file, newKey);
    expect(reopened.get('kept')).toBe('kept-value');
    await expect(Vault.open(file, oldKey)).rejects.toMatchObject({ code: 'BAD_DATA' });
  });

  it('two processes setting secrets at once in a passphrase vault keep all of them', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const passphrase = 'racing processes';
    await Vault.open(file, { kind: 'passphrase', passphrase }, { create: true });
    const script = `import { Vault } from ${JSON.stringify(path.join(ROOT, 'dist/engine/secrets/vault.js'))};
      const v = await Vault.open(${JSON.stringify(file)}, { kind: 'passphrase', passphrase: ${JSON.stringify(passphrase)} });
      for (let i = 0; i < 20; i++) v.set('w' + process.argv[1] + '-' + i, 'value-' + i);`;
    await Promise.all(['1', '2'].map((worker) => execa(process.execPath, ['--input-type=module', '-e', script, worker])));
    const names = (await Vault.open(file, { kind: 'passphrase', passphrase })).list().map((s) => s.name);
    expect(names).toHaveLength(40);
  });
});

describe('vault versions', () => {
  it('replacing needs to be asked for; the replaced value is kept as a version that get and rollback bring back', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const vault = await Vault.open(file, { kind: 'keyfile', file: keyFile(dir) }, { create: true });
    expect(vault.set('db-pw', 'first-value')).toEqual({ version: 1, unchanged: false });
    expect(() => vault.set('db-pw', 'second-value')).toThrow(expect.objectContaining({ code: 'CONFIRMATION_REQUIRED', exitCode: 77 }));
    expect(vault.get('db-pw')).toBe('first-value');
    expect(vault.set('db-pw', 'first-value')).toEqual({ version: 1, unchanged: true });
    expect(vault.set('db-pw', 'second-value', { replace: true })).toEqual({ version: 2, replaced: 1, unchanged: false });
    expect(vault.get('db-pw')).toBe('second-value');
    expect(vault.get('db-pw', 1)).toBe('first-value');
    expect(vault.rollback('db-pw')).toMatchObject({ restored: 1, version: 3, replaced: 2 });
    expect(vault.get('db-pw')).toBe('first-value');
    expect(vault.get('db-pw', 2)).toBe('second-value');
    expect(vault.list()[0]).toMatchObject({ name: 'db-pw', version: 3, versions: [2, 1] });
    expect(() => vault.get('db-pw', 9)).toThrow(/no version 9/);
  });

  it('keeps the last 10 versions, and a kept version moved in as the current value does not decrypt', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const source = { kind: 'keyfile' as const, file: keyFile(dir) };
    const vault = await Vault.open(file, source, { create: true });
    for (let i = 1; i <= 13; i++) vault.set('token', `value-${i}`, { replace: true });
    expect(vault.list()[0]).toMatchObject({ version: 13, versions: [12, 11, 10, 9, 8, 7, 6, 5, 4, 3] });
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    const old = data.secrets.token.history[0];
    data.secrets.token = { ...data.secrets.token, iv: old.iv, tag: old.tag, data: old.data };
    fs.writeFileSync(file, JSON.stringify(data));
    const tampered = await Vault.open(file, source);
    expect(() => tampered.get('token')).toThrow(/fails authentication/);
  });

  it('re-keys kept versions and a pending rotation with the rest', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const vault = await Vault.open(file, { kind: 'keyfile', file: keyFile(dir, 'a.key') }, { create: true });
    vault.set('pw', 'v1');
    vault.set('pw', 'v2', { replace: true });
    vault.setPending('pw', 'v3-pending', 'main');
    const newKey = { kind: 'keyfile' as const, file: keyFile(dir, 'b.key') };
    await vault.rekey(newKey);
    const reopened = await Vault.open(file, newKey);
    expect([reopened.get('pw'), reopened.get('pw', 1), reopened.pending('pw')?.value]).toEqual(['v2', 'v1', 'v3-pending']);
    reopened.commitPending('pw', 'v3-pending');
    expect([reopened.get('pw'), reopened.get('pw', 2), reopened.pending('pw')]).toEqual(['v3-pending', 'v2', undefined]);
  });
});

describe('vault limits', () => {
  it('refuses a secret over 64 KiB (a usage error) and accepts one of exactly 64 KiB', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'vault.json');
    const vault = await Vault.open(file, { kind: 'keyfile', file: keyFile(dir) }, { create: true });
    expect(() => vault.set('big', 'x'.repeat(64 * 1024 + 1))).toThrow(expect.objectContaining({ code: 'USAGE', exitCode: 64 }));
    expect(vault.has('big')).toBe(false);
    vault.set('fits', 'y'.repeat(64 * 1024));
    expect((await Vault.open(file, { kind: 'keyfile', file: path.join(dir, 'vault.key') })).get('fits')).toHaveLength(64 * 1024);
  });
});
