// More of backup restore and verify, in-process (see backup-engine.test.ts for why): a restore
// test that finds other counts than the manifest's, restores refused before anything is written
// (another engine, a bad name, a system database, a file in use), what an unfinished in-place
// restore left, and the journal a restore keeps while it works.
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/engine/backup/create.js';
import { openRepository } from '../../src/engine/backup/open.js';
import { restoreBackup, restoreTarget, settleInterruptedBackupRestores } from '../../src/engine/backup/restore.js';
import { verifyBackup } from '../../src/engine/backup/verify.js';
import { pendingCleanups } from '../../src/engine/cleanup.js';
import type { Progress } from '../../src/engine/progress.js';
import type { Fleet } from '../../src/engine/fleet.js';
import { journalDir, listJournal, writeJournal } from '../../src/engine/restore-journal.js';
import type { BackupRepository } from '../../src/engine/repository/repository.js';
import { fleetFor } from '../support/fleet.js';
import { refusal } from '../support/refusal.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

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

const deadPid = 2 ** 22 + 54321;
const files = () => fs.readdirSync(data).sort();
const notes = (file: string) => {
  const db = new Sqlite(file, { readonly: true });
  try {
    return (db.prepare('select note from events order by id').all() as Array<{ note: string }>).map((row) => row.note);
  } finally {
    db.close();
  }
};
/** A journal entry as a run that is gone (or one on another host) left it. */
function leftEntry(fields: { database: string; staged: string; phase: 'staging' | 'swapping'; pid?: number; host?: string; scratch?: boolean }): void {
  const { pid = deadPid, host, scratch, ...rest } = fields;
  const entry = writeJournal({ store: 'lite', engine: 'sqlite', backup: id, startedAt: new Date().toISOString(), command: 'test', ...rest });
  fs.writeFileSync(
    path.join(journalDir(), 'lite', `${fields.staged}.json`),
    JSON.stringify({ ...entry, pid, ...(host ? { host } : {}), ...(scratch ? { scratch } : {}) }),
  );
}
function recording(): Progress & { steps: Array<{ title: string; phases: string[]; settleRegistered: boolean }>; warnings: string[] } {
  const steps: Array<{ title: string; phases: string[]; settleRegistered: boolean }> = [];
  const warnings: string[] = [];
  return {
    steps,
    warnings,
    step: (title) => {
      steps.push({
        title,
        phases: listJournal('lite').map((entry) => entry.phase),
        settleRegistered: pendingCleanups().some((what) => what.startsWith('settle the interrupted restore into')),
      });
      return () => undefined;
    },
    warn: (message) => warnings.push(message),
  };
}

describe('a restore keeps its journal entry while it works', () => {
  it('staging, then swapping, with an interrupt handler that settles it; nothing of either left when done', async () => {
    const progress = recording();
    await restoreBackup(fleet, repo, { id, to: 'lite', database: 'journalled' }, progress);
    expect(progress.steps.map((step) => [step.phases, step.settleRegistered])).toEqual([
      [['staging'], true],
      [['swapping'], true],
    ]);
    expect(notes(path.join(data, 'journalled.db'))).toEqual(['a', 'b', 'c']);
    expect(listJournal('lite')).toEqual([]);
    expect(pendingCleanups()).toEqual([]);
    fs.rmSync(path.join(data, 'journalled.db'));
  });

  it('a confirmed restore that fails as the swap starts drops its staged copy: the live database as it was, no journal entry', async () => {
    const before = files();
    const live = fs.readFileSync(path.join(data, 'app.db'));
    const progress = recording();
    const failing: Progress = {
      ...progress,
      step: (title) => {
        if (title.startsWith('put ')) throw new Error('stopped as the swap starts');
        return progress.step(title);
      },
    };
    await expect(restoreBackup(fleet, repo, { id, to: 'lite', database: 'app', confirm: 'app' }, failing)).rejects.toThrow('stopped as the swap starts');
    expect(files()).toEqual(before);
    expect(fs.readFileSync(path.join(data, 'app.db')).equals(live)).toBe(true);
    expect(listJournal('lite')).toEqual([]);
    expect(pendingCleanups()).toEqual([]);
    expect(repo.lockedStores().size).toBe(0);
  });
});

describe('a database file in use is replaced only with force', () => {
  it('without force: IN_USE, nothing changed, no journal; with force: replaced, the old file kept aside', async () => {
    const live = path.join(data, 'app.db');
    const holder = new Sqlite(live);
    try {
      holder.exec('begin immediate');
      const before = files();
      const error = await refusal(restoreBackup(fleet, repo, { id, to: 'lite', database: 'app', confirm: 'app' }));
      expect(error.code).toBe('IN_USE');
      expect(files()).toEqual(before);
      expect(listJournal('lite')).toEqual([]);
      expect(pendingCleanups()).toEqual([]);
      const outcome = await restoreBackup(fleet, repo, { id, to: 'lite', database: 'app', confirm: 'app', force: true });
      expect(outcome.previous).toMatch(/^app__pre_restore_/);
      expect(files()).toEqual([...before, `${outcome.previous}.db`].sort());
      holder.exec('rollback');
      expect(notes(live)).toEqual(['a', 'b', 'c']);
      fs.rmSync(path.join(data, `${outcome.previous}.db`));
    } finally {
      holder.close();
    }
  });
});

describe('what earlier restores left is settled, each named', () => {
  it('another host’s entry (its pid alive here), this host’s dead restore test, and an entry with nothing left: each settled and reported', async () => {
    fs.writeFileSync(path.join(data, 'a__restoring_1.db'), fs.readFileSync(path.join(data, 'app.db')));
    fs.writeFileSync(path.join(data, 'b_test.db'), fs.readFileSync(path.join(data, 'app.db')));
    leftEntry({ database: 'a', staged: 'a__restoring_1', phase: 'staging', pid: process.pid, host: 'elsewhere' });
    leftEntry({ database: 'b_test', staged: 'b_test', phase: 'staging', scratch: true });
    leftEntry({ database: 'c', staged: 'c__restoring_1', phase: 'staging' });
    const warnings: string[] = [];
    const done = await settleInterruptedBackupRestores(fleet, 'lite', (message) => warnings.push(message));
    const expected = [
      { backup: id, what: 'dropped a__restoring_1, the staging copy of an interrupted restore (a was not touched)' },
      { backup: id, what: 'dropped b_test, left by an interrupted restore test' },
      { backup: id, what: `nothing was left by the interrupted restore of ${id} into c` },
    ];
    expect([...done].sort((x, y) => x.what.localeCompare(y.what))).toEqual(expected);
    expect(warnings.sort()).toEqual(
      expected.map(({ what }) => expect.stringMatching(new RegExp(`^Store "lite": ${what.replace(/[()]/g, '\\$&')} \\(test, started `))),
    );
    expect(files()).toEqual(['app.db']);
    expect(listJournal('lite')).toEqual([]);
  });

  it('a dead restore of another database does not make an existing target look absent', async () => {
    leftEntry({ database: 'zzz', staged: 'zzz__restoring_9', phase: 'staging' });
    expect((await restoreTarget(fleet, repo, { id, to: 'lite', database: 'app' })).state).toBe('non-empty');
    const error = await refusal(restoreBackup(fleet, repo, { id, to: 'lite', database: 'app' }));
    expect(error.code).toBe('CONFIRMATION_REQUIRED');
    expect(error.message).toBe('Database "app" on store "lite" holds data; restoring replaces it, which needs confirmation.');
    expect(await settleInterruptedBackupRestores(fleet, 'lite')).toEqual([
      { backup: id, what: `nothing was left by the interrupted restore of ${id} into zzz` },
    ]);
    expect(listJournal('lite')).toEqual([]);
  });

  it('a dead swap the restore finishes under the lock makes its target one to confirm: 77, the finished database kept, a stale lock broken with a warning', async () => {
    fs.writeFileSync(path.join(data, 'done2__restoring_1.db'), fs.readFileSync(path.join(data, 'app.db')));
    leftEntry({ database: 'done2', staged: 'done2__restoring_1', phase: 'swapping' });
    const now = new Date().toISOString();
    fs.writeFileSync(
      path.join(repo.locksDir, 'lite.lock'),
      JSON.stringify({ pid: deadPid, host: os.hostname(), command: 'storage backup restore old', startedAt: now, heartbeatAt: now }),
    );
    expect((await restoreTarget(fleet, repo, { id, to: 'lite', database: 'done2' })).state).toBe('absent');
    const progress = recording();
    const error = await refusal(restoreBackup(fleet, repo, { id, to: 'lite', database: 'done2' }, progress));
    expect(error.code).toBe('CONFIRMATION_REQUIRED');
    expect(error.exitCode).toBe(77);
    expect(progress.warnings).toEqual([
      `Breaking a stale lock on store "lite" (storage backup restore old, pid ${deadPid}): process ${deadPid} on ${os.hostname()} is gone.`,
      expect.stringMatching(/^Store "lite": finished the interrupted swap: renamed done2__restoring_1 to done2 \(test, started /),
    ]);
    expect(files()).toEqual(['app.db', 'done2.db']);
    expect(notes(path.join(data, 'done2.db'))).toEqual(['a', 'b', 'c']);
    expect(listJournal('lite')).toEqual([]);
    expect(fs.existsSync(path.join(repo.locksDir, 'lite.lock'))).toBe(false);
    expect(pendingCleanups()).toEqual([]);
    fs.rmSync(path.join(data, 'done2.db'));
  });

  it('a backup of another engine names the engine to restore it to', async () => {
    const error = await refusal(restoreBackup(fleet, repo, { id, to: 'pg', database: 'x' }));
    expect(error.hint).toBe('Restore it to a sqlite store.');
  });
});

describe('PostgreSQL: restores refused before anything is written', () => {
  const database = uniqueName('mut_rsys');
  let pgFleet: Fleet;
  let pgRepo: BackupRepository;
  let pgId: string;

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${database}`));
    await pgAdmin((client) => client.query('create table kept (id int); insert into kept values (1), (2)'), pgUrlFor(database));
    pgFleet = await fleetFor({
      stores: { pg: { engine: 'postgres', url: pgUrlFor(database) } },
      backup: { repository: path.join(home, 'pg-repo'), encryption: { enabled: false }, compression: 'none' },
    });
    pgRepo = await openRepository(pgFleet, undefined, { create: true, env: {} });
    pgId = (await createBackup(pgFleet, pgRepo, 'pg')).id;
  });

  afterAll(async () => {
    await pgFleet?.close();
    await pgAdmin(async (client) => {
      const left = await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${database}%`]);
      for (const { datname } of left.rows) await client.query(`drop database if exists "${datname}" with (force)`);
    });
  });

  // Unconfirmed, so that a run without the check stops at the confirmation (a mutation run must never replace them).
  it('a system database (postgres, template0, template1): USAGE (64), not a request for confirmation', async () => {
    for (const target of ['postgres', 'template0', 'template1']) {
      const error = await refusal(restoreBackup(pgFleet, pgRepo, { id: pgId, to: 'pg', database: target }));
      expect(error.code).toBe('USAGE');
      expect(error.exitCode).toBe(64);
      expect(error.message).toBe(`Refusing to restore into "${target}": it is a PostgreSQL system database, which the server itself needs.`);
      expect(error.hint).toBe('Restore into a new database (the default, or --database NEW_NAME).');
    }
  });

  it('a name PostgreSQL would cut short (64 bytes): USAGE, no database created', async () => {
    const long = `${database}_${'x'.repeat(64)}`.slice(0, 64);
    const error = await refusal(restoreBackup(pgFleet, pgRepo, { id: pgId, to: 'pg', database: long }));
    expect(error.code).toBe('USAGE');
    expect(error.message).toBe(`"${long}" is not a valid PostgreSQL database name.`);
    const made = await pgAdmin((client) => client.query('select datname from pg_database where datname like $1', [`${database}_%`]));
    expect(made.rows).toEqual([]);
  });
});

describe('a restore test keeps its scratch database journalled until it is dropped', () => {
  it('while the counts are compared the journal names the scratch database; after, neither is left', async () => {
    const before = files();
    const seen: Array<{ title: string; entries: Array<{ scratch?: boolean; exists: boolean }> }> = [];
    const progress: Progress = {
      step: (title) => {
        seen.push({
          title,
          entries: listJournal('lite').map((entry) => ({ scratch: entry.scratch, exists: fs.existsSync(path.join(data, `${entry.staged}.db`)) })),
        });
        return () => undefined;
      },
      warn: () => undefined,
    };
    expect(await verifyBackup(fleet, repo, id, { level: 'restore-test' }, progress)).toMatchObject({ ok: true });
    expect(seen.find((step) => step.title === 'compare row counts with the manifest')?.entries).toEqual([{ scratch: true, exists: true }]);
    expect(files()).toEqual(before);
    expect(listJournal('lite')).toEqual([]);
  });
});
