// What an operator reads when the vault or the audit log stays locked by another running command
// for longer than the 15 s a command waits: the refusal names what is locked (which vault, which
// log) and who holds it, and nothing is written. The wait runs on a clock that jumps 20 s at each
// look, so the test does not sit through 15 real seconds; the holder is this test's own live pid.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { appendAudit, auditPaths } from '../../src/engine/audit/log.js';
import { Vault, type VaultKeySource } from '../../src/engine/secrets/vault.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-lock-wait-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const started = '2026-11-28T09:00:00.000Z';

/** Holds `lockFile` as a live process of this host would (this test's pid), then makes time jump. */
function holdAndLetTimePass(lockFile: string): void {
  fs.writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: os.hostname(), started }), { mode: 0o600 });
  const real = Date.now.bind(Date);
  let looks = 0;
  vi.spyOn(Date, 'now').mockImplementation(() => real() + 20_000 * looks++);
}

function refusalOf(run: () => unknown): { code?: string; exitCode?: number; message?: string; hint?: string } {
  try {
    run();
  } catch (error) {
    return error as { code?: string; exitCode?: number; message?: string; hint?: string };
  }
  throw new Error('expected a refusal');
}

async function refusalOfAsync(run: () => Promise<unknown>): Promise<ReturnType<typeof refusalOf>> {
  try {
    await run();
  } catch (error) {
    return error as ReturnType<typeof refusalOf>;
  }
  throw new Error('expected a refusal');
}

const holderText = `is locked by another process (pid ${process.pid} on ${os.hostname()} since ${started}).`;

function keySource(dir: string): VaultKeySource {
  const file = path.join(dir, 'vault.key');
  fs.writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return { kind: 'keyfile', file };
}

describe('a lock held past the wait', () => {
  it('creating the vault: LOCKED (75) naming the vault file and its holder; no vault is made', async () => {
    const dir = fs.mkdtempSync(path.join(home, 'create-'));
    const file = path.join(dir, 'vault.json');
    const source = keySource(dir);
    holdAndLetTimePass(`${file}.lock`);
    const error = await refusalOfAsync(() => Vault.open(file, source, { create: true }));
    expect(error).toMatchObject({ code: 'LOCKED', exitCode: 75 });
    expect(error.message).toBe(`the secrets vault ${file} ${holderText}`);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('storing a secret: LOCKED naming the vault file; the vault keeps what it held', async () => {
    const dir = fs.mkdtempSync(path.join(home, 'set-'));
    const file = path.join(dir, 'vault.json');
    const vault = await Vault.open(file, keySource(dir), { create: true });
    vault.set('kept', 'value-one');
    const before = fs.readFileSync(file);
    holdAndLetTimePass(`${file}.lock`);
    const error = refusalOf(() => vault.set('kept', 'value-two', { replace: true }));
    expect(error).toMatchObject({ code: 'LOCKED', exitCode: 75 });
    expect(error.message).toBe(`the secrets vault ${file} ${holderText}`);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('re-keying the vault: LOCKED naming the vault file; the vault is still under the old key', async () => {
    const dir = fs.mkdtempSync(path.join(home, 'rekey-'));
    const file = path.join(dir, 'vault.json');
    const source = keySource(dir);
    const vault = await Vault.open(file, source, { create: true });
    vault.set('kept', 'value-one');
    const before = fs.readFileSync(file);
    const other = fs.mkdtempSync(path.join(home, 'rekey-new-'));
    const newSource = keySource(other);
    holdAndLetTimePass(`${file}.lock`);
    const error = await refusalOfAsync(() => vault.rekey(newSource));
    expect(error).toMatchObject({ code: 'LOCKED', exitCode: 75 });
    expect(error.message).toBe(`the secrets vault ${file} ${holderText}`);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    vi.restoreAllMocks();
    expect((await Vault.open(file, source)).get('kept')).toBe('value-one');
  });

  it('appending to the audit log: LOCKED naming the log file; nothing is appended', () => {
    const paths = auditPaths(fs.mkdtempSync(path.join(home, 'audit-')), {});
    const record = { command: 'storage db create main d', stores: ['main'], outcome: 'ok' as const, exitCode: 0, durationMs: 5 };
    appendAudit(record, paths, { env: {} });
    const before = fs.readFileSync(paths.log);
    holdAndLetTimePass(paths.lock);
    const error = refusalOf(() => appendAudit(record, paths, { env: {} }));
    expect(error).toMatchObject({ code: 'LOCKED', exitCode: 75 });
    expect(error.message).toBe(`the audit log ${paths.log} ${holderText}`);
    expect(fs.readFileSync(paths.log).equals(before)).toBe(true);
  });
});
