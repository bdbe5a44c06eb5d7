// More of backup create and verify, in-process (see backup-engine.test.ts for why): what the
// manifest records of the dump (tags, server, jobs, tenant, estimated counts), the options that
// reach the dump (jobs, row counts, the lock's command, warnings), several stores at once (two at
// a time, a verification failure, the partial outcome), --jobs refused for engines that cannot
// dump in parallel, a verification result that cannot be recorded, and a scratch database whose
// drop fails (it stays journalled).
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { backupsOutcome, checkParallelDump, createBackup, createBackups } from '../../src/engine/backup/create.js';
import { openRepository } from '../../src/engine/backup/open.js';
import { settleInterruptedBackupRestores } from '../../src/engine/backup/restore.js';
import { verifyBackup } from '../../src/engine/backup/verify.js';
import type { BackedUpTenant, DumpContext, DumpResult } from '../../src/engine/engines/spec.js';
import { sqliteBackup } from '../../src/engine/engines/sqlite/backup.js';
import { StorageError } from '../../src/engine/errors.js';
import type { Fleet } from '../../src/engine/fleet.js';
import type { Progress } from '../../src/engine/progress.js';
import { journalDir, listJournal } from '../../src/engine/restore-journal.js';
import type { BackupRepository } from '../../src/engine/repository/repository.js';
import { fleetFor } from '../support/fleet.js';
import { refusal } from '../support/refusal.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-create-checks-'));
const savedEnv = { ...process.env };
const data = path.join(home, 'data');
let fleet: Fleet;
let repo: BackupRepository;

function makeDb(file: string, notes: string[]): void {
  const db = new Sqlite(file);
  db.exec('create table events (id integer primary key, note text)');
  for (const note of notes) db.prepare('insert into events (note) values (?)').run(note);
  db.close();
}

const tenant = { name: 't1', container: 'app', status: 'active', createdAt: '2026-01-01T00:00:00.000Z', ledger: [] } as unknown as BackedUpTenant;

/** A scope whose dump is the engine's own, with `around` seeing the context and changing the result. */
function scoped(around: (context: DumpContext, result: DumpResult) => DumpResult | Promise<DumpResult> = (_c, result) => result) {
  return {
    tenant,
    dump: async (context: DumpContext) => around(context, await sqliteBackup.dump(context as DumpContext<never>)),
  };
}

beforeAll(async () => {
  process.env.XDG_DATA_HOME = path.join(home, 'xdg-data');
  process.env.XDG_CONFIG_HOME = path.join(home, 'xdg-config');
  fs.mkdirSync(data);
  for (const name of ['a', 'b', 'c']) makeDb(path.join(data, `${name}.db`), [`${name}1`, `${name}2`]);
  fleet = await fleetFor({
    stores: {
      a: { engine: 'sqlite', path: path.join(data, 'a.db') },
      b: { engine: 'sqlite', path: path.join(data, 'b.db') },
      c: { engine: 'sqlite', path: path.join(data, 'c.db') },
      pg: { engine: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/postgres' },
    },
    backup: { repository: path.join(home, 'repo'), encryption: { enabled: false }, compression: 'none', rowCounts: 'estimate' },
  });
  repo = await openRepository(fleet, undefined, { create: true, env: {} });
});

afterEach(() => vi.restoreAllMocks());

afterAll(async () => {
  await fleet.close();
  process.env = savedEnv;
  fs.rmSync(home, { recursive: true, force: true });
});

describe('what a backup records, and what reaches its dump', () => {
  it('no tags: an empty list; the server version and dump tool; the dump’s jobs; the tenant of a scoped backup', async () => {
    const plain = await createBackup(fleet, repo, 'a');
    expect(plain.tags).toEqual([]);
    expect(plain.server).toEqual({ version: expect.stringMatching(/^3\.\d+/) });
    expect(plain.jobs).toBeUndefined();
    expect(plain.tenant).toBeUndefined();
    const scopedBackup = await createBackup(fleet, repo, 'a', {
      scope: scoped((_context, result) => ({ ...result, jobs: 3, dumpTool: 'sqlite-backup-api 1' })),
    });
    expect(scopedBackup.jobs).toBe(3);
    expect(scopedBackup.server).toEqual({ version: plain.server.version, dumpTool: 'sqlite-backup-api 1' });
    expect(scopedBackup.tenant).toEqual(tenant);
    expect(repo.readManifest(scopedBackup.id)).toMatchObject({ jobs: 3, tenant, server: { dumpTool: 'sqlite-backup-api 1' } });
  });

  it('the dump is given --jobs only when asked, the configured row counts, and runs under a lock naming the command', async () => {
    const seen: Array<{ jobs: unknown; hasJobs: boolean; rowCounts: unknown; lockCommand: string }> = [];
    const record = scoped((context, result) => {
      seen.push({
        jobs: context.jobs,
        hasJobs: 'jobs' in context,
        rowCounts: context.rowCounts,
        lockCommand: JSON.parse(fs.readFileSync(path.join(repo.locksDir, 'a.lock'), 'utf8')).command,
      });
      return result;
    });
    await createBackup(fleet, repo, 'a', { scope: record });
    await createBackup(fleet, repo, 'a', { scope: record, jobs: 4, command: 'storage backup create a --jobs 4' });
    expect(seen).toEqual([
      { jobs: undefined, hasJobs: false, rowCounts: 'estimate', lockCommand: 'storage backup create' },
      { jobs: 4, hasJobs: true, rowCounts: 'estimate', lockCommand: 'storage backup create a --jobs 4' },
    ]);
  });

  it('a stale lock is broken with a warning through the run’s progress', async () => {
    const now = new Date().toISOString();
    const dead = 2 ** 22 + 777;
    fs.writeFileSync(
      path.join(repo.locksDir, 'b.lock'),
      JSON.stringify({ pid: dead, host: os.hostname(), command: 'killed', startedAt: now, heartbeatAt: now }),
    );
    const warnings: string[] = [];
    const progress: Progress = { step: () => () => undefined, warn: (message) => warnings.push(message) };
    await createBackup(fleet, repo, 'b', {}, progress);
    expect(warnings).toEqual([`Breaking a stale lock on store "b" (killed, pid ${dead}): process ${dead} on ${os.hostname()} is gone.`]);
  });

  it('a file-system error of the dump is reported as one, with the repository; nothing is left', async () => {
    const before = fs.readdirSync(repo.backupsDir).sort();
    const error = await refusal(
      createBackup(fleet, repo, 'a', {
        scope: {
          tenant,
          dump: async (context) => {
            fs.writeFileSync(path.join(context.dir, 'no-such-dir', 'payload'), 'x');
            throw new Error('not reached');
          },
        },
      }),
    );
    expect(error.code).toBe('FAILED');
    expect(error.message).toMatch(/^Cannot open .*no-such-dir\/payload: /);
    expect(error.details).toMatchObject({ errno: 'ENOENT' });
    expect(fs.readdirSync(repo.backupsDir).sort()).toEqual(before);
    // Any other failure is the store's, not a file-system error of the repository.
    const other = await refusal(
      createBackup(fleet, repo, 'a', {
        scope: {
          tenant,
          dump: async () => {
            throw new Error('the dump tool exited 1');
          },
        },
      }),
    );
    expect(other.message).toContain('the dump tool exited 1');
    expect(other.message).not.toMatch(/^Cannot /);
    expect(other.details?.errno).toBeUndefined();
    expect(fs.readdirSync(repo.backupsDir).sort()).toEqual(before);
  });
});

describe('defaults and failures without a path', () => {
  it('a config without a backup section: the repository in the user data dir, zstd, a key made for it', async () => {
    const bare = await fleetFor({ stores: { a: { engine: 'sqlite', path: path.join(data, 'a.db') } } });
    try {
      const defaultRepo = await openRepository(bare, undefined, { create: true, env: {} });
      expect(defaultRepo.root).toBe(path.join(process.env.XDG_DATA_HOME!, 'storage', 'backups'));
      const manifest = await createBackup(bare, defaultRepo, 'a');
      expect(manifest.files[0].compression).toBe('zstd');
      expect(manifest.cipher).toBe('aes-256-gcm-chunked');
      expect(manifest.rowCounts).toBeUndefined();
    } finally {
      await bare.close();
    }
  });

  it('a write error that names no file (a full disk under a stream): reported against the backup repository', async () => {
    const error = await refusal(
      createBackup(fleet, repo, 'a', {
        scope: {
          tenant,
          dump: async () => {
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
          },
        },
      }),
    );
    expect(error.code).toBe('FAILED');
    expect(error.message).toMatch(new RegExp(`^Cannot write the backup repository ${repo.root}: `));
  });
});

describe('several stores at once', () => {
  it('two dumps at a time (of three stores); every outcome reported as it ends; nothing verified unless asked', async () => {
    let running = 0;
    let most = 0;
    const slow = scoped(async (_context, result) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 150));
      running--;
      return result;
    });
    const reported: string[] = [];
    const stores = ['a', 'b', 'c'].map((name) => fleet.store(name));
    const outcomes = await createBackups(fleet, repo, stores, { scope: slow, onOutcome: (outcome) => reported.push(outcome.store) }, () => ({
      step: () => () => undefined,
      warn: () => undefined,
    }));
    expect(most).toBe(2);
    expect(reported.sort()).toEqual(['a', 'b', 'c']);
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true, true]);
    for (const outcome of outcomes) expect(repo.readVerification(outcome.backup!.id)).toBeUndefined();
  });

  it('a backup that fails its verification: BAD_DATA naming it and the problem, the backup kept for inspection; with a good one, PARTIAL (exit 2) naming the store', async () => {
    const corrupting = scoped((context, result) => {
      if (context.store.name === 'b') {
        const file = path.join(context.dir, result.files[0].name);
        const bytes = fs.readFileSync(file);
        bytes[bytes.length - 100] ^= 0xff;
        fs.writeFileSync(file, bytes);
      }
      return result;
    });
    const outcomes = await createBackups(fleet, repo, [fleet.store('a'), fleet.store('b')], { scope: corrupting, verify: 'read-data' }, () => ({
      step: () => () => undefined,
      warn: () => undefined,
    }));
    expect(outcomes[0]).toMatchObject({ store: 'a', ok: true });
    const bad = outcomes[1];
    expect(bad).toMatchObject({ store: 'b', ok: false, error: { code: 'BAD_DATA', hint: 'Check the disk of the repository; take a new backup.' } });
    expect(bad.backup?.id).toBeDefined();
    expect(bad.error?.message).toMatch(new RegExp(`^Backup ${bad.backup!.id} failed verification: .*${bad.backup!.files[0].name}`));
    expect(repo.readVerification(bad.backup!.id)).toMatchObject({ ok: false, level: 'read-data' });
    const failure = backupsOutcome(outcomes);
    expect(failure?.code).toBe('PARTIAL');
    expect(failure?.exitCode).toBe(2);
    expect(failure?.message).toBe(`1 of 2 backups failed: b (${bad.error!.message})`);
  });
});

describe('--jobs is refused for engines that cannot dump in parallel, before any work', () => {
  it('one SQLite store: "is"; two: "are"; PostgreSQL stores and --jobs 1 or none pass', async () => {
    const one = await refusal(checkParallelDump(fleet, [fleet.store('pg'), fleet.store('a')], 2));
    expect(one.code).toBe('USAGE');
    expect(one.message).toBe('--jobs dumps PostgreSQL stores in parallel; a (sqlite) is not PostgreSQL.');
    expect(one.hint).toBe('Drop --jobs for SQLite and MongoDB stores, or name only the PostgreSQL stores to back up with --jobs.');
    const two = await refusal(checkParallelDump(fleet, [fleet.store('a'), fleet.store('b')], 8));
    expect(two.message).toBe('--jobs dumps PostgreSQL stores in parallel; a (sqlite), b (sqlite) are not PostgreSQL.');
    await expect(checkParallelDump(fleet, [fleet.store('pg')], 4)).resolves.toBeUndefined();
    await expect(checkParallelDump(fleet, [fleet.store('a')], 1)).resolves.toBeUndefined();
    await expect(checkParallelDump(fleet, [fleet.store('a')], 0)).resolves.toBeUndefined();
    await expect(checkParallelDump(fleet, [fleet.store('a')], undefined)).resolves.toBeUndefined();
  });
});

describe('verification edges', () => {
  it('a result that cannot be recorded (read-only repository): the check stands, recorded false, a warning; any other error is thrown', async () => {
    const { id } = await createBackup(fleet, repo, 'c');
    vi.spyOn(repo, 'recordVerification').mockImplementation(() => {
      throw Object.assign(new Error('EROFS: read-only file system, open'), {
        code: 'EROFS',
        syscall: 'open',
        path: path.join(repo.backupDir(id), 'verified.json'),
      });
    });
    const warnings: string[] = [];
    const result = await verifyBackup(fleet, repo, id, { level: 'files' }, { step: () => () => undefined, warn: (message) => warnings.push(message) });
    expect(result).toMatchObject({ id, store: 'c', ok: true, recorded: false });
    expect(result.warning).toMatch(/^The result was not recorded in .*verified\.json: .*; the check itself passed\.$/);
    expect(warnings).toEqual([result.warning]);
    vi.spyOn(repo, 'recordVerification').mockImplementation(() => {
      throw new TypeError('a bug');
    });
    await expect(verifyBackup(fleet, repo, id, { level: 'files' })).rejects.toThrow('a bug');
  });

  it('a restore test that fails for another reason than bad data is that failure, not a failed verification', async () => {
    const { id } = await createBackup(fleet, repo, 'c');
    vi.spyOn(sqliteBackup, 'restore').mockRejectedValueOnce(new StorageError('IN_USE', 'the scratch database is in use'));
    expect((await refusal(verifyBackup(fleet, repo, id, { level: 'restore-test' }))).code).toBe('IN_USE');
    vi.spyOn(sqliteBackup, 'restore').mockRejectedValueOnce(new TypeError('a bug'));
    await expect(verifyBackup(fleet, repo, id, { level: 'restore-test' })).rejects.toThrow('a bug');
    expect(repo.readVerification(id)).toBeUndefined();
    expect(listJournal('c')).toEqual([]);
  });

  it('a manifest that cannot be read still names the store (from the id)', async () => {
    const { id } = await createBackup(fleet, repo, 'c');
    fs.writeFileSync(path.join(repo.backupDir(id), 'manifest.json'), '{"edited": true}');
    const result = await verifyBackup(fleet, repo, id, { level: 'files' });
    expect(result).toMatchObject({ id, store: 'c', ok: false });
  });

  it('a truncated payload at the restore-test level: the size problem alone, no restore attempted', async () => {
    const { id, files } = await createBackup(fleet, repo, 'c');
    const payload = path.join(repo.backupDir(id), files[0].name);
    fs.truncateSync(payload, 10);
    const before = fs.readdirSync(data).sort();
    const steps: string[] = [];
    const result = await verifyBackup(
      fleet,
      repo,
      id,
      { level: 'restore-test' },
      { step: (title) => (steps.push(title), () => undefined), warn: () => undefined },
    );
    expect(result.problems).toEqual([`${files[0].name} has 10 bytes, the manifest says ${files[0].bytes}`]);
    expect(steps).toEqual(['check the manifest and files']);
    expect(fs.readdirSync(data).sort()).toEqual(before);
  });

  it('estimated row counts: a restore test compares the tables, not the rows', async () => {
    const { id } = await createBackup(fleet, repo, 'c', { scope: scoped((_context, result) => ({ ...result, counts: { events: 5 }, rowCounts: 'estimate' })) });
    expect(repo.readManifest(id).rowCounts).toBe('estimate');
    expect(await verifyBackup(fleet, repo, id, { level: 'restore-test' })).toMatchObject({ ok: true, problems: [] });
    const missing = await createBackup(fleet, repo, 'c', {
      scope: scoped((_context, result) => ({ ...result, counts: { events: 5, gone: 7 }, rowCounts: 'estimate' })),
    });
    expect((await verifyBackup(fleet, repo, missing.id, { level: 'restore-test' })).problems).toEqual([
      'gone: missing after the restore, backed up with 7 rows (estimated)',
    ]);
  });

  it('a restore test whose scratch database cannot be dropped leaves it journalled; the next restore of the store drops it', async () => {
    const { id } = await createBackup(fleet, repo, 'c');
    vi.spyOn(sqliteBackup, 'drop').mockRejectedValueOnce(new Error('the drop failed'));
    expect(await verifyBackup(fleet, repo, id, { level: 'restore-test' })).toMatchObject({ ok: true });
    const left = listJournal('c');
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ scratch: true, database: expect.stringMatching(/^storage_verify_/) });
    expect(fs.existsSync(path.join(data, `${left[0].database}.db`))).toBe(true);
    // Our own pid is alive, so only once this run is "gone" would another settle it: settle it as the next run would.
    fs.writeFileSync(path.join(journalDir(), 'c', `${left[0].staged}.json`), JSON.stringify({ ...left[0], pid: 2 ** 22 + 99 }));
    const done = await settleInterruptedBackupRestores(fleet, 'c');
    expect(done).toEqual([{ backup: id, what: `dropped ${left[0].database}, left by an interrupted restore test` }]);
    expect(fs.existsSync(path.join(data, `${left[0].database}.db`))).toBe(false);
    expect(listJournal('c')).toEqual([]);
  });
});
