// The backup repository on disk (src/engine/repository/repository.ts): how it is created and
// opened (never a new one over backups already there, never plaintext when a key is asked for,
// repo.json recovered from its copy), how manifests are read (edited, copied, incomplete,
// oversized: BAD_DATA), the status of every backup directory, and the verification records.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeySource } from '../../src/engine/repository/keys.js';
import type { BackupManifest } from '../../src/engine/repository/manifest.js';
import {
  BackupRepository,
  isReadable,
  mergeVerification,
  passedAtLeast,
  strongerLevel,
  verificationSummary,
  type VerificationRecord,
} from '../../src/engine/repository/repository.js';
import { locksDirOf, storeOfBackupId } from '../../src/engine/repository/layout.js';
import { StoreLock } from '../../src/engine/store-lock.js';
import { refusal } from '../support/refusal.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-repo-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

let n = 0;
const fresh = () => path.join(home, `r${++n}`);
function keyFile(): Extract<KeySource, { kind: 'keyfile' }> {
  const file = path.join(home, `k${++n}.key`);
  fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return { kind: 'keyfile', file, create: false };
}
const NONE: KeySource = { kind: 'none' };

function manifestFor(repo: BackupRepository, store = 'lite', startedAt = new Date()): BackupManifest {
  const id = repo.newBackupId(store, startedAt);
  const dataKey = repo.encrypted ? { wrapped: repo.wrapDataKey(id, randomBytes(32)) } : undefined;
  fs.mkdirSync(repo.backupDir(id), { recursive: true });
  fs.writeFileSync(path.join(repo.backupDir(id), 'payload.sqlite'), 'x');
  return {
    format: 1,
    id,
    store,
    engine: 'sqlite',
    database: 'app',
    payloadFormat: 'sqlite-file',
    tags: [],
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    durationMs: 0,
    tool: { name: 'storage', version: '0' },
    server: { version: '3' },
    source: 'app.db',
    cipher: dataKey ? 'aes-256-gcm-chunked' : 'none',
    ...(dataKey ? { chunkSize: 1024, dataKey: dataKey.wrapped } : {}),
    files: [{ name: 'payload.sqlite', bytes: 1, sha256: '00', plainBytes: 1, compression: 'none' }],
    originalBytes: 1,
    storedBytes: 1,
    counts: { events: 1 },
  };
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('creating and opening a repository', () => {
  it('reading commands never create one: NOT_FOUND (1), nothing written', async () => {
    const root = fresh();
    const error = await refusal(() => BackupRepository.open(root, NONE));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.exitCode).toBe(1);
    expect(error.hint).toBe('Take a first backup with `storage backup create`, or point backup.repository in the config at an existing repository.');
    expect(fs.existsSync(root)).toBe(false);
  });

  it('a repository reached through a link to a volume that is not mounted (or a loop): NOT_FOUND saying so, even for create; nothing made', async () => {
    const volume = fresh();
    const root = fresh();
    fs.symlinkSync(path.join(volume, 'repo'), root);
    const error = await refusal(() => BackupRepository.open(root, keyFile(), undefined, { create: true }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe(`The backup repository ${root} is a symbolic link to ${path.join(volume, 'repo')}, which does not exist.`);
    expect(error.hint).toContain('Nothing was written.');
    expect(fs.existsSync(volume)).toBe(false);
    const loop = fresh();
    fs.symlinkSync(loop, loop);
    const looped = await refusal(() => BackupRepository.open(loop, keyFile(), undefined, { create: true }));
    expect(looped.message).toBe(`The backup repository ${loop} is a loop of symbolic links.`);
  });

  it('create: repo.json of format 2, its copy in keys/, private dirs, a notice; opening again gives the same master key', async () => {
    const root = fresh();
    const source = keyFile();
    const notices: string[] = [];
    const repo = await BackupRepository.open(root, source, (message) => notices.push(message), { create: true });
    expect(repo.encrypted).toBe(true);
    expect(repo.sealsAreKeyed).toBe(true);
    expect(repo.masterKey!.length).toBe(32);
    const description = readJson(path.join(root, 'repo.json'));
    expect(description).toMatchObject({ format: 2, id: repo.repoId, encryption: 'aes-256-gcm', slots: [{ kind: 'keyfile' }] });
    expect(description.sealKey).toBeUndefined();
    expect(fs.readFileSync(path.join(root, 'keys', `${repo.repoId}.json`), 'utf8')).toBe(fs.readFileSync(path.join(root, 'repo.json'), 'utf8'));
    for (const dir of ['backups', 'locks', 'tmp', 'keys']) expect(fs.statSync(path.join(root, dir)).mode & 0o777).toBe(0o700);
    expect(notices).toEqual([expect.stringContaining('Initialised the backup repository')]);
    expect(notices[0]).toContain(source.file);
    const again = await BackupRepository.open(root, source);
    expect(again.masterKey!.equals(repo.masterKey!)).toBe(true);
    expect(again.repoId).toBe(repo.repoId);
    expect(locksDirOf(root)).toBe(path.join(root, 'locks'));
    expect(repo.locksDir).toBe(path.join(root, 'locks'));
  });

  it('a passphrase repository opens with its passphrase only; a wrong one is BAD_DATA (65) naming where it came from', async () => {
    const root = fresh();
    const source: KeySource = { kind: 'passphrase', passphrase: 'right-Passphrase-1', origin: 'STORAGE_BACKUP_PASSPHRASE' };
    const repo = await BackupRepository.open(root, source, undefined, { create: true });
    expect(readJson(path.join(root, 'repo.json')).slots).toEqual([
      expect.objectContaining({ kind: 'passphrase', kdf: expect.objectContaining({ N: 2 ** 15, r: 8, p: 3 }) }),
    ]);
    expect((await BackupRepository.open(root, source)).masterKey!.equals(repo.masterKey!)).toBe(true);
    const wrong = await refusal(() => BackupRepository.open(root, { ...source, passphrase: 'wrong-Passphrase-2' }));
    expect(wrong.code).toBe('BAD_DATA');
    expect(wrong.message).toBe(`Cannot open the backup repository ${root} with the passphrase from STORAGE_BACKUP_PASSPHRASE: wrong key or passphrase.`);
    expect(wrong.hint).toBe(
      'Use the passphrase or key file this repository was created with (STORAGE_BACKUP_PASSPHRASE, backup.encryption in the config). Nothing was written.',
    );
    const keyfile = await refusal(() => BackupRepository.open(root, keyFile()));
    expect(keyfile.code).toBe('CONFIG_INVALID');
    expect(keyfile.message).toContain('is opened with a passphrase, and none was given');
    expect(keyfile.hint).toContain('STORAGE_BACKUP_PASSPHRASE');
  }, 30_000);

  it('a key-file repository: another key file is BAD_DATA naming the file; a passphrase is CONFIG_INVALID pointing at keyFile; encryption off is CONFIG_INVALID', async () => {
    const root = fresh();
    await BackupRepository.open(root, keyFile(), undefined, { create: true });
    const other = keyFile();
    const wrong = await refusal(() => BackupRepository.open(root, other));
    expect(wrong.code).toBe('BAD_DATA');
    expect(wrong.message).toBe(`Cannot open the backup repository ${root} with the key file ${other.file}: wrong key or passphrase.`);
    const passphrase = await refusal(() => BackupRepository.open(root, { kind: 'passphrase', passphrase: 'x-Passphrase-3', origin: 'o' }));
    expect(passphrase.code).toBe('CONFIG_INVALID');
    expect(passphrase.message).toContain('is opened with a key file');
    expect(passphrase.hint).toContain('keyFile');
    const off = await refusal(() => BackupRepository.open(root, NONE));
    expect(off.code).toBe('CONFIG_INVALID');
    expect(off.message).toContain('is encrypted, but the config turns encryption off');
    expect(off.hint).toBe('Remove `encryption: { enabled: false }` and give the repository key. Nothing was written.');
  });

  it('an unencrypted repository seals manifests with a key kept in repo.json; asking it for encryption is refused (65), never plaintext', async () => {
    const root = fresh();
    const repo = await BackupRepository.open(root, NONE, undefined, { create: true });
    expect(repo.encrypted).toBe(false);
    expect(repo.sealsAreKeyed).toBe(true);
    expect(() => repo.wrapDataKey(repo.newBackupId('x'), randomBytes(32))).toThrow(/not encrypted/);
    const description = readJson(path.join(root, 'repo.json'));
    expect(description).toMatchObject({ format: 2, encryption: 'none', slots: [] });
    expect(Buffer.from(description.sealKey, 'base64').length).toBe(32);
    const askedFile = keyFile();
    const asked = await refusal(() => BackupRepository.open(root, askedFile));
    expect(asked.code).toBe('BAD_DATA');
    expect(asked.message).toContain(`says it is NOT encrypted, but the config asks for encryption (key file ${askedFile.file})`);
    expect(asked.hint).toContain('If repo.json was replaced, put back the original');
    const askedPassphrase = await refusal(() => BackupRepository.open(root, { kind: 'passphrase', passphrase: 'p-Passphrase-4', origin: 'the config' }));
    expect(askedPassphrase.message).toContain('says it is NOT encrypted, but the config asks for encryption (the config)');
    // A format-2 repo.json without its seal key is refused; format 1 never had one (plain SHA-256 seals).
    fs.writeFileSync(path.join(root, 'repo.json'), JSON.stringify({ ...description, sealKey: undefined }));
    const lacking = await refusal(() => BackupRepository.open(root, NONE));
    expect(lacking.code).toBe('BAD_DATA');
    expect(lacking.message).toContain('lacks the key its manifests are sealed with');
    expect(lacking.hint).toBe('Put back the original repo.json (keys/ holds a copy). Nothing was written.');
    fs.writeFileSync(path.join(root, 'repo.json'), JSON.stringify({ ...description, sealKey: randomBytes(16).toString('base64') }));
    expect((await refusal(() => BackupRepository.open(root, NONE))).message).toContain('lacks the key');
    fs.writeFileSync(path.join(root, 'repo.json'), JSON.stringify({ ...description, format: 1, sealKey: undefined }));
    const old = await BackupRepository.open(root, NONE);
    expect(old.sealsAreKeyed).toBe(false);
    fs.writeFileSync(path.join(root, 'repo.json'), JSON.stringify({ ...description, format: 3 }));
    const newer = await refusal(() => BackupRepository.open(root, NONE));
    expect(newer.code).toBe('BAD_DATA');
    expect(newer.message).toContain('has format 3; this tool reads formats 1 and 2');
    expect(newer.hint).toBe('Use the storage version that wrote it.');
  });

  it('a lost or damaged repo.json is recovered from keys/ (and written back by create); with no copy it is refused, never replaced', async () => {
    const root = fresh();
    const source = keyFile();
    const repo = await BackupRepository.open(root, source, undefined, { create: true });
    const original = fs.readFileSync(path.join(root, 'repo.json'), 'utf8');
    fs.rmSync(path.join(root, 'repo.json'));
    const notices: string[] = [];
    const opened = await BackupRepository.open(root, source, (message) => notices.push(message));
    expect(opened.masterKey!.equals(repo.masterKey!)).toBe(true);
    expect(notices).toEqual([expect.stringContaining('repo.json is missing: opened it from its copy')]);
    expect(fs.existsSync(path.join(root, 'repo.json'))).toBe(false);
    fs.writeFileSync(path.join(root, 'repo.json'), '{ not json');
    notices.length = 0;
    await BackupRepository.open(root, source, (message) => notices.push(message), { create: true });
    expect(notices[0]).toContain('repo.json is not valid JSON');
    expect(notices[1]).toContain('Restored');
    expect(fs.readFileSync(path.join(root, 'repo.json'), 'utf8')).toBe(original);
    fs.writeFileSync(path.join(root, 'repo.json'), JSON.stringify({ id: 'x', slots: [], encryption: 'rot13', format: 2 }));
    notices.length = 0;
    await BackupRepository.open(root, source, (message) => notices.push(message));
    expect(notices[0]).toContain('names an unknown encryption "rot13"');
    fs.writeFileSync(path.join(root, 'repo.json'), JSON.stringify({ id: 'x', encryption: 'none' }));
    notices.length = 0;
    await BackupRepository.open(root, source, (message) => notices.push(message));
    expect(notices[0]).toContain('is not a repository description');
    // Without a readable copy: BAD_DATA, and nothing is created over it.
    fs.writeFileSync(path.join(root, 'keys', `${repo.repoId}.json`), '{ broken');
    const error = await refusal(() => BackupRepository.open(root, source, undefined, { create: true }));
    expect(error.code).toBe('BAD_DATA');
    expect(error.message).toContain('repo.json is not a repository description, and keys/ holds no readable copy');
    expect(error.hint).toContain('Put back repo.json (or keys/<id>.json) from your copy of the repository; without it the backups cannot be read.');
    expect(fs.readFileSync(path.join(root, 'repo.json'), 'utf8')).toContain('"encryption":"none"');
  });

  it('no repo.json and no copy, but backups there: create refuses (65) to make a new repository over them', async () => {
    const root = fresh();
    const source = keyFile();
    const repo = await BackupRepository.open(root, source, undefined, { create: true });
    repo.writeManifest(manifestFor(repo));
    fs.rmSync(path.join(root, 'repo.json'));
    fs.rmSync(path.join(root, 'keys'), { recursive: true });
    const error = await refusal(() => BackupRepository.open(root, source, undefined, { create: true }));
    expect(error.code).toBe('BAD_DATA');
    expect(error.message).toContain('backups/ holds 1 backup: refusing to create a new repository over them');
    expect(error.hint).toContain('To start afresh instead, point backup.repository at an empty directory.');
    expect(fs.existsSync(path.join(root, 'repo.json'))).toBe(false);
    fs.mkdirSync(path.join(repo.backupsDir, '20200101T000000Z-lite-aaaaaa'));
    expect((await refusal(() => BackupRepository.open(root, source, undefined, { create: true }))).message).toContain('holds 2 backups');
  });

  it('create keeps the keys/ copy of a repository made before it existed', async () => {
    const root = fresh();
    const source = keyFile();
    const repo = await BackupRepository.open(root, source, undefined, { create: true });
    fs.rmSync(path.join(root, 'keys'), { recursive: true });
    await BackupRepository.open(root, source);
    expect(fs.existsSync(path.join(root, 'keys'))).toBe(false);
    await BackupRepository.open(root, source, undefined, { create: true });
    expect(fs.readFileSync(path.join(root, 'keys', `${repo.repoId}.json`), 'utf8')).toBe(fs.readFileSync(path.join(root, 'repo.json'), 'utf8'));
  });

  it('an unencrypted repository opens again with its seal key and reads its manifests; a seal key cut short is refused', async () => {
    const root = fresh();
    const made = await BackupRepository.open(root, NONE, undefined, { create: true });
    const sealed = made.writeManifest(manifestFor(made));
    const again = await BackupRepository.open(root, NONE);
    expect(again.encrypted).toBe(false);
    expect(again.repoId).toBe(made.repoId);
    expect(again.readManifest(sealed.id)).toEqual(sealed);
    const description = readJson(path.join(root, 'repo.json'));
    fs.writeFileSync(path.join(root, 'repo.json'), JSON.stringify({ ...description, sealKey: randomBytes(31).toString('base64') }));
    expect((await refusal(() => BackupRepository.open(root, NONE))).message).toContain('lacks the key its manifests are sealed with');
  });

  it('a key-file repository whose key file is gone is refused (CONFIG_INVALID) and no new key file is made, even by create', async () => {
    const root = fresh();
    const source = keyFile();
    await BackupRepository.open(root, source, undefined, { create: true });
    fs.rmSync(source.file);
    const gone = await refusal(() => BackupRepository.open(root, { ...source, create: true }, undefined, { create: true }));
    expect(gone.code).toBe('CONFIG_INVALID');
    expect(gone.message).toBe(`Backup encryption is configured with key file ${source.file}, which does not exist.`);
    expect(fs.existsSync(source.file)).toBe(false);
  });

  it('a repo.json without a string id, or holding null, is not a description (opened from keys/); a copy that is not one is never used', async () => {
    const root = fresh();
    const source = keyFile();
    const repo = await BackupRepository.open(root, source, undefined, { create: true });
    const description = readJson(path.join(root, 'repo.json'));
    const notices: string[] = [];
    for (const text of [JSON.stringify({ ...description, id: undefined }), JSON.stringify({ ...description, id: 7 }), 'null']) {
      fs.writeFileSync(path.join(root, 'repo.json'), text);
      notices.length = 0;
      const opened = await BackupRepository.open(root, source, (message) => notices.push(message));
      expect(opened.repoId).toBe(repo.repoId);
      expect(notices).toEqual([expect.stringContaining('repo.json is not a repository description: opened it from its copy')]);
    }
    fs.writeFileSync(path.join(root, 'repo.json'), '{ broken');
    fs.writeFileSync(path.join(root, 'keys', `${repo.repoId}.json`), JSON.stringify({ ...description, encryption: 'rot13' }));
    const error = await refusal(() => BackupRepository.open(root, source));
    expect(error.message).toContain('repo.json is not valid JSON, and keys/ holds no readable copy');
  });

  it('only keys/*.json are copies: another repository’s description left as a .bak beside the copy is never used', async () => {
    const root = fresh();
    const source = keyFile();
    const repo = await BackupRepository.open(root, source, undefined, { create: true });
    const other = fresh();
    await BackupRepository.open(other, source, undefined, { create: true });
    fs.copyFileSync(path.join(other, 'repo.json'), path.join(root, 'keys', '-old.json.bak'));
    fs.rmSync(path.join(root, 'repo.json'));
    const opened = await BackupRepository.open(root, source);
    expect(opened.repoId).toBe(repo.repoId);
    expect(opened.masterKey!.equals(repo.masterKey!)).toBe(true);
  });

  it('a repo.json that cannot be read (a directory) is an error of its own, not damage recovered from keys/', async () => {
    const root = fresh();
    const source = keyFile();
    await BackupRepository.open(root, source, undefined, { create: true });
    fs.rmSync(path.join(root, 'repo.json'));
    fs.mkdirSync(path.join(root, 'repo.json'));
    const error = await refusal(() => BackupRepository.open(root, source));
    // Said in words with the file's path, never Node's raw "EISDIR: illegal operation" error.
    expect(error).toMatchObject({ code: 'FAILED', exitCode: 1, details: { errno: 'EISDIR', path: path.join(root, 'repo.json') } });
    expect(error.message).toBe(`Cannot read ${path.join(root, 'repo.json')}: illegal operation on a directory, read (EISDIR).`);
    expect(error.hint).toMatch(/\S/);
  });

  it('backups/ holding only hidden entries counts as empty: create makes the repository there', async () => {
    const root = fresh();
    fs.mkdirSync(path.join(root, 'backups'), { recursive: true });
    fs.writeFileSync(path.join(root, 'backups', '.DS_Store'), 'x');
    await BackupRepository.open(root, NONE, undefined, { create: true });
    expect(readJson(path.join(root, 'repo.json'))).toMatchObject({ encryption: 'none' });
  });

  it('create rewrites a keys/ copy that differs from repo.json, and tells when it cannot keep one (opening anyway)', async () => {
    const root = fresh();
    const source = keyFile();
    const repo = await BackupRepository.open(root, source, undefined, { create: true });
    const copy = path.join(root, 'keys', `${repo.repoId}.json`);
    const text = fs.readFileSync(path.join(root, 'repo.json'), 'utf8');
    fs.writeFileSync(copy, text.replace('"format": 2,', '"format": 2, "stale": true,'));
    await BackupRepository.open(root, source, undefined, { create: true });
    expect(fs.readFileSync(copy, 'utf8')).toBe(text);
    fs.rmSync(path.join(root, 'keys'), { recursive: true });
    fs.writeFileSync(path.join(root, 'keys'), 'not a directory');
    const notices: string[] = [];
    const opened = await BackupRepository.open(root, source, (message) => notices.push(message), { create: true });
    expect(opened.masterKey!.equals(repo.masterKey!)).toBe(true);
    expect(notices).toEqual([expect.stringContaining(`Could not keep a copy of repo.json in ${path.join(root, 'keys')}: `)]);
  });

  it('the first notice of a passphrase repository names where the passphrase came from; an encrypted repo.json with no key slot is opened from its keys/ copy, and is BAD_DATA saying so when there is none', async () => {
    const root = fresh();
    const source: KeySource = { kind: 'passphrase', passphrase: 'notice-Passphrase-5', origin: 'STORAGE_BACKUP_PASSPHRASE' };
    const notices: string[] = [];
    await BackupRepository.open(root, source, (message) => notices.push(message), { create: true });
    expect(notices[0]).toContain(`Initialised the backup repository ${root} (encrypted; key from STORAGE_BACKUP_PASSPHRASE).`);
    const original = readJson(path.join(root, 'repo.json'));
    fs.writeFileSync(path.join(root, 'repo.json'), JSON.stringify({ ...original, slots: [] }));
    const recovered = await BackupRepository.open(root, source);
    expect(recovered.repoId).toBe(original.id);
    expect(recovered.masterKey).toBeDefined();
    fs.rmSync(path.join(root, 'keys'), { recursive: true });
    const error = await refusal(() => BackupRepository.open(root, source));
    expect(error.code).toBe('BAD_DATA');
    expect(error.message).toBe(
      `The backup repository ${root} cannot be opened: repo.json holds no key slot (the wrapped master key), and keys/ holds no readable copy.`,
    );
  }, 30_000);
});

describe('manifests and backup directories', () => {
  it('a written manifest reads back sealed; the data key opens only for its own backup', async () => {
    const repo = await BackupRepository.open(fresh(), keyFile(), undefined, { create: true });
    const manifest = manifestFor(repo);
    const sealed = repo.writeManifest(manifest);
    expect(sealed.seal.kind).toBe('hmac-sha256');
    expect(repo.readManifest(manifest.id)).toEqual(sealed);
    const key = repo.dataKey(sealed)!;
    expect(key.length).toBe(32);
    expect(repo.dataKey(repo.readManifest(manifest.id))!.equals(key)).toBe(true);
    // The wrapped key of another backup: it does not open under this id.
    const other = manifestFor(repo);
    const swapped = await refusal(() => repo.dataKey({ ...sealed, dataKey: other.dataKey }));
    expect(swapped.code).toBe('BAD_DATA');
    expect(swapped.message).toContain('does not open');
    expect(swapped.hint).toBe('Do not restore from this backup.');
    expect((await refusal(() => repo.dataKey({ ...sealed, dataKey: undefined }))).message).toContain('is encrypted but this repository has no key for it');
    expect(repo.dataKey({ ...sealed, cipher: 'none' })).toBeUndefined();
    const plainRepo = await BackupRepository.open(fresh(), NONE, undefined, { create: true });
    expect((await refusal(() => plainRepo.dataKey(sealed))).code).toBe('BAD_DATA');
  });

  it('edited, copied, oversized, unparsable, absent and impossible manifests are BAD_DATA; an unknown id NOT_FOUND; a bad id USAGE', async () => {
    const repo = await BackupRepository.open(fresh(), NONE, undefined, { create: true });
    const a = repo.writeManifest(manifestFor(repo));
    const b = repo.writeManifest(manifestFor(repo));
    const fileOf = (id: string) => path.join(repo.backupDir(id), 'manifest.json');
    const text = fs.readFileSync(fileOf(b.id), 'utf8');
    const bad = async (why: string) => {
      const error = await refusal(() => repo.readManifest(b.id));
      expect(error.code).toBe('BAD_DATA');
      expect(error.message).toContain(why);
      expect(error.hint).toBe('Do not restore from this backup.');
      fs.writeFileSync(fileOf(b.id), text);
    };
    fs.writeFileSync(fileOf(b.id), text.replace('"events": 1', '"events": 2'));
    await bad('fails its integrity check: it was edited');
    fs.copyFileSync(fileOf(a.id), fileOf(b.id));
    await bad(`belongs to backup ${a.id}`);
    fs.writeFileSync(fileOf(b.id), '[not json');
    await bad('is not valid JSON');
    fs.writeFileSync(fileOf(b.id), 'null');
    await bad('fails its integrity check');
    fs.truncateSync(fileOf(b.id), 16 * 1024 * 1024 + 1);
    await bad('far more than a manifest holds');
    const sneaky = repo.writeManifest({
      ...manifestFor(repo),
      files: [{ name: '../../repo.json', bytes: 1, sha256: '0', plainBytes: 1, compression: 'none' }],
    });
    const sneakyError = await refusal(() => repo.readManifest(sneaky.id));
    expect(sneakyError.message).toContain('outside the backup');
    expect(repo.readManifest(b.id)).toEqual(b);
    fs.rmSync(fileOf(b.id));
    const incomplete = await refusal(() => repo.readManifest(b.id));
    expect(incomplete.code).toBe('BAD_DATA');
    expect(incomplete.message).toBe(`Backup ${b.id} is incomplete: it has no manifest.`);
    expect(incomplete.hint).toBe('An interrupted run left it; `storage backup prune` sweeps it.');
    const unknown = await refusal(() => repo.readManifest('20200101T000000Z-lite-000000'));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.hint).toBe('See `storage backup list` for the ids.');
    for (const id of ['../x', '.hidden', 'a/b', 'a..b', '']) {
      const error = await refusal(() => repo.backupDir(id));
      expect(error.code).toBe('USAGE');
      expect(error.hint).toBe('See `storage backup list`.');
    }
  });

  it('lists every directory with its status: complete, future-dated, running (live lock) or incomplete, damaged with the reason', async () => {
    const repo = await BackupRepository.open(fresh(), NONE, undefined, { create: true });
    const complete = repo.writeManifest(manifestFor(repo, 'lite', new Date(Date.now() - 3_600_000)));
    const future = repo.writeManifest(manifestFor(repo, 'lite', new Date(Date.now() + 86_400_000 * 30)));
    const damaged = repo.writeManifest(manifestFor(repo, 'other'));
    const file = path.join(repo.backupDir(damaged.id), 'manifest.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"app"', '"ppa"'));
    const running = repo.newBackupId('busy');
    fs.mkdirSync(repo.backupDir(running));
    fs.writeFileSync(path.join(repo.backupDir(running), 'payload.part'), '12345');
    const dead = repo.newBackupId('idle');
    fs.mkdirSync(repo.backupDir(dead));
    fs.writeFileSync(path.join(repo.backupsDir, 'stray-file'), 'x');
    fs.mkdirSync(path.join(repo.backupsDir, '.hidden-dir'));
    const lock = StoreLock.acquire(repo.locksDir, 'busy', 'test');
    try {
      expect(repo.lockedStores()).toEqual(new Set(['busy']));
      const entries = Object.fromEntries(repo.list().map((entry) => [entry.id, entry]));
      expect(Object.keys(entries).sort()).toEqual([complete.id, future.id, damaged.id, running, dead].sort());
      expect(entries[complete.id]).toMatchObject({ store: 'lite', status: 'complete', manifest: complete });
      expect(entries[future.id]).toMatchObject({ store: 'lite', status: 'future-dated' });
      expect(entries[damaged.id]).toMatchObject({ store: 'other', status: 'damaged', problem: 'its manifest fails its integrity check: it was edited.' });
      expect(entries[damaged.id].manifest).toBeUndefined();
      expect(entries[running]).toMatchObject({ store: 'busy', status: 'running', progressBytes: 5 });
      expect(entries[dead]).toMatchObject({ store: 'idle', status: 'incomplete', progressBytes: 0 });
      expect(isReadable(entries[complete.id])).toBe(true);
      expect(isReadable(entries[future.id])).toBe(true);
      for (const id of [damaged.id, running, dead]) expect(isReadable(entries[id])).toBe(false);
      expect(repo.list(new Set()).find((entry) => entry.id === running)!.status).toBe('incomplete');
    } finally {
      lock.release();
    }
    expect(repo.lockedStores()).toEqual(new Set());
    expect(repo.list().find((entry) => entry.id === running)!.status).toBe('incomplete');
    expect(storeOfBackupId(repo.newBackupId('my-store'))).toBe('my-store');
    expect(repo.newBackupId('s', new Date('2026-01-02T03:04:05.678Z'))).toMatch(/^20260102T030405Z-s-[0-9a-f]{6}$/);
  });

  it('a killed run’s lock does not make its unfinished backup "running"', async () => {
    const repo = await BackupRepository.open(fresh(), NONE, undefined, { create: true });
    const id = repo.newBackupId('crashed');
    fs.mkdirSync(repo.backupDir(id));
    const now = new Date().toISOString();
    const holder = { pid: 2 ** 22 + 4243, host: os.hostname(), command: 'storage backup create crashed', startedAt: now, heartbeatAt: now };
    fs.writeFileSync(path.join(repo.locksDir, 'crashed.lock'), JSON.stringify(holder));
    expect(repo.lockedStores()).toEqual(new Set());
    expect(repo.list().find((entry) => entry.id === id)).toMatchObject({ store: 'crashed', status: 'incomplete' });
  });

  it('list() is in id order (oldest first) whatever order the directories were made in; without backups/ or locks/ it is empty', async () => {
    const repo = await BackupRepository.open(fresh(), NONE, undefined, { create: true });
    const ids = [5, 1, 4, 2, 3, 7, 6].map((day) => repo.newBackupId('lite', new Date(Date.UTC(2026, 0, day))));
    for (const id of ids) fs.mkdirSync(repo.backupDir(id));
    expect(repo.list(new Set()).map((entry) => entry.id)).toEqual([...ids].sort());
    fs.rmSync(repo.backupsDir, { recursive: true });
    fs.rmSync(repo.locksDir, { recursive: true });
    expect(repo.lockedStores()).toEqual(new Set());
    expect(repo.list()).toEqual([]);
  });

  it('a manifest.json of exactly 16 MiB is read (and refused for what it holds); one byte more is refused for its size', async () => {
    const repo = await BackupRepository.open(fresh(), NONE, undefined, { create: true });
    const { id } = repo.writeManifest(manifestFor(repo));
    const file = path.join(repo.backupDir(id), 'manifest.json');
    fs.writeFileSync(file, Buffer.alloc(16 * 1024 * 1024, 0x20));
    expect((await refusal(() => repo.readManifest(id))).message).toBe(`manifest.json of backup ${id} is not valid JSON.`);
    fs.appendFileSync(file, ' ');
    expect((await refusal(() => repo.readManifest(id))).message).toContain(`is ${16 * 1024 * 1024 + 1} bytes, far more than a manifest holds`);
  });

  it('scratch directories of dead runs are swept; a live run’s stays', async () => {
    const repo = await BackupRepository.open(fresh(), NONE, undefined, { create: true });
    const mine = repo.scratch('restore-x');
    expect(path.basename(mine)).toMatch(new RegExp(`^restore-x-${process.pid}-`));
    expect(fs.statSync(repo.tmpDir).mode & 0o777).toBe(0o700);
    fs.mkdirSync(path.join(repo.tmpDir, 'verify-y-4194999-abc'));
    fs.mkdirSync(path.join(repo.tmpDir, 'junk'));
    expect(repo.sweepScratch()).toBe(2);
    expect(fs.readdirSync(repo.tmpDir)).toEqual([path.basename(mine)]);
    fs.rmSync(repo.tmpDir, { recursive: true });
    expect(repo.sweepScratch()).toBe(0);
  });

  it('verification records: a pass at a level stands for the weaker ones; a failure forgets that level and stronger', async () => {
    const repo = await BackupRepository.open(fresh(), NONE, undefined, { create: true });
    const { id } = repo.writeManifest(manifestFor(repo));
    expect(repo.readVerification(id)).toBeUndefined();
    repo.recordVerification(id, { level: 'restore-test', ok: true, at: '2026-01-01T00:00:00Z', problems: [] });
    expect(repo.readVerification(id)!.passed).toEqual({
      files: '2026-01-01T00:00:00Z',
      'read-data': '2026-01-01T00:00:00Z',
      'restore-test': '2026-01-01T00:00:00Z',
    });
    const failed = repo.recordVerification(id, { level: 'read-data', ok: false, at: '2026-01-02T00:00:00Z', problems: ['bad'] });
    expect(failed.passed).toEqual({ files: '2026-01-01T00:00:00Z' });
    expect(repo.readVerification(id)).toEqual(failed);
    expect(verificationSummary(failed)).toBe('FAILED read-data 2026-01-02T00:00:00Z');
    expect(passedAtLeast(failed, 'files')).toBeUndefined();
    const passedFiles = repo.recordVerification(id, { level: 'files', ok: true, at: '2026-01-03T00:00:00Z', problems: [] });
    expect(passedFiles.passed).toEqual({ files: '2026-01-03T00:00:00Z' });
    expect(verificationSummary(passedFiles)).toBe('ok files 2026-01-03T00:00:00Z');
    expect(passedAtLeast(passedFiles, 'files')).toBe('2026-01-03T00:00:00Z');
    expect(passedAtLeast(passedFiles, 'read-data')).toBeUndefined();
  });
});

describe('verification helpers', () => {
  const record = (level: VerificationRecord['level'], ok: boolean, at: string, passed?: VerificationRecord['passed']): VerificationRecord => ({
    level,
    ok,
    at,
    problems: ok ? [] : ['x'],
    ...(passed ? { passed } : {}),
  });

  it('mergeVerification starts from an old record without `passed` as a pass of its own level only', () => {
    expect(mergeVerification(undefined, record('files', true, 't1')).passed).toEqual({ files: 't1' });
    expect(mergeVerification(record('read-data', true, 't0'), record('files', true, 't1')).passed).toEqual({ files: 't1', 'read-data': 't0' });
    expect(mergeVerification(record('read-data', false, 't0'), record('files', true, 't1')).passed).toEqual({ files: 't1' });
    expect(mergeVerification(record('files', true, 't0', { files: 't0', 'restore-test': 'tx' }), record('restore-test', false, 't2')).passed).toEqual({
      files: 't0',
    });
    expect(mergeVerification(undefined, record('files', false, 't1'))).toMatchObject({ level: 'files', ok: false, at: 't1', passed: {} });
  });

  it('strongerLevel and passedAtLeast', () => {
    expect(strongerLevel(undefined, undefined)).toBeUndefined();
    expect(strongerLevel('files', undefined)).toBe('files');
    expect(strongerLevel(undefined, 'read-data')).toBe('read-data');
    expect(strongerLevel('files', 'restore-test')).toBe('restore-test');
    expect(strongerLevel('restore-test', 'files')).toBe('restore-test');
    expect(strongerLevel('read-data', 'read-data')).toBe('read-data');
    expect(passedAtLeast(undefined, 'files')).toBeUndefined();
    expect(passedAtLeast(record('read-data', true, 't5'), 'files')).toBe('t5');
    expect(passedAtLeast(record('read-data', true, 't5'), 'restore-test')).toBeUndefined();
    expect(passedAtLeast(record('files', true, 't9', { files: 't9', 'read-data': 't3', 'restore-test': 't4' }), 'read-data')).toBe('t4');
    expect(passedAtLeast(record('files', true, 't9', { files: 't9', 'read-data': 't3', 'restore-test': 't4' }), 'files')).toBe('t9');
  });

  it('verificationSummary: never, the failure, or the strongest level that stands', () => {
    expect(verificationSummary(undefined)).toBe('never');
    expect(verificationSummary(record('files', true, 't1'))).toBe('ok files t1');
    expect(verificationSummary(record('files', true, 't1', { files: 't1', 'restore-test': 't0' }))).toBe('ok restore-test t0');
    expect(verificationSummary(record('files', true, 't1', {}))).toBe('never');
  });
});

describe('scratch of runs that are gone', () => {
  it('a live run’s scratch stays whatever its label (dashes and all); a dead run’s and one naming pid 0 go', async () => {
    const repo = await BackupRepository.open(fresh(), NONE, undefined, { create: true });
    const live = repo.scratch('verify-20260101T000000Z-lite-abcdef');
    fs.writeFileSync(path.join(live, 'part'), 'x');
    const dead = path.join(repo.tmpDir, `restore-20260101T000000Z-lite-abcdef-${2 ** 22 + 4242}-q1w2e3`);
    const zero = path.join(repo.tmpDir, 'restore-x-0-q1w2e3');
    for (const dir of [dead, zero]) fs.mkdirSync(path.join(dir, 'inner'), { recursive: true });
    expect(repo.sweepScratch()).toBe(2);
    expect(fs.readdirSync(repo.tmpDir)).toEqual([path.basename(live)]);
    expect(fs.readFileSync(path.join(live, 'part'), 'utf8')).toBe('x');
  });
});
