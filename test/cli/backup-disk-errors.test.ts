// A full or read-only repository disk (a tmpfs or a read-only bind mount in a private mount
// namespace): reported as the file-system error it is, with the path, never as a server's
// rejection; a verify that cannot record its result still reports the data as good.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupIds, createBackup, makeSqlite, repoSandbox, runWithMounts } from '../support/repository.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

const FULL_BACKUPS_DIR = 'mount -t tmpfs -o size=64k tmpfs repo/backups';

describe('repository disk errors', () => {
  const database = uniqueName('bk_disk');

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${database}`));
    await pgAdmin((client) => client.query('create table t as select g, md5(g::text) as h from generate_series(1, 20000) g'), pgUrlFor(database));
  });

  afterAll(async () => {
    await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
  });

  it('a full repository disk is ENOSPC naming the file, not a server rejecting the request (SQLite and PostgreSQL)', async () => {
    const sandbox = repoSandbox([]);
    makeSqlite(path.join(sandbox.dir, 'data', 'lite.db'), 40, 16_384);
    sandbox.writeConfig({
      stores: { lite: { engine: 'sqlite', path: 'data/lite.db' }, main: { engine: 'postgres', url: pgUrlFor(database) } },
      backup: { repository: './repo', encryption: { keyFile: 'backup.key' } },
    });
    const first = await createBackup(sandbox, 'lite');
    for (const store of ['lite', 'main']) {
      const run = await runWithMounts(sandbox, [FULL_BACKUPS_DIR], ['backup', 'create', store, '--json']);
      expect(run.exitCode, `${store}: ${run.stderr}`).toBe(1);
      const error = run.json().stores[0].error;
      expect(error.code, store).toBe('FAILED');
      expect(error.message).toMatch(/no space left on the device \(ENOSPC\)/);
      expect(error.message).toContain(path.join(sandbox.repo, 'backups', ''));
      expect(error.hint).toMatch(/disk is full/);
      expect(`${error.message} ${error.hint}`).not.toMatch(/server rejected|QUERY_FAILED/);
      const human = await runWithMounts(sandbox, [FULL_BACKUPS_DIR], ['backup', 'create', store]);
      expect(human.stderr).toMatch(/Cannot write .*repo\/backups\/.*: no space left on the device/);
    }
    expect(backupIds(sandbox.repo)).toEqual([first]);
    // SQLite's backup reads the snapshot's pages in one pass, with no copy in the repository's
    // scratch (it used to write one there first): a full scratch no longer stops it.
    const scratchFull = await runWithMounts(sandbox, ['mount -t tmpfs -o size=64k tmpfs repo/tmp'], ['backup', 'create', 'lite', '--json']);
    expect(scratchFull.exitCode, scratchFull.stderr).toBe(0);
    expect(backupIds(sandbox.repo)).toHaveLength(2);
    expect(backupIds(sandbox.repo)).toContain(first);
  });

  it('verify --read-data on a read-only repository checks everything and exits 0, warning that the result was not recorded', async () => {
    const sandbox = repoSandbox(['lite']);
    const id = await createBackup(sandbox, 'lite');
    const readOnly = ['mount --bind repo repo', 'mount -o remount,bind,ro repo'];
    const run = await runWithMounts(sandbox, readOnly, ['backup', 'verify', id, '--read-data', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json().results[0]).toMatchObject({ ok: true, level: 'read-data', recorded: false });
    expect(run.stderr).toMatch(/not recorded in .*verified\.json.*read-only.*the check itself passed/);
    const human = await runWithMounts(sandbox, readOnly, ['backup', 'verify', id, '--read-data']);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/ok/);
  });
});
