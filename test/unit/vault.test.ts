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
