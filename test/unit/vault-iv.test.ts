// The vault's IVs are random, per envelope and per write: with AES-GCM a repeated IV under one key
// leaks the XOR of the plaintexts (and the key check's plaintext is known), so no two envelopes of
// a vault file may share an IV, however the same value is written again.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Vault } from '../../src/engine/secrets/vault.js';

interface Sealed {
  iv: string;
  data: string;
}

/** Every envelope of a vault file, named: the key check, each current value, kept version and pending one. */
function envelopes(file: string): Array<[string, Sealed]> {
  const vault = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out: Array<[string, Sealed]> = [['check', vault.check]];
  for (const [name, entry] of Object.entries<Sealed & { history?: Array<Sealed & { version: number }>; pending?: Sealed }>(vault.secrets)) {
    out.push([name, entry]);
    for (const kept of entry.history ?? []) out.push([`${name} v${kept.version}`, kept]);
    if (entry.pending) out.push([`${name} pending`, entry.pending]);
  }
  return out;
}

function expectDistinctIvs(file: string): string[] {
  const all = envelopes(file);
  for (const [name, envelope] of all) expect(Buffer.from(envelope.iv, 'base64'), name).toHaveLength(12);
  const ivs = all.map(([, envelope]) => envelope.iv);
  expect(new Set(ivs).size, JSON.stringify(all.map(([name, envelope]) => [name, envelope.iv]))).toBe(ivs.length);
  return ivs;
}

async function newVault() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm18_vault-'));
  const keyFile = path.join(dir, 'vault.key');
  fs.writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const file = path.join(dir, 'vault.json');
  return { dir, file, vault: await Vault.open(file, { kind: 'keyfile', file: keyFile }, { create: true }) };
}

describe('vault IVs', () => {
  it('two writes of the same secret with the same value (set, remove, set again) get different IVs and ciphertexts', async () => {
    const { dir, file, vault } = await newVault();
    try {
      vault.set('db-pw', 'the very same value');
      const first = envelopes(file).find(([name]) => name === 'db-pw')![1];
      vault.remove('db-pw');
      vault.set('db-pw', 'the very same value');
      const second = envelopes(file).find(([name]) => name === 'db-pw')![1];
      expect(second.iv).not.toBe(first.iv);
      expect(second.data).not.toBe(first.data);
      expect(vault.get('db-pw')).toBe('the very same value');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no two envelopes of a vault share an IV: the key check, current values, kept versions of one value, a pending rotation, and after a rekey', async () => {
    const { dir, file, vault } = await newVault();
    try {
      vault.set('a', 'same');
      vault.set('b', 'same');
      // The same value sealed again and again under one name: kept versions and a rollback to it.
      vault.set('a', 'other', { replace: true });
      vault.set('a', 'same', { replace: true });
      vault.rollback('a', 2);
      vault.setPending('b', 'same', 'main');
      const before = expectDistinctIvs(file);
      expect(before).toHaveLength(1 + 2 + 3 + 1);
      const check = envelopes(file)[0][1];
      const otherKey = path.join(dir, 'other.key');
      fs.writeFileSync(otherKey, randomBytes(32).toString('base64'), { mode: 0o600 });
      await vault.rekey({ kind: 'keyfile', file: otherKey });
      const after = expectDistinctIvs(file);
      expect(after.filter((iv) => before.includes(iv))).toEqual([]);
      expect(envelopes(file)[0][1].data).not.toBe(check.data);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
