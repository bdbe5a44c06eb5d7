// Backup create, verify and restore driven in-process through the engine (SQLite stores, real
// files): the same outcomes the CLI tests check (bytes restored, files left, exit codes, data),
// but in the test process, where `npm run mutation` can see a mutant of the engine code. The CLI
// tests run the built binary in a subprocess, which never does.
import Sqlite from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupsOutcome, createBackup, createBackups } from '../../src/engine/backup/create.js';
import { openRepository } from '../../src/engine/backup/open.js';
import { restoreBackup, restoreTarget, settleInterruptedBackupRestores } from '../../src/engine/backup/restore.js';
import { verifyBackup } from '../../src/engine/backup/verify.js';
import { StorageError } from '../../src/engine/errors.js';
import type { BackedUpTenant, DumpContext, DumpResult } from '../../src/engine/engines/spec.js';
import type { Fleet } from '../../src/engine/fleet.js';
import { journalDir, listJournal, writeJournal } from '../../src/engine/restore-journal.js';
import type { BackupRepository } from '../../src/engine/repository/repository.js';
import { StoreLock } from '../../src/engine/store-lock.js';
import { fleetFor } from '../support/fleet.js';
import { refusal } from '../support/refusal.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-backup-engine-'));
const savedEnv = { ...process.env };

beforeAll(() => {
  // The restore journal and any default key live in the user dirs: keep them in this test's dir.
  process.env.XDG_DATA_HOME = path.join(home, 'xdg-data');
  process.env.XDG_CONFIG_HOME = path.join(home, 'xdg-config');
  delete process.env.STORAGE_BACKUP_PASSPHRASE;
});

afterAll(() => {
  process.env = savedEnv;
  fs.rmSync(home, { recursive: true, force: true });
});

interface Setup {
  dir: string;
  data: string;
  live: string;
  fleet: Fleet;
  repo: BackupRepository;
}

function makeDb(file: string, notes: string[]): void {
  const db = new Sqlite(file);
  db.exec('create table events (id integer primary key, note text, body blob)');
  const insert = db.prepare('insert into events (note, body) values (?, ?)');
  db.transaction(() => {
    for (const note of notes) insert.run(note, Buffer.from(`body of ${note}`));
  })();
  db.close();
}

function rows(file: string): string {
  const db = new Sqlite(file, { readonly: true });
  try {
    return (db.prepare("select group_concat(id || ':' || note || ':' || hex(body), ',') as v from (select * from events order by id)").get() as { v: string })
      .v;
  } finally {
    db.close();
  }
}

async function setup(backup: Record<string, unknown>, notes = ['first', 'MARK-row-two', 'third']): Promise<Setup> {
  const fleetDir = fs.mkdtempSync(path.join(home, 'fleet-'));
  const data = path.join(fleetDir, 'data');
  fs.mkdirSync(data);
  const live = path.join(data, 'app.db');
  makeDb(live, notes);
  const config = { stores: { lite: { engine: 'sqlite', path: path.join(data, 'app.db') } }, backup: { repository: path.join(fleetDir, 'repo'), ...backup } };
  const fleet = await fleetFor(config, {});
  const repo = await openRepository(fleet, undefined, { create: true, env: {} });
  return { dir: fleetDir, data, live, fleet, repo };
}

const files = (dir: string) => fs.readdirSync(dir).sort();
const payloadOf = (repo: BackupRepository, id: string) => path.join(repo.backupDir(id), repo.readManifest(id).files[0].name);

function flipAt(file: string, at: number): void {
  const bytes = fs.readFileSync(file);
  bytes[at] ^= 0x01;
  fs.writeFileSync(file, bytes);
}

describe('backup engine, encrypted zstd repository (key file)', () => {
  let s: Setup;
  let id: string;
  let original: string;

  beforeAll(async () => {
    const keyFile = path.join(home, `key-${randomBytes(3).toString('hex')}`);
    fs.writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    s = await setup(
      { encryption: { keyFile } },
      Array.from({ length: 300 }, (_, i) => `note-${i}`),
    );
    original = rows(s.live);
    const sealed = await createBackup(s.fleet, s.repo, 'lite', { tags: ['nightly'] });
    id = sealed.id;
  });
  afterAll(() => s.fleet.close());

  it('seals a complete backup: manifest facts, files at their sizes, no lock, no scratch, nothing else in the repository', () => {
    const manifest = s.repo.readManifest(id);
    expect(manifest).toMatchObject({ id, store: 'lite', engine: 'sqlite', cipher: 'aes-256-gcm-chunked', tags: ['nightly'], counts: { events: 300 } });
    expect(manifest.dataKey).toBeDefined();
    expect(manifest.chunkSize).toBeGreaterThan(0);
    expect(manifest.files.length).toBeGreaterThan(0);
    let stored = 0;
    for (const file of manifest.files) {
      const size = fs.statSync(path.join(s.repo.backupDir(id), file.name)).size;
      expect(size).toBe(file.bytes);
      stored += size;
    }
    expect(manifest.storedBytes).toBe(stored);
    expect(manifest.originalBytes).toBe(manifest.files.reduce((sum, file) => sum + file.plainBytes, 0));
    expect(manifest.originalBytes).toBeGreaterThan(0);
    expect(Date.parse(manifest.finishedAt)).toBeGreaterThanOrEqual(Date.parse(manifest.startedAt));
    expect(manifest.durationMs).toBe(Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt));
    expect(manifest.source).not.toContain('://:');
    // The payload is encrypted: the rows' text is not in it.
    for (const file of manifest.files) expect(fs.readFileSync(path.join(s.repo.backupDir(id), file.name)).includes('note-150')).toBe(false);
    expect(s.repo.list().map((entry) => [entry.id, entry.status])).toEqual([[id, 'complete']]);
    expect(fs.readdirSync(s.repo.tmpDir)).toEqual([]);
    expect(s.repo.lockedStores().size).toBe(0);
    expect(fs.readdirSync(s.repo.locksDir).filter((name) => name.endsWith('.lock'))).toEqual([]);
  });

  it('verifies at each level, recording the strongest; a restore test leaves no database and no journal entry', async () => {
    const before = files(s.data);
    const checked = await verifyBackup(s.fleet, s.repo, id, { level: 'files' });
    expect(checked).toMatchObject({ id, store: 'lite', ok: true, level: 'files', problems: [] });
    expect(await verifyBackup(s.fleet, s.repo, id, { level: 'read-data' })).toMatchObject({ ok: true, level: 'read-data', problems: [] });
    const tested = await verifyBackup(s.fleet, s.repo, id, { level: 'restore-test' });
    expect(tested).toMatchObject({ ok: true, level: 'restore-test', problems: [] });
    expect(s.repo.readVerification(id)).toMatchObject({ ok: true, level: 'restore-test' });
    expect(files(s.data)).toEqual(before);
    expect(listJournal()).toEqual([]);
    expect(fs.readdirSync(s.repo.tmpDir)).toEqual([]);
    // record: false looks without writing.
    const verifiedFile = path.join(s.repo.backupDir(id), 'verified.json');
    const recorded = fs.readFileSync(verifiedFile, 'utf8');
    await verifyBackup(s.fleet, s.repo, id, { level: 'files', record: false });
    expect(fs.readFileSync(verifiedFile, 'utf8')).toBe(recorded);
  });

  it('restores into a new database: the same rows, byte for byte; nothing else created; the live database untouched', async () => {
    const before = files(s.data);
    const outcome = await restoreBackup(s.fleet, s.repo, { id, to: 'lite', database: 'copy' });
    expect(outcome).toMatchObject({ id, store: 'lite', database: 'copy', backedUpCounts: { events: 300 } });
    expect(outcome.previous).toBeUndefined();
    expect(outcome.counted.many).toBeTruthy();
    expect(files(s.data)).toEqual([...before, 'copy.db'].sort());
    expect(rows(path.join(s.data, 'copy.db'))).toBe(original);
    expect(rows(s.live)).toBe(original);
    expect(fs.statSync(path.join(s.data, 'copy.db')).mode & 0o777).toBe(0o600);
    expect(listJournal('lite')).toEqual([]);
    expect(s.repo.lockedStores().size).toBe(0);
    expect(fs.readdirSync(s.repo.tmpDir)).toEqual([]);
  });

  it('replacing an existing database needs its exact name: none → 77 CONFIRMATION_REQUIRED, "yes" → 77 CONFIRMATION_MISMATCH; nothing changes', async () => {
    const change = new Sqlite(s.live);
    change.exec("insert into events (note) values ('after the backup')");
    change.close();
    const changed = rows(s.live);
    const before = files(s.data);
    for (const confirm of [undefined, 'yes', 'app.db', 'APP']) {
      const error = await refusal(restoreBackup(s.fleet, s.repo, { id, to: 'lite', database: 'app', confirm }));
      expect(error.code).toBe(confirm === undefined ? 'CONFIRMATION_REQUIRED' : 'CONFIRMATION_MISMATCH');
      expect(error.exitCode).toBe(77);
      expect(error.hint).toContain('--confirm app,');
      expect(rows(s.live)).toBe(changed);
      expect(files(s.data)).toEqual(before);
    }
    expect(s.repo.lockedStores().size).toBe(0);
    const target = await restoreTarget(s.fleet, s.repo, { id, to: 'lite', database: 'app' });
    expect(target.state).toBe('non-empty');
    expect(target.database).toBe('app');
  });

  it('with the exact name it replaces the database and keeps the replaced one aside, every row of it', async () => {
    const replaced = rows(s.live);
    const outcome = await restoreBackup(s.fleet, s.repo, { id, to: 'lite', database: 'app', confirm: 'app' });
    expect(outcome.database).toBe('app');
    expect(outcome.previous).toMatch(/^app__pre_restore_/);
    expect(rows(s.live)).toBe(original);
    const aside = files(s.data).filter((name) => name.startsWith('app__pre_restore_'));
    expect(aside).toEqual([`${outcome.previous}.db`]);
    expect(rows(path.join(s.data, aside[0]))).toBe(replaced);
    expect(listJournal('lite')).toEqual([]);
  });

  it('the default target is a new database named after the source', async () => {
    const outcome = await restoreBackup(s.fleet, s.repo, { id, to: 'lite' });
    expect(outcome.database).toMatch(/^app_restore_/);
    expect(outcome.previous).toBeUndefined();
    expect(rows(path.join(s.data, `${outcome.database}.db`))).toBe(original);
  });

  it('a flipped byte of the encrypted payload: files level passes (same size), read-data fails naming nothing restored; restore refuses with 65 and writes nothing', async () => {
    const second = (await createBackup(s.fleet, s.repo, 'lite')).id;
    const payload = payloadOf(s.repo, second);
    flipAt(payload, Math.floor(fs.statSync(payload).size / 2));
    expect(await verifyBackup(s.fleet, s.repo, second, { level: 'files' })).toMatchObject({ ok: true });
    const read = await verifyBackup(s.fleet, s.repo, second, { level: 'read-data' });
    expect(read.ok).toBe(false);
    expect(read.problems.length).toBeGreaterThan(0);
    expect(s.repo.readVerification(second)).toMatchObject({ ok: false });
    const before = files(s.data);
    const hash = rows(s.live);
    const error = await refusal(restoreBackup(s.fleet, s.repo, { id: second, to: 'lite', database: 'app', confirm: 'app' }));
    expect(error.exitCode).toBe(65);
    expect(files(s.data)).toEqual(before);
    expect(rows(s.live)).toBe(hash);
    expect(listJournal('lite')).toEqual([]);
    expect(s.repo.lockedStores().size).toBe(0);
  });

  it('a truncated payload and a missing one fail the files level, each named', async () => {
    const third = (await createBackup(s.fleet, s.repo, 'lite')).id;
    const payload = payloadOf(s.repo, third);
    const name = path.basename(payload);
    fs.truncateSync(payload, fs.statSync(payload).size - 1);
    const truncated = await verifyBackup(s.fleet, s.repo, third, { level: 'read-data' });
    expect(truncated.ok).toBe(false);
    expect(truncated.problems).toEqual([expect.stringContaining(`${name} has`)]);
    fs.rmSync(payload);
    const missing = await verifyBackup(s.fleet, s.repo, third, { level: 'files' });
    expect(missing.ok).toBe(false);
    expect(missing.problems).toEqual([`${name} is missing`]);
  });

  it('an edited manifest fails verification; an unknown id is NOT_FOUND, not a failed verification', async () => {
    const fourth = (await createBackup(s.fleet, s.repo, 'lite')).id;
    const file = path.join(s.repo.backupDir(fourth), 'manifest.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"events": 300', '"events": 301'));
    const result = await verifyBackup(s.fleet, s.repo, fourth, { level: 'files' });
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toContain('integrity');
    const unknown = `20200101T000000Z-lite-${randomBytes(3).toString('hex')}`;
    const error = await refusal(verifyBackup(s.fleet, s.repo, unknown));
    expect(error.code).toBe('NOT_FOUND');
    expect(fs.existsSync(s.repo.backupDir(unknown))).toBe(false);
  });
});

describe('backup engine, unencrypted and uncompressed repository', () => {
  let s: Setup;
  let good: string;
  let tampered: string;

  beforeAll(async () => {
    s = await setup({ encryption: { enabled: false }, compression: 'none' });
    good = (await createBackup(s.fleet, s.repo, 'lite')).id;
    tampered = (await createBackup(s.fleet, s.repo, 'lite')).id;
    const payload = payloadOf(s.repo, tampered);
    const bytes = fs.readFileSync(payload);
    const at = bytes.indexOf('MARK-row-two');
    expect(at).toBeGreaterThan(0);
    flipAt(payload, at);
    const change = new Sqlite(s.live);
    change.exec("insert into events (note) values ('after the backups')");
    change.close();
  });
  afterAll(() => s.fleet.close());

  it('the payload is the plain database; the manifest says so', () => {
    const manifest = s.repo.readManifest(good);
    expect(manifest.cipher).toBe('none');
    expect(manifest.dataKey).toBeUndefined();
    expect(manifest.storedBytes).toBe(manifest.originalBytes);
    expect(fs.readFileSync(payloadOf(s.repo, good)).includes('MARK-row-two')).toBe(true);
  });

  it('only the SHA-256 tells a flipped byte: read-data fails naming the file, the good backup passes', async () => {
    const bad = await verifyBackup(s.fleet, s.repo, tampered, { level: 'read-data' });
    expect(bad.ok).toBe(false);
    expect(bad.problems.join(' ')).toContain(path.basename(payloadOf(s.repo, tampered)));
    expect((await verifyBackup(s.fleet, s.repo, good, { level: 'read-data' })).ok).toBe(true);
  });

  it('restoring the tampered backup over the database (confirmed) exits 65: live file byte for byte as it was, nothing moved aside', async () => {
    const before = files(s.data);
    const bytes = fs.readFileSync(s.live);
    const error = await refusal(restoreBackup(s.fleet, s.repo, { id: tampered, to: 'lite', database: 'app', confirm: 'app' }));
    expect(error.code).toBe('BAD_DATA');
    expect(error.exitCode).toBe(65);
    expect(fs.readFileSync(s.live).equals(bytes)).toBe(true);
    expect(files(s.data)).toEqual(before);
    const intoNew = await refusal(restoreBackup(s.fleet, s.repo, { id: tampered, to: 'lite', database: 'fresh' }));
    expect(intoNew.exitCode).toBe(65);
    expect(files(s.data)).toEqual(before);
  });

  it('the good backup restores over it with the exact name: the backed-up rows, the replaced ones aside', async () => {
    const replaced = rows(s.live);
    const outcome = await restoreBackup(s.fleet, s.repo, { id: good, to: 'lite', database: 'app', confirm: 'app' });
    expect(
      rows(s.live)
        .split(',')
        .map((row) => row.split(':')[1]),
    ).toEqual(['first', 'MARK-row-two', 'third']);
    expect(rows(path.join(s.data, `${outcome.previous}.db`))).toBe(replaced);
  });

  it('refuses a restore into a store of another engine (64), and an empty database still needs confirmation', async () => {
    const empty = new Sqlite(path.join(s.data, 'empty.db'));
    empty.exec('select 1');
    empty.close();
    const target = await restoreTarget(s.fleet, s.repo, { id: good, to: 'lite', database: 'empty' });
    expect(target.state).toBe('empty');
    const error = await refusal(restoreBackup(s.fleet, s.repo, { id: good, to: 'lite', database: 'empty' }));
    expect(error.code).toBe('CONFIRMATION_REQUIRED');
    expect(error.message).toContain('exists');
    expect(fs.statSync(path.join(s.data, 'empty.db')).size).toBe(0);
  });
});

describe('backup engine: failures leave nothing that looks complete', () => {
  it('a dump that fails after writing part of its payload: the run fails, no backup directory, no lock, no scratch; backupsOutcome names it', async () => {
    const s = await setup({ encryption: { enabled: false } });
    const good = (await createBackup(s.fleet, s.repo, 'lite')).id;
    const tenant = { name: 't', database: 'app', createdAt: new Date().toISOString(), ledger: [] } as unknown as BackedUpTenant;
    const scope = {
      tenant,
      dump: async (context: DumpContext): Promise<DumpResult> => {
        fs.writeFileSync(path.join(context.dir, 'payload.sqlite'), 'half a payload');
        throw new Error('the dump tool exited 1 after writing part of its output');
      },
    };
    const error = await refusal(createBackup(s.fleet, s.repo, 'lite', { scope }));
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain('exited 1');
    expect(fs.readdirSync(s.repo.backupsDir)).toEqual([good]);
    expect(s.repo.list().map((entry) => entry.status)).toEqual(['complete']);
    expect(s.repo.lockedStores().size).toBe(0);
    expect(fs.readdirSync(s.repo.locksDir).filter((name) => name.endsWith('.lock'))).toEqual([]);
    expect(fs.readdirSync(s.repo.tmpDir)).toEqual([]);
    const outcomes = await createBackups(s.fleet, s.repo, [s.fleet.store('lite')], { verify: 'read-data', scope }, () => ({
      step: () => () => undefined,
      warn: () => undefined,
    }));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0].ok).toBe(false);
    expect(outcomes[0].backup).toBeUndefined();
    expect(outcomes[0].error?.message).toContain('exited 1');
    const failure = backupsOutcome(outcomes);
    expect(failure).toBeInstanceOf(StorageError);
    expect(failure!.exitCode).toBe(1);
    expect(failure!.message).toContain('exited 1');
    expect(fs.readdirSync(s.repo.backupsDir)).toEqual([good]);
    await s.fleet.close();
  });

  it('createBackups with verification: a good run is ok with its backup; backupsOutcome is undefined', async () => {
    const s = await setup({ encryption: { enabled: false } });
    const outcomes = await createBackups(s.fleet, s.repo, [s.fleet.store('lite')], { verify: 'read-data' }, () => ({
      step: () => () => undefined,
      warn: () => undefined,
    }));
    expect(outcomes).toMatchObject([{ store: 'lite', ok: true }]);
    expect(s.repo.readVerification(outcomes[0].backup!.id)).toMatchObject({ ok: true, level: 'read-data' });
    expect(backupsOutcome(outcomes)).toBeUndefined();
    await s.fleet.close();
  });

  it('an incomplete directory an earlier run left is swept by the next create; a dead run’s scratch too', async () => {
    const s = await setup({ encryption: { enabled: false } });
    const leftover = s.repo.newBackupId('lite', new Date(Date.now() - 60_000));
    fs.mkdirSync(s.repo.backupDir(leftover), { recursive: true });
    fs.writeFileSync(path.join(s.repo.backupDir(leftover), 'payload.part'), 'x');
    const otherStore = s.repo.newBackupId('other', new Date(Date.now() - 60_000));
    fs.mkdirSync(s.repo.backupDir(otherStore), { recursive: true });
    fs.mkdirSync(path.join(s.repo.tmpDir, 'restore-x-999999999-abc'), { recursive: true });
    const id = (await createBackup(s.fleet, s.repo, 'lite')).id;
    expect(files(s.repo.backupsDir)).toEqual([id, otherStore].sort());
    expect(fs.readdirSync(s.repo.tmpDir)).toEqual([]);
    await s.fleet.close();
  });

  it('a run that fails before its scratch exists (tmp/ is a file) reports that failure and frees the lock', async () => {
    const s = await setup({ encryption: { enabled: false } });
    fs.rmSync(s.repo.tmpDir, { recursive: true, force: true });
    fs.writeFileSync(s.repo.tmpDir, 'not a directory');
    const error = await refusal(createBackup(s.fleet, s.repo, 'lite'));
    expect(error.code).toBe('FAILED');
    expect(error.message).toContain(s.repo.root);
    expect(fs.readdirSync(s.repo.locksDir).filter((name) => name.endsWith('.lock'))).toEqual([]);
    expect(fs.readdirSync(s.repo.backupsDir)).toEqual([]);
    await s.fleet.close();
  });

  it('a caller that holds the store’s lock (locked: true) gets its backup, and its lock stays', async () => {
    const s = await setup({ encryption: { enabled: false } });
    const lock = StoreLock.acquire(s.repo.locksDir, 'lite', 'storage tenant drop');
    try {
      const sealed = await createBackup(s.fleet, s.repo, 'lite', { locked: true });
      expect(s.repo.readManifest(sealed.id)).toEqual(sealed);
      expect(StoreLock.liveHolder(s.repo.locksDir, 'lite')).toMatchObject({ pid: process.pid, command: 'storage tenant drop' });
    } finally {
      lock.release();
    }
    await s.fleet.close();
  });
});

describe('backup engine: what a killed restore left is settled by the next restore', () => {
  const deadPid = 2 ** 22 + 12345;

  it('a staging copy of a dead restore is dropped (the live database untouched); a dead swap with the database gone is finished', async () => {
    const s = await setup({ encryption: { enabled: false } });
    const id = (await createBackup(s.fleet, s.repo, 'lite')).id;
    const original = rows(s.live);
    // A dead restore that was still staging: its staging file is garbage.
    fs.copyFileSync(s.live, path.join(s.data, 'app__restoring_1.db'));
    const staging = writeJournal({
      store: 'lite',
      engine: 'sqlite',
      backup: id,
      database: 'app',
      staged: 'app__restoring_1',
      phase: 'staging',
      startedAt: new Date().toISOString(),
      command: 'test',
    });
    fs.writeFileSync(path.join(journalDir(), 'lite', 'app__restoring_1.json'), JSON.stringify({ ...staging, pid: deadPid }));
    // A dead restore killed mid-swap: the database was moved aside, the complete staged copy not yet renamed.
    makeDb(path.join(s.data, 'other__restoring_2.db'), ['staged-complete']);
    const swapping = writeJournal({
      store: 'lite',
      engine: 'sqlite',
      backup: id,
      database: 'other',
      staged: 'other__restoring_2',
      phase: 'swapping',
      startedAt: new Date().toISOString(),
      command: 'test',
    });
    fs.writeFileSync(path.join(journalDir(), 'lite', 'other__restoring_2.json'), JSON.stringify({ ...swapping, pid: deadPid }));
    const warnings: string[] = [];
    const done = await settleInterruptedBackupRestores(s.fleet, 'lite', (message) => warnings.push(message));
    expect(done).toHaveLength(2);
    expect(warnings).toHaveLength(2);
    expect(files(s.data)).toEqual(['app.db', 'other.db']);
    expect(rows(s.live)).toBe(original);
    expect(rows(path.join(s.data, 'other.db')).split(':')[1]).toBe('staged-complete');
    expect(listJournal('lite')).toEqual([]);
    // A journal entry of a live run (this process) is left alone.
    writeJournal({
      store: 'lite',
      engine: 'sqlite',
      backup: id,
      database: 'app',
      staged: 'app__restoring_3',
      phase: 'staging',
      startedAt: new Date().toISOString(),
      command: 'test',
    });
    expect(await settleInterruptedBackupRestores(s.fleet, 'lite')).toEqual([]);
    expect(listJournal('lite')).toHaveLength(1);
    fs.rmSync(path.join(journalDir(), 'lite'), { recursive: true, force: true });
    await s.fleet.close();
  });

  it('a dead swap whose database is still there drops the staged copy, never replacing the live database', async () => {
    const s = await setup({ encryption: { enabled: false } });
    const id = (await createBackup(s.fleet, s.repo, 'lite')).id;
    const original = rows(s.live);
    makeDb(path.join(s.data, 'app__restoring_4.db'), ['staged']);
    const entry = writeJournal({
      store: 'lite',
      engine: 'sqlite',
      backup: id,
      database: 'app',
      staged: 'app__restoring_4',
      phase: 'swapping',
      startedAt: new Date().toISOString(),
      command: 'test',
    });
    fs.writeFileSync(path.join(journalDir(), 'lite', 'app__restoring_4.json'), JSON.stringify({ ...entry, pid: deadPid }));
    // The next restore settles it before doing its own work.
    const outcome = await restoreBackup(s.fleet, s.repo, { id, to: 'lite', database: 'fresh' });
    expect(outcome.database).toBe('fresh');
    expect(files(s.data)).toEqual(['app.db', 'fresh.db']);
    expect(rows(s.live)).toBe(original);
    expect(listJournal('lite')).toEqual([]);
    await s.fleet.close();
  });
});
