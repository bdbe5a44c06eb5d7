// Tampering with the repository: an encryption downgrade in repo.json, one backup's files put in
// another's directory, and manifests crafted to make `backup export` write outside --out. Old
// repositories (format 1, unencrypted manifests sealed with a plain SHA-256) stay readable.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sealManifest, type SealedManifest } from '../../src/engine/repository/manifest.js';
import { payloadFile } from '../support/backups.js';
import { backupIds, createBackup, makeSqlite, repoSandbox, type RepoSandbox } from '../support/repository.js';

const manifestOf = (sandbox: RepoSandbox, id: string) => path.join(sandbox.repo, 'backups', id, 'manifest.json');
const readManifest = (sandbox: RepoSandbox, id: string) => JSON.parse(fs.readFileSync(manifestOf(sandbox, id), 'utf8')) as SealedManifest;

/** What someone without the repository's key can do: edit a manifest and recompute a plain SHA-256 seal. */
function forge(sandbox: RepoSandbox, id: string, edit: (manifest: SealedManifest) => void): void {
  const { seal: _seal, ...manifest } = readManifest(sandbox, id);
  edit(manifest as SealedManifest);
  fs.writeFileSync(manifestOf(sandbox, id), JSON.stringify(sealManifest(manifest, undefined), null, 2));
}

/** Turns an unencrypted repository into one as earlier versions made it: format 1, manifests sealed with SHA-256. */
function makeLegacy(sandbox: RepoSandbox): void {
  const repoJson = path.join(sandbox.repo, 'repo.json');
  const { sealKey: _key, ...repo } = JSON.parse(fs.readFileSync(repoJson, 'utf8'));
  fs.writeFileSync(repoJson, JSON.stringify({ ...repo, format: 1 }, null, 2));
  fs.rmSync(path.join(sandbox.repo, 'keys'), { recursive: true, force: true });
  for (const id of backupIds(sandbox.repo)) forge(sandbox, id, () => undefined);
}

function filesOutside(sandbox: RepoSandbox): string[] {
  return fs.readdirSync(sandbox.dir).filter((name) => /escaped/.test(name));
}

describe('tampering with the backup repository', () => {
  it('a repo.json that says "not encrypted" while the config asks for a key is refused (65), and nothing is written in plaintext', async () => {
    const sandbox = repoSandbox(['lite']);
    const first = await createBackup(sandbox, 'lite');
    const repoJson = path.join(sandbox.repo, 'repo.json');
    fs.writeFileSync(repoJson, JSON.stringify({ ...JSON.parse(fs.readFileSync(repoJson, 'utf8')), encryption: 'none' }));
    const run = await sandbox.run(['backup', 'create', 'lite']);
    expect(run.exitCode).toBe(65);
    expect(run.stderr).toMatch(/says it is NOT encrypted, but the config asks for encryption/);
    expect(backupIds(sandbox.repo)).toEqual([first]);
    expect((await sandbox.run(['backup', 'list'])).exitCode).toBe(65);
  });

  for (const encrypted of [true, false]) {
    it(`${encrypted ? 'encrypted' : 'unencrypted'}: one backup's files copied into another's directory fail verify --read-data, validate and restore (65)`, async () => {
      const sandbox = repoSandbox(['lite'], encrypted ? {} : { encryption: { enabled: false } });
      const a = await createBackup(sandbox, 'lite');
      makeSqlite(path.join(sandbox.dir, 'data', 'lite.db'), 50);
      const b = await createBackup(sandbox, 'lite');
      const dirOf = (id: string) => path.join(sandbox.repo, 'backups', id);
      // B's payload replaced by A's: the hashes in B's sealed manifest catch it.
      const swapped = path.join(sandbox.dir, 'b-payload');
      fs.copyFileSync(payloadFile(dirOf(b)), swapped);
      fs.copyFileSync(payloadFile(dirOf(a)), payloadFile(dirOf(b)));
      expect((await sandbox.run(['backup', 'verify', b, '--read-data'])).exitCode).toBe(65);
      fs.copyFileSync(swapped, payloadFile(dirOf(b)));
      expect((await sandbox.run(['backup', 'verify', b, '--read-data'])).exitCode).toBe(0);
      // All of A's files in B's directory: the manifest is A's, sealed and intact, but not B's.
      for (const name of fs.readdirSync(dirOf(b))) fs.rmSync(path.join(dirOf(b), name));
      for (const name of fs.readdirSync(dirOf(a))) fs.copyFileSync(path.join(dirOf(a), name), path.join(dirOf(b), name));
      const verify = await sandbox.run(['backup', 'verify', b, '--read-data', '--json']);
      expect(verify.exitCode).toBe(65);
      expect(verify.json().results[0].problems[0]).toMatch(new RegExp(`belongs to backup ${a}`));
      const validate = await sandbox.run(['validate', '--suite', 'backups', '--json']);
      expect(validate.exitCode).toBe(3);
      expect(validate.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ id: `backups.integrity[${b}]`, status: 'fail' })]));
      const restore = await sandbox.run(['backup', 'restore', b, '--to', 'lite', '--database', 'copy']);
      expect(restore.exitCode).toBe(65);
      expect(fs.existsSync(path.join(sandbox.dir, 'data', 'copy.db'))).toBe(false);
    });
  }

  it('unencrypted: a manifest edited and re-hashed by someone without repo.json fails its seal; export writes nothing anywhere', async () => {
    const sandbox = repoSandbox(['lite'], { encryption: { enabled: false } });
    const id = await createBackup(sandbox, 'lite');
    forge(sandbox, id, (manifest) => (manifest.database = '../../escaped'));
    const exported = await sandbox.run(['backup', 'export', id, '--out', 'out']);
    expect(exported.exitCode).toBe(65);
    expect(exported.stderr).toMatch(/integrity check/);
    expect(filesOutside(sandbox)).toEqual([]);
    expect(fs.existsSync(path.join(sandbox.dir, 'out', id))).toBe(false);
  });

  it('a format-1 repository (SHA-256 seals) stays readable, and a crafted manifest there cannot make export write outside --out', async () => {
    const sandbox = repoSandbox(['lite'], { encryption: { enabled: false } });
    const id = await createBackup(sandbox, 'lite');
    const crafted = await createBackup(sandbox, 'lite');
    makeLegacy(sandbox);
    expect((await sandbox.run(['backup', 'verify', '--all', '--read-data'])).exitCode).toBe(0);
    const out = path.join(sandbox.dir, 'out');
    expect((await sandbox.run(['backup', 'export', id, '--out', out])).exitCode).toBe(0);
    expect(fs.readdirSync(path.join(out, id))).toEqual(['lite.db']);

    forge(sandbox, crafted, (manifest) => (manifest.database = '../../escaped'));
    const exported = await sandbox.run(['backup', 'export', crafted, '--out', out]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    expect(filesOutside(sandbox)).toEqual([]);
    expect(fs.readdirSync(path.join(out, crafted))).toEqual(['%2E.%2F..%2Fescaped.db']);

    // A payload file named outside the backup's directory is refused before it is opened.
    forge(sandbox, crafted, (manifest) => (manifest.files[0].name = '../../../backup.key'));
    const outside = await sandbox.run(['backup', 'verify', crafted, '--read-data', '--json']);
    expect(outside.exitCode).toBe(65);
    expect(outside.json().results[0].problems[0]).toMatch(/outside the backup's directory/);
  });

  it("a flipped bit in a payload's chunk-size header is refused at once, naming the chunk size", async () => {
    const sandbox = repoSandbox(['lite']);
    const id = await createBackup(sandbox, 'lite');
    const payload = payloadFile(path.join(sandbox.repo, 'backups', id));
    const bytes = fs.readFileSync(payload);
    bytes[15] ^= 0x40; // the top byte of the 4-byte chunk size after the 8-byte magic and 7-byte nonce prefix
    fs.writeFileSync(payload, bytes);
    // The file's SHA-256 no longer matches either; the header is checked as the bytes stream in.
    const verify = await sandbox.run(['backup', 'verify', id, '--read-data', '--json']);
    expect(verify.exitCode).toBe(65);
    expect(verify.json().results[0].problems[0]).toMatch(/chunk size of \d+ bytes; the manifest says 1048576/);
  });
});
