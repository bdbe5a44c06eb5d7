// The secrets vault's refusals (src/engine/secrets/vault.ts), each with its code, message and the
// hint that says what to do: the wrong kind of key, an unreadable or short key file, no vault, a
// vault gone, unparsable or of another format, a wrong key, a vault re-keyed by another command,
// empty, oversized and badly named secrets. Nothing is written by any of them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Vault, type VaultKeySource } from '../../src/engine/secrets/vault.js';
import { refusal } from '../support/refusal.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-vault-refusals-'));
let n = 0;
function keyFile(fill = 9, bytes = 32): VaultKeySource {
  const file = path.join(home, `k${++n}.key`);
  fs.writeFileSync(file, Buffer.alloc(bytes, fill).toString('base64'), { mode: 0o600 });
  return { kind: 'keyfile', file };
}
const vaultFile = () => path.join(home, `v${++n}.json`);

describe('vault refusals', () => {
  it('the wrong kind of key: CONFIG_INVALID saying which is needed', async () => {
    const byFile = vaultFile();
    await Vault.open(byFile, keyFile(), { create: true });
    const passphrase = await refusal(Vault.open(byFile, { kind: 'passphrase', passphrase: 'some-Passphrase-1' }));
    expect(passphrase.code).toBe('CONFIG_INVALID');
    expect(passphrase.message).toBe('This vault is opened with a key file, and none was given.');
    expect(passphrase.hint).toBe('Set vault.keyFile in the config or STORAGE_VAULT_KEY_FILE.');
    const byPassphrase = vaultFile();
    await Vault.open(byPassphrase, { kind: 'passphrase', passphrase: 'some-Passphrase-1' }, { create: true });
    const file = await refusal(Vault.open(byPassphrase, keyFile()));
    expect(file.code).toBe('CONFIG_INVALID');
    expect(file.message).toBe('This vault is opened with a passphrase, and none was given.');
    expect(file.hint).toBe('Set STORAGE_VAULT_PASSPHRASE or use --passphrase-file.');
  }, 30_000);

  it('a key file that cannot be read, or holds less than 32 bytes: CONFIG_INVALID, no vault created', async () => {
    const missing = path.join(home, 'no-such.key');
    const file = vaultFile();
    const unreadable = await refusal(Vault.open(file, { kind: 'keyfile', file: missing }, { create: true }));
    expect(unreadable.code).toBe('CONFIG_INVALID');
    expect(unreadable.message).toBe(`The vault key file ${missing} cannot be read.`);
    expect(unreadable.hint).toBe('Check vault.keyFile / STORAGE_VAULT_KEY_FILE.');
    const short = keyFile(1, 31);
    const tooShort = await refusal(Vault.open(file, short, { create: true }));
    expect(tooShort.code).toBe('CONFIG_INVALID');
    expect(tooShort.message).toBe(`The vault key file ${(short as { file: string }).file} does not hold a 32-byte base64 key.`);
    expect(tooShort.hint).toBe('Create one with: head -c 32 /dev/urandom | base64 > FILE; chmod 600 FILE');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a vault path that is a link to a missing file (a volume not mounted) or a loop: refused, no new vault in its place, the link kept', async () => {
    const key = keyFile();
    const mounted = path.join(home, `volume${++n}`);
    const dangling = vaultFile();
    fs.symlinkSync(path.join(mounted, 'vault.json'), dangling);
    const loop = vaultFile();
    fs.symlinkSync(path.basename(loop), loop);
    for (const [file, what] of [
      [dangling, `a symbolic link to ${path.join(mounted, 'vault.json')}, which does not exist`],
      [loop, 'a loop of symbolic links'],
    ]) {
      const refused = await refusal(Vault.open(file, key, { create: true }));
      expect(refused.code).toBe('CONFIG_INVALID');
      expect(refused.message).toBe(`The secrets vault ${file} is ${what}: refusing to make a new vault in its place.`);
      expect(fs.lstatSync(file).isSymbolicLink()).toBe(true);
    }
    expect(fs.existsSync(mounted)).toBe(false);
    expect(fs.readdirSync(home).filter((name) => name.endsWith('.lock'))).toEqual([]);
  });

  it('no vault yet, a wrong key, a file that is not JSON or of another format', async () => {
    const key = keyFile();
    const file = vaultFile();
    const none = await refusal(Vault.open(file, key));
    expect(none.code).toBe('NOT_FOUND');
    expect(none.hint).toBe('Create it by storing a first secret: `storage secrets set NAME`.');
    const vault = await Vault.open(file, key, { create: true });
    vault.set('one', 'value-1');
    const text = fs.readFileSync(file, 'utf8');
    const wrong = await refusal(Vault.open(file, keyFile(10)));
    expect(wrong.code).toBe('BAD_DATA');
    expect(wrong.message).toBe(`Cannot open the vault ${file}: wrong passphrase or key.`);
    expect(wrong.hint).toBe('Use the passphrase or key file the vault was created with. Nothing was changed.');
    fs.writeFileSync(file, '{ not json');
    const broken = await refusal(Vault.open(file, key));
    expect(broken.code).toBe('BAD_DATA');
    expect(broken.message).toBe(`The vault ${file} is not valid JSON.`);
    expect(broken.hint).toBe('Restore it from a backup copy.');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(text), format: 99 }));
    const other = await refusal(Vault.open(file, key));
    expect(other.code).toBe('BAD_DATA');
    expect(other.message).toMatch(new RegExp(`^The vault ${file.replace(/[.]/g, '\\.')} has format 99; this tool reads \\d+\\.$`));
    fs.writeFileSync(file, text);
    expect((await Vault.open(file, key)).get('one')).toBe('value-1');
  });

  it('a vault removed, or re-keyed by another command, after it was opened: nothing is written', async () => {
    const key = keyFile();
    const file = vaultFile();
    const vault = await Vault.open(file, key, { create: true });
    vault.set('one', 'value-1');
    const other = await Vault.open(file, key);
    await other.rekey(keyFile(11));
    const rekeyed = fs.readFileSync(file, 'utf8');
    const stale = await refusal(() => vault.set('two', 'value-2'));
    expect(stale.code).toBe('BAD_DATA');
    expect(stale.message).toBe(`The vault ${file} was re-keyed by another command while this one ran; nothing was written.`);
    expect(stale.hint).toBe('Run the command again with the new passphrase or key file.');
    expect(fs.readFileSync(file, 'utf8')).toBe(rekeyed);
    fs.rmSync(file);
    const gone = await refusal(() => vault.set('two', 'value-2'));
    expect(gone.code).toBe('NOT_FOUND');
    expect(gone.message).toBe(`The secrets vault ${file} is gone.`);
    expect(gone.hint).toBe('Restore it from a backup copy.');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('an empty value, one over 64 KiB, a bad name: USAGE with what to do; the vault unchanged', async () => {
    const key = keyFile();
    const file = vaultFile();
    const vault = await Vault.open(file, key, { create: true });
    vault.set('kept', 'value');
    const before = fs.readFileSync(file, 'utf8');
    const empty = await refusal(() => vault.set('x', ''));
    expect(empty.code).toBe('USAGE');
    expect(empty.hint).toBe('Give a non-empty value.');
    const big = await refusal(() => vault.set('x', 'a'.repeat(64 * 1024 + 1)));
    expect(big.code).toBe('USAGE');
    expect(big.hint).toBe('The vault is for passwords, keys and tokens. Keep a large file elsewhere (encrypted) and store its key here.');
    for (const name of ['-dash-first', 'has space', 'a/b', '']) {
      const bad = await refusal(() => vault.set(name, 'v'));
      expect(bad.code).toBe('USAGE');
      expect(bad.message).toBe(`"${name}" is not a valid secret name.`);
      expect(bad.hint).toBe('Use letters, digits, ".", "-" and "_", starting with a letter or digit.');
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });
});

describe('vault versions and pending rotations, as list and the refusals report them', () => {
  it('list: sorted by name, each with its version, kept versions and any pending rotation (who and since, never the value)', async () => {
    const file = vaultFile();
    const vault = await Vault.open(file, keyFile(), { create: true });
    vault.set('zeta', 'z-1');
    vault.set('alpha', 'a-1');
    expect(vault.set('alpha', 'a-1')).toEqual({ version: 1, unchanged: true });
    vault.set('alpha', 'a-2', { replace: true });
    vault.setPending('zeta', 'z-next', 'main');
    expect(vault.hasPending('zeta')).toBe(true);
    expect(vault.hasPending('alpha')).toBe(false);
    expect(vault.hasPending('nothing')).toBe(false);
    const listed = vault.list();
    expect(listed.map(({ name, version, versions }) => ({ name, version, versions }))).toEqual([
      { name: 'alpha', version: 2, versions: [1] },
      { name: 'zeta', version: 1, versions: [] },
    ]);
    expect(listed[0].pending).toBeUndefined();
    expect(listed[1].pending).toEqual({ store: 'main', since: expect.any(String), pid: process.pid, host: os.hostname() });
    expect(vault.version('alpha')).toBe(2);
    expect(vault.version('nothing')).toBeUndefined();
    expect(JSON.stringify(listed)).not.toContain('z-next');
  });

  it('replacing without --force, an unknown version, a rollback with nothing or the wrong thing kept, a second rotation, a commit of a rotation settled elsewhere: each refused naming what there is', async () => {
    const file = vaultFile();
    const vault = await Vault.open(file, keyFile(), { create: true });
    vault.set('pw', 'v-1');
    const unconfirmed = await refusal(() => vault.set('pw', 'v-2'));
    expect(unconfirmed.code).toBe('CONFIRMATION_REQUIRED');
    expect(unconfirmed.hint).toBe('Add --force to replace it (the current value is kept as version 1, and `storage secrets rollback pw` brings it back).');
    const none = await refusal(() => vault.rollback('pw'));
    expect(none.code).toBe('NOT_FOUND');
    expect(none.message).toBe('Secret "pw" has no previous version to roll back to.');
    expect(none.hint).toBe('See the versions with: storage secrets list.');
    expect((await refusal(() => vault.rollback('nothing'))).hint).toBe('See `storage secrets list`.');
    vault.set('pw', 'v-2', { replace: true });
    vault.set('pw', 'v-3', { replace: true });
    const unknown = await refusal(() => vault.get('pw', 7));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toBe('Secret "pw" has no version 7; the vault keeps versions 3, 2, 1.');
    expect(unknown.hint).toBe('See the versions with: storage secrets list. At most 10 previous values are kept.');
    const wrong = await refusal(() => vault.rollback('pw', 9));
    expect(wrong.message).toBe('Secret "pw" has no kept version 9; kept: 2, 1.');
    expect(vault.rollback('pw', 1)).toEqual({ version: 4, replaced: 3, unchanged: false, restored: 1 });
    expect(vault.get('pw')).toBe('v-1');
    expect(vault.remove('pw')).toBe(true);
    expect(vault.remove('pw')).toBe(false);
    expect(vault.get('pw')).toBeUndefined();
    const missing = await refusal(() => vault.setPending('pw', 'next', 'main'));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.hint).toBe('storage secrets set pw');
    vault.set('pw', 'v-1');
    vault.setPending('pw', 'next-1', 'main');
    const second = await refusal(() => vault.setPending('pw', 'next-2', 'main'));
    expect(second.code).toBe('LOCKED');
    expect(second.hint).toBe('Let it finish, or run `storage db health` to settle a rotation that was interrupted.');
    const settledElsewhere = await refusal(() => vault.commitPending('pw', 'next-2'));
    expect(settledElsewhere.code).toBe('FAILED');
    expect(settledElsewhere.hint).toBe('Run `storage db health` to check which password the server takes.');
    expect(vault.get('pw')).toBe('v-1');
    vault.clearPending('pw');
    expect((await refusal(() => vault.commitPending('pw'))).code).toBe('FAILED');
    expect(vault.pending('pw')).toBeUndefined();
    vault.setPending('pw', 'next-3', 'main');
    vault.commitPending('pw', 'next-3');
    expect(vault.get('pw')).toBe('next-3');
    expect(vault.get('pw', 1)).toBe('v-1');
  });

  it('refresh takes in another command’s write, and ignores a file re-keyed under it', async () => {
    const key = keyFile();
    const file = vaultFile();
    const vault = await Vault.open(file, key, { create: true });
    const other = await Vault.open(file, key);
    other.set('added', 'by-the-other');
    expect(vault.has('added')).toBe(false);
    vault.refresh();
    expect(vault.get('added')).toBe('by-the-other');
    await other.rekey(keyFile(12));
    other.set('later', 'after-rekey');
    vault.refresh();
    expect(vault.has('later')).toBe(false);
    expect(vault.get('added')).toBe('by-the-other');
  });
});

describe('vault versions', () => {
  it('asking for the current version by number gives the current value; a secret at version 2 reports 2 when set again to the same value or refused without --force', async () => {
    const vault = await Vault.open(vaultFile(), keyFile(), { create: true });
    vault.set('db-pw', 'first-Value-1');
    expect(vault.get('db-pw', 1)).toBe('first-Value-1');
    expect((await refusal(() => vault.get('db-pw', 5))).message).toBe('Secret "db-pw" has no version 5; the vault keeps versions 1.');
    expect(vault.set('db-pw', 'second-Value-2', { replace: true })).toEqual({ version: 2, replaced: 1, unchanged: false });
    expect(vault.get('db-pw', 2)).toBe('second-Value-2');
    expect(vault.get('db-pw', 1)).toBe('first-Value-1');
    expect(vault.set('db-pw', 'second-Value-2')).toEqual({ version: 2, unchanged: true });
    const unconfirmed = await refusal(() => vault.set('db-pw', 'third-Value-3'));
    expect(unconfirmed.code).toBe('CONFIRMATION_REQUIRED');
    expect(unconfirmed.hint).toBe('Add --force to replace it (the current value is kept as version 2, and `storage secrets rollback db-pw` brings it back).');
    expect(vault.get('db-pw')).toBe('second-Value-2');
  });
});

describe('vault paths the full mutation run left unpinned', () => {
  const flip = (file: string, name: string) => {
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    const bytes = Buffer.from(data.secrets[name].data, 'base64');
    bytes[0] ^= 1;
    data.secrets[name].data = bytes.toString('base64');
    fs.writeFileSync(file, JSON.stringify(data));
  };

  it('a tampered secret is neither replaced (its value cannot be kept as a version) nor re-keyed: BAD_DATA with what to do, the file unchanged', async () => {
    const key = keyFile();
    const file = vaultFile();
    const vault = await Vault.open(file, key, { create: true });
    vault.set('api', 'api-Value-1');
    flip(file, 'api');
    const tampered = fs.readFileSync(file, 'utf8');
    const reopened = await Vault.open(file, key);
    const read = await refusal(() => reopened.get('api'));
    expect(read.hint).toBe('Set the secret again: storage secrets set api --force');
    const replaced = await refusal(() => reopened.set('api', 'api-Value-2', { replace: true }));
    expect(replaced.code).toBe('BAD_DATA');
    expect(replaced.message).toBe(`Secret "api" in ${file} fails authentication, so it cannot be kept as a version.`);
    expect(replaced.hint).toBe('Remove it (storage secrets remove api --force) and set it again.');
    const rekeyed = await refusal(reopened.rekey(keyFile(12)));
    expect(rekeyed.code).toBe('BAD_DATA');
    expect(rekeyed.message).toBe(`Secret "api" in ${file} fails authentication; the vault was not re-keyed.`);
    expect(rekeyed.hint).toBe('Remove or set it again first: storage secrets set api --force');
    expect(fs.readFileSync(file, 'utf8')).toBe(tampered);
  });

  it('re-keying a vault another command re-keyed since it was opened is refused, nothing written', async () => {
    const key = keyFile();
    const file = vaultFile();
    const vault = await Vault.open(file, key, { create: true });
    vault.set('one', 'value-1');
    await (await Vault.open(file, key)).rekey(keyFile(13));
    const rekeyed = fs.readFileSync(file, 'utf8');
    const stale = await refusal(vault.rekey(keyFile(14)));
    expect(stale.code).toBe('BAD_DATA');
    expect(stale.message).toBe(`The vault ${file} was re-keyed by another command while this one ran; nothing was written.`);
    expect(stale.hint).toBe('Run the command again with the new passphrase or key file.');
    expect(fs.readFileSync(file, 'utf8')).toBe(rekeyed);
  });

  it('a pending rotation survives a forced replace; committing or clearing it after another command removed the secret is FAILED or nothing, never a crash', async () => {
    const key = keyFile();
    const file = vaultFile();
    const vault = await Vault.open(file, key, { create: true });
    vault.set('pw', 'pw-Value-1');
    vault.setPending('pw', 'pw-Next-2', 'main');
    vault.set('pw', 'pw-Value-3', { replace: true });
    expect(vault.pending('pw')).toMatchObject({ store: 'main', value: 'pw-Next-2' });
    expect((await Vault.open(file, key)).remove('pw')).toBe(true);
    const commit = await refusal(() => vault.commitPending('pw', 'pw-Next-2'));
    expect(commit.code).toBe('FAILED');
    expect(commit.message).toBe('The pending rotation of secret "pw" is no longer in the vault (another command settled it).');
    expect(() => vault.clearPending('pw')).not.toThrow();
    expect(vault.has('pw')).toBe(false);
  });

  it('a new secret records when it was created; a forced replace keeps that time and records when it was rotated', async () => {
    const vault = await Vault.open(vaultFile(), keyFile(), { create: true });
    vault.set('t', 't-Value-1');
    const [made] = vault.list();
    expect(Number.isNaN(Date.parse(made.created))).toBe(false);
    expect(made.rotated).toBeNull();
    vault.set('t', 't-Value-2', { replace: true });
    const [replaced] = vault.list();
    expect(replaced.created).toBe(made.created);
    expect(Number.isNaN(Date.parse(replaced.rotated!))).toBe(false);
  });

  it('two first opens at once in one process share one vault (the second opens the first one’s); exists tells before and after', async () => {
    const key = keyFile();
    const file = vaultFile();
    expect(Vault.exists(file)).toBe(false);
    const [first, second] = await Promise.all([Vault.open(file, key, { create: true }), Vault.open(file, key, { create: true })]);
    expect(Vault.exists(file)).toBe(true);
    first.set('shared', 'shared-Value-1');
    second.refresh();
    expect(second.get('shared')).toBe('shared-Value-1');
  });
});
