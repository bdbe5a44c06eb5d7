// Compression of backups (issue 16): zstd is the default for new backups, gzip and none still
// work, backups made with gzip before the default changed restore and verify unchanged, a
// damaged or cut zstd payload is refused (65) with nothing left behind, and export still
// writes the vendor's format (a SQLite file sqlite3 opens, an archive pg_restore reads).
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SealedManifest } from '../../src/engine/repository/manifest.js';
import { flipByte, payloadFile } from '../support/backups.js';
import { makeSandbox } from '../support/cli.js';
import { createBackup, repoSandbox, type RepoSandbox } from '../support/repository.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

const manifestOf = (repo: string, id: string) => JSON.parse(fs.readFileSync(path.join(repo, 'backups', id, 'manifest.json'), 'utf8')) as SealedManifest;

/** Several zstd blocks (2 MiB each) of text that compresses and bytes that do not. */
function fillSqlite(file: string, rows = 30_000): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.rmSync(file, { force: true });
  const db = new Sqlite(file);
  db.exec('create table events (id integer primary key, note text, body blob)');
  const insert = db.prepare('insert into events (note, body) values (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`event ${i} of kind ${i % 13} `.repeat(1 + (i % 9)), randomBytes(40));
  })();
  db.close();
}

/** What a SQLite file holds, as sqlite3 dumps it. */
async function contentHash(file: string): Promise<string> {
  const dump = await execa('sqlite3', [file, '.dump'], { maxBuffer: 256 * 1024 * 1024 });
  return createHash('sha256').update(dump.stdout).digest('hex');
}

function liteSandbox(backup: Record<string, unknown> = {}): { sandbox: RepoSandbox; source: string } {
  const sandbox = repoSandbox(['lite'], backup);
  const source = path.join(sandbox.dir, 'data', 'lite.db');
  fillSqlite(source);
  return { sandbox, source };
}

const restoredFiles = (sandbox: RepoSandbox) => fs.readdirSync(path.join(sandbox.dir, 'data')).filter((name) => name.startsWith('copy'));

describe('backup compression', () => {
  it('SQLite: a new backup is zstd by default (the manifest says so), restores exactly, and exports a file sqlite3 reads', async () => {
    const { sandbox, source } = liteSandbox();
    const id = await createBackup(sandbox, 'lite');
    const manifest = manifestOf(sandbox.repo, id);
    expect(manifest.files.map((file) => [file.name, file.compression])).toEqual([['payload.sqlite.zst.enc', 'zstd']]);
    expect(manifest.storedBytes).toBeLessThan(manifest.originalBytes / 2);
    expect((await sandbox.run(['backup', 'verify', id, '--read-data'])).exitCode).toBe(0);
    const restore = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'copy']);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(await contentHash(path.join(sandbox.dir, 'data', 'copy.db'))).toBe(await contentHash(source));
    expect((await sandbox.run(['backup', 'export', id, '--out', 'out'])).exitCode).toBe(0);
    const exported = path.join(sandbox.dir, 'out', id, 'lite.db');
    expect(fs.statSync(exported).size).toBe(manifest.originalBytes);
    expect((await execa('sqlite3', [exported, 'pragma integrity_check'])).stdout.trim()).toBe('ok');
    expect(await contentHash(exported)).toBe(await contentHash(source));
  });

  for (const [compression, name] of [
    ['gzip', 'payload.sqlite.gz'],
    ['none', 'payload.sqlite'],
  ] as const) {
    it(`SQLite: compression: ${compression} still works, encrypted and not, and restores exactly`, async () => {
      for (const encrypted of [true, false]) {
        const { sandbox, source } = liteSandbox({ compression, ...(encrypted ? {} : { encryption: { enabled: false } }) });
        const id = await createBackup(sandbox, 'lite');
        expect(manifestOf(sandbox.repo, id).files.map((file) => [file.name, file.compression])).toEqual([[`${name}${encrypted ? '.enc' : ''}`, compression]]);
        expect((await sandbox.run(['backup', 'verify', id, '--read-data'])).exitCode).toBe(0);
        expect((await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'copy'])).exitCode).toBe(0);
        expect(await contentHash(path.join(sandbox.dir, 'data', 'copy.db'))).toBe(await contentHash(source));
      }
    });
  }

  it('SQLite: a gzip backup made before the default changed restores, verifies and exports unchanged under the zstd default', async () => {
    const { sandbox, source } = liteSandbox({ compression: 'gzip' });
    const old = await createBackup(sandbox, 'lite');
    const before = await contentHash(source);
    // The config as a newer version writes it: no compression setting, so zstd for new backups.
    sandbox.configure(['lite'], {});
    fillSqlite(source, 500);
    const fresh = await createBackup(sandbox, 'lite');
    expect(manifestOf(sandbox.repo, old).files[0].compression).toBe('gzip');
    expect(manifestOf(sandbox.repo, fresh).files[0].compression).toBe('zstd');
    const verify = await sandbox.run(['backup', 'verify', '--all', '--read-data', '--json']);
    expect(verify.exitCode, verify.stdout).toBe(0);
    expect(verify.json().results.map((result: { ok: boolean }) => result.ok)).toEqual([true, true]);
    expect((await sandbox.run(['backup', 'restore', old, '--to', 'lite', '--database', 'copy'])).exitCode).toBe(0);
    expect(await contentHash(path.join(sandbox.dir, 'data', 'copy.db'))).toBe(before);
    expect((await sandbox.run(['backup', 'export', old, '--out', 'out'])).exitCode).toBe(0);
    expect(await contentHash(path.join(sandbox.dir, 'out', old, 'lite.db'))).toBe(before);
  });

  for (const encrypted of [true, false]) {
    it(`SQLite, ${encrypted ? 'encrypted' : 'unencrypted'}: a flipped byte and a cut in a zstd payload fail verify, restore and export (65) and leave nothing`, async () => {
      const { sandbox } = liteSandbox(encrypted ? {} : { encryption: { enabled: false } });
      const flipped = await createBackup(sandbox, 'lite');
      const cut = await createBackup(sandbox, 'lite');
      const cutAtBlock = await createBackup(sandbox, 'lite');
      const payloadOf = (id: string) => payloadFile(path.join(sandbox.repo, 'backups', id));
      expect(path.basename(payloadOf(flipped))).toBe(encrypted ? 'payload.sqlite.zst.enc' : 'payload.sqlite.zst');
      flipByte(payloadOf(flipped));
      fs.truncateSync(payloadOf(cut), fs.statSync(payloadOf(cut)).size - 100);
      if (encrypted) fs.truncateSync(payloadOf(cutAtBlock), Math.floor(fs.statSync(payloadOf(cutAtBlock)).size / 2));
      else {
        // Cut exactly after the first zstd block (its size frame says where it ends): a stream that
        // decodes cleanly, only shorter. The manifest's sizes and hash still catch it.
        const bytes = fs.readFileSync(payloadOf(cutAtBlock));
        fs.writeFileSync(payloadOf(cutAtBlock), bytes.subarray(0, 16 + bytes.readUInt32LE(8)));
      }
      for (const id of [flipped, cut, cutAtBlock]) {
        const verify = await sandbox.run(['backup', 'verify', id, '--read-data', '--json']);
        expect(verify.exitCode, id).toBe(65);
        expect(verify.json().results[0].ok).toBe(false);
        expect(verify.json().results[0].problems.join(' ')).toMatch(/payload\.sqlite\.zst/);
        const restore = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'copy']);
        expect(restore.exitCode, restore.stderr).toBe(65);
        expect(restoredFiles(sandbox)).toEqual([]);
        const exported = await sandbox.run(['backup', 'export', id, '--out', 'out']);
        expect(exported.exitCode).toBe(65);
        expect(fs.existsSync(path.join(sandbox.dir, 'out')) ? fs.readdirSync(path.join(sandbox.dir, 'out')) : []).toEqual([]);
      }
    });
  }

  it('compressionLevel is accepted within 1–19 and refused outside it', async () => {
    const { sandbox, source } = liteSandbox({ compressionLevel: 9 });
    const id = await createBackup(sandbox, 'lite');
    expect((await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'copy'])).exitCode).toBe(0);
    expect(await contentHash(path.join(sandbox.dir, 'data', 'copy.db'))).toBe(await contentHash(source));
    sandbox.configure(['lite'], { compressionLevel: 30 });
    const refused = await sandbox.run(['backup', 'create', 'lite']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('backup.compressionLevel');
  });
});

describe('PostgreSQL backup compression', () => {
  const source = uniqueName('bk_zstd');
  const restored: string[] = [];

  async function fingerprint(database: string): Promise<string> {
    return pgAdmin(async (client) => {
      const q = async (sql: string) => String((await client.query(sql)).rows[0].v);
      return [
        await q("select md5(string_agg(aid || ':' || bid || ':' || abalance || ':' || filler, ',' order by aid)) as v from pgbench_accounts"),
        await q("select md5(string_agg(id || ':' || body, ',' order by id)) as v from notes"),
      ].join('/');
    }, pgUrlFor(database));
  }

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${source}`));
    await execa('pgbench', ['-i', '-s', '1', '-q', pgUrlFor(source)]);
    await pgAdmin(
      (client) =>
        client.query(
          'create table notes (id int primary key, body text); insert into notes select g, repeat(md5(g::text), g % 20) from generate_series(1, 3000) g',
        ),
      pgUrlFor(source),
    );
  });

  afterAll(async () => {
    await pgAdmin(async (client) => {
      for (const db of [source, ...restored]) await client.query(`drop database if exists "${db}" with (force)`);
    });
  });

  it('zstd by default (pg_dump -Z0, compressed by the tool): restores exactly, exports an archive pg_restore reads; a gzip backup made before still restores', async () => {
    const sandbox = makeSandbox();
    const env = { STORAGE_BACKUP_PASSPHRASE: 'compression-test-passphrase' };
    const configure = (backup: Record<string, unknown>) =>
      sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor(source) } }, backup: { repository: './repo', ...backup } });
    configure({ compression: 'gzip' });
    const old = (await sandbox.run(['backup', 'create', 'main', '--json'], { env })).json().stores[0].backup.id as string;
    configure({});
    const created = await sandbox.run(['backup', 'create', 'main', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const id = created.json().stores[0].backup.id as string;
    const repo = path.join(sandbox.dir, 'repo');
    expect(manifestOf(repo, old).files.map((file) => [file.name, file.compression])).toEqual([['payload.pgdump.enc', 'none']]);
    const manifest = manifestOf(repo, id);
    expect(manifest.files.map((file) => [file.name, file.compression])).toEqual([['payload.pgdump.zst.enc', 'zstd']]);
    expect(manifest.payloadFormat).toBe('pg_dump-custom');
    // An uncompressed archive, compressed here: much smaller stored than it is plain.
    expect(manifest.storedBytes).toBeLessThan(manifest.originalBytes / 3);

    const expected = await fingerprint(source);
    for (const [backup, parallel] of [
      [id, '1'],
      [id, '2'],
      [old, '1'],
    ]) {
      const target = uniqueName('bk_zstd_copy');
      restored.push(target);
      const restore = await sandbox.run(['backup', 'restore', backup, '--to', 'main', '--database', target, '--parallel', parallel], { env });
      expect(restore.exitCode, restore.stderr).toBe(0);
      expect(await fingerprint(target)).toBe(expected);
    }

    const out = path.join(sandbox.dir, 'out');
    expect((await sandbox.run(['backup', 'export', id, '--out', out], { env })).exitCode).toBe(0);
    const archive = path.join(out, id, `${source}.dump`);
    expect(fs.statSync(archive).size).toBe(manifest.originalBytes);
    const listing = await execa('pg_restore', ['--list', archive]);
    expect(listing.stdout).toMatch(/TABLE DATA public pgbench_accounts /);
    expect(listing.stdout).toMatch(/Compression: (0|none)/);
    const target = uniqueName('bk_zstd_export');
    restored.push(target);
    await pgAdmin((client) => client.query(`create database ${target}`));
    await execa('pg_restore', ['--no-owner', '--dbname', pgUrlFor(target), archive]);
    expect(await fingerprint(target)).toBe(expected);
  });

  it('a flipped byte or a cut in a zstd archive is refused (65) before anything is created on the server', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor(source) } }, backup: { repository: './repo', encryption: { enabled: false } } });
    const make = async () => (await sandbox.run(['backup', 'create', 'main', '--json'])).json().stores[0].backup.id as string;
    const flipped = await make();
    const cut = await make();
    const payloadOf = (id: string) => payloadFile(path.join(sandbox.dir, 'repo', 'backups', id));
    expect(path.basename(payloadOf(flipped))).toBe('payload.pgdump.zst');
    flipByte(payloadOf(flipped));
    fs.truncateSync(payloadOf(cut), fs.statSync(payloadOf(cut)).size - 1000);
    for (const id of [flipped, cut]) {
      expect((await sandbox.run(['backup', 'verify', id, '--read-data'])).exitCode).toBe(65);
      const target = uniqueName('bk_zstd_never');
      const restore = await sandbox.run(['backup', 'restore', id, '--to', 'main', '--database', target]);
      expect(restore.exitCode, restore.stderr).toBe(65);
      const exists = await pgAdmin((client) => client.query("select 1 from pg_database where datname like 'bk_zstd_never%'"));
      expect(exists.rowCount).toBe(0);
    }
  });
});
