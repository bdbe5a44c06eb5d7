// backup create dumps while the repository's key is unlocked (scrypt, ~0.3 s of a core): the
// payload is encrypted with the backup's own random data key, and only the manifest needs the
// repository's key. These tests hold the unlock open by hand: a backup waits for it before it
// looks complete, and a key that does not unlock stops a dump that is still running (a pg_dump
// blocked on a locked table here), removes its directory, and is what the run fails with.
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/engine/backup/create.js';
import { openRepository } from '../../src/engine/backup/open.js';
import { verifyBackup } from '../../src/engine/backup/verify.js';
import type { DumpContext } from '../../src/engine/engines/spec.js';
import { sqliteBackup } from '../../src/engine/engines/sqlite/backup.js';
import { StorageError } from '../../src/engine/errors.js';
import type { Fleet } from '../../src/engine/fleet.js';
import type { BackupRepository, OpeningRepository } from '../../src/engine/repository/repository.js';
import { StoreLock } from '../../src/engine/store-lock.js';
import { fleetFor } from '../support/fleet.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-key-unlock-'));
const savedEnv = { ...process.env };
const database = uniqueName('key_unlock');
let fleet: Fleet;
let repo: BackupRepository;

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => ((resolve = yes), (reject = no)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** The repository as `backup create` sees it while its key is being unlocked; the test settles the unlock. */
function unlocking() {
  const unlock = deferred<BackupRepository>();
  const opening: OpeningRepository = { layout: repo, encrypted: true, unlocked: unlock.promise };
  return { opening, unlock };
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const entriesOf = (store: string) => fs.readdirSync(repo.backupsDir).filter((id) => id.includes(`-${store}-`));

beforeAll(async () => {
  process.env.XDG_DATA_HOME = path.join(home, 'xdg-data');
  process.env.XDG_CONFIG_HOME = path.join(home, 'xdg-config');
  const file = path.join(home, 'lite.db');
  const db = new Sqlite(file);
  db.exec('create table events (id integer primary key, note text)');
  for (let i = 0; i < 500; i++) db.prepare('insert into events (note) values (?)').run(`note ${i}`);
  db.close();
  await pgAdmin((client) => client.query(`create database ${database}`));
  await pgAdmin((client) => client.query('create table held (id int primary key); insert into held select generate_series(1, 100)'), pgUrlFor(database));
  fleet = await fleetFor({
    stores: {
      lite: { engine: 'sqlite', path: file },
      pg: { engine: 'postgres', url: pgUrlFor(database), statementTimeout: '10m' },
    },
    backup: { repository: path.join(home, 'repo') },
  });
  repo = await openRepository(fleet, undefined, { create: true, env: {} });
});

afterAll(async () => {
  await fleet.close();
  await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
  process.env = savedEnv;
  fs.rmSync(home, { recursive: true, force: true });
});

describe('backup create while the repository key is unlocked', () => {
  it('the dump runs before the key is unlocked, the backup is complete only after, and reads back with the key', async () => {
    const { opening, unlock } = unlocking();
    let dumped = false;
    const run = createBackup(fleet, opening, 'lite', {
      scope: {
        tenant: { name: 't1', container: 'lite', status: 'active', createdAt: '2026-01-01T00:00:00.000Z', ledger: [] } as never,
        dump: async (context: DumpContext) => {
          const result = await sqliteBackup.dump(context as DumpContext<never>);
          dumped = true;
          return result;
        },
      },
    });
    await until('the dump to finish', () => dumped);
    const [id] = entriesOf('lite');
    // The payload is written, but nothing looks complete until the key has wrapped its data key.
    expect(fs.readdirSync(repo.backupDir(id)).some((name) => name.startsWith('payload.'))).toBe(true);
    expect(fs.existsSync(path.join(repo.backupDir(id), 'manifest.json'))).toBe(false);
    unlock.resolve(repo);
    const backup = await run;
    expect(backup.id).toBe(id);
    expect(backup.cipher).toBe('aes-256-gcm-chunked');
    const check = await verifyBackup(fleet, repo, id, { level: 'read-data' });
    expect(check.problems).toEqual([]);
    expect(check.ok).toBe(true);
  });

  it('a key that does not unlock stops a running pg_dump, removes its directory and lock, and is the failure', async () => {
    const holder = new pg.Client({ connectionString: pgUrlFor(database) });
    await holder.connect();
    try {
      // pg_dump waits for this lock (up to the store's 10 minutes) once it has started.
      await holder.query('begin; lock table held in access exclusive mode');
      const { opening, unlock } = unlocking();
      const run = createBackup(fleet, opening, 'pg');
      const outcome = run.then(
        () => 'completed',
        (error: unknown) => error,
      );
      // Asked on connections of their own: inside the holder's transaction pg_stat_activity would not change.
      const waiting = async () =>
        (
          await pgAdmin((client) =>
            client.query("select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'pg_dump' and wait_event_type = 'Lock'", [
              database,
            ]),
          )
        ).rows[0].n > 0;
      await until('pg_dump to wait for the lock', waiting);
      const wrongKey = new StorageError('BAD_DATA', 'Cannot open the backup repository with the passphrase: wrong key or passphrase.');
      unlock.reject(wrongKey);
      // Without the stop the run would wait out the lock (10 minutes) and the test would time out.
      expect(await outcome).toBe(wrongKey);
      // pg_dump is gone, and nothing of the run (its counts' query either) is left waiting on the lock.
      const left = async () =>
        (
          await pgAdmin((client) =>
            client.query("select count(*)::int as n from pg_stat_activity where datname = $1 and (application_name = 'pg_dump' or wait_event_type = 'Lock')", [
              database,
            ]),
          )
        ).rows[0].n;
      await until('the run to leave nothing behind on the server', async () => (await left()) === 0);
      expect(entriesOf('pg')).toEqual([]);
      expect(StoreLock.liveHolder(repo.locksDir, 'pg')).toBeFalsy();
      expect(fs.readdirSync(repo.tmpDir)).toEqual([]);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await holder.end();
    }
  });
});
