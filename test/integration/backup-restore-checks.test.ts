// More of backup restore and verify, in-process (see backup-engine.test.ts for why): a restore
// test that finds other counts than the manifest's, restores refused before anything is written
// (another engine, a bad name), and what an unfinished in-place restore left.
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/engine/backup/create.js';
import { openRepository } from '../../src/engine/backup/open.js';
import { restoreBackup, restoreTarget } from '../../src/engine/backup/restore.js';
import { verifyBackup } from '../../src/engine/backup/verify.js';
import type { Fleet } from '../../src/engine/fleet.js';
import { journalDir, listJournal, writeJournal } from '../../src/engine/restore-journal.js';
import type { BackupRepository } from '../../src/engine/repository/repository.js';
import { fleetFor } from '../support/fleet.js';
import { refusal } from '../support/refusal.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-restore-checks-'));
const savedEnv = { ...process.env };
let fleet: Fleet;
let repo: BackupRepository;
let data: string;
let id: string;

beforeAll(async () => {
  process.env.XDG_DATA_HOME = path.join(home, 'xdg-data');
  process.env.XDG_CONFIG_HOME = path.join(home, 'xdg-config');
  data = path.join(home, 'data');
  fs.mkdirSync(data);
  const db = new Sqlite(path.join(data, 'app.db'));
  db.exec(
    "create table events (id integer primary key, note text); insert into events (note) values ('a'), ('b'), ('c'); create table tags (t text); insert into tags values ('x')",
  );
  db.close();
  fleet = await fleetFor({
    stores: { lite: { engine: 'sqlite', path: path.join(data, 'app.db') }, pg: { engine: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/postgres' } },
    backup: { repository: path.join(home, 'repo'), encryption: { enabled: false }, compression: 'none' },
  });
  repo = await openRepository(fleet, undefined, { create: true, env: {} });
  id = (await createBackup(fleet, repo, 'lite')).id;
});

afterAll(async () => {
  await fleet.close();
  process.env = savedEnv;
  fs.rmSync(home, { recursive: true, force: true });
});

/** A copy of the backup whose manifest says other counts (sealed anew, as a bug at backup time would have written it). */
function withCounts(counts: Record<string, number>): string {
  const manifest = repo.readManifest(id);
  const copy = repo.newBackupId('lite');
  fs.cpSync(repo.backupDir(id), repo.backupDir(copy), { recursive: true });
  fs.rmSync(path.join(repo.backupDir(copy), 'manifest.json'));
  fs.rmSync(path.join(repo.backupDir(copy), 'verified.json'), { force: true });
  const { seal: _seal, ...body } = manifest;
  repo.writeManifest({ ...body, id: copy, counts });
  return copy;
}

describe('restore-test verification compares every count with the manifest', () => {
  it('the true counts pass', async () => {
    expect(repo.readManifest(id).counts).toEqual({ events: 3, tags: 1 });
    expect(await verifyBackup(fleet, repo, id, { level: 'restore-test' })).toMatchObject({ ok: true, problems: [] });
  });

  it('a different count, a table missing from the restore, and a table the manifest lacks are each named; nothing is left behind', async () => {
    const before = fs.readdirSync(data).sort();
    const wrong = await verifyBackup(fleet, repo, withCounts({ events: 4, tags: 1 }), { level: 'restore-test' });
    expect(wrong).toMatchObject({ ok: false, problems: ['events: 3 rows restored, 4 backed up'] });
    const missing = await verifyBackup(fleet, repo, withCounts({ events: 3, tags: 1, gone: 2 }), { level: 'restore-test' });
    expect(missing).toMatchObject({ ok: false, problems: ['gone: missing after the restore, backed up with 2 rows'] });
    const extra = await verifyBackup(fleet, repo, withCounts({ events: 3 }), { level: 'restore-test' });
    expect(extra).toMatchObject({ ok: false, problems: ['tags: restored but not in the manifest'] });
    // read-data alone does not restore, so it cannot see counts.
    expect(await verifyBackup(fleet, repo, withCounts({ events: 9 }), { level: 'read-data' })).toMatchObject({ ok: true });
    expect(fs.readdirSync(data).sort()).toEqual(before);
    expect(listJournal()).toEqual([]);
  });
});

describe('restores refused before anything is written', () => {
  it('into a store of another engine: USAGE (64), naming both', async () => {
    const error = await refusal(restoreBackup(fleet, repo, { id, to: 'pg', database: 'x' }));
    expect(error.code).toBe('USAGE');
    expect(error.exitCode).toBe(64);
    expect(error.message).toBe(`Backup ${id} is of a sqlite store; "pg" is postgres.`);
  });

  it('a database name that is a path: USAGE, no file written anywhere', async () => {
    const before = fs.readdirSync(data).sort();
    for (const database of ['../escape', 'a/b', '.hidden']) {
      const error = await refusal(restoreBackup(fleet, repo, { id, to: 'lite', database }));
      expect(error.code).toBe('USAGE');
    }
    expect(fs.readdirSync(data).sort()).toEqual(before);
    expect(fs.existsSync(path.join(home, 'escape.db'))).toBe(false);
  });

  it('a database an interrupted in-place restore left under the requested name counts as absent (it is settled first); a live run’s entry does not', async () => {
    const entry = writeJournal({
      store: 'lite',
      engine: 'sqlite',
      backup: id,
      database: 'half',
      staged: 'half',
      phase: 'staging',
      startedAt: new Date().toISOString(),
      command: 'test',
    });
    const half = new Sqlite(path.join(data, 'half.db'));
    half.exec("create table events (id integer primary key, note text); insert into events (note) values ('partial')");
    half.close();
    expect((await restoreTarget(fleet, repo, { id, to: 'lite', database: 'half' })).state).toBe('non-empty');
    fs.writeFileSync(path.join(journalDir(), 'lite', 'half.json'), JSON.stringify({ ...entry, pid: 2 ** 22 + 4321 }));
    expect((await restoreTarget(fleet, repo, { id, to: 'lite', database: 'half' })).state).toBe('absent');
    // A restore test running on another host is not ours to settle.
    fs.writeFileSync(path.join(journalDir(), 'lite', 'half.json'), JSON.stringify({ ...entry, pid: 2 ** 22 + 4321, host: 'elsewhere', scratch: true }));
    expect((await restoreTarget(fleet, repo, { id, to: 'lite', database: 'half' })).state).toBe('non-empty');
    fs.rmSync(path.join(journalDir(), 'lite'), { recursive: true, force: true });
    fs.rmSync(path.join(data, 'half.db'));
  });
});
