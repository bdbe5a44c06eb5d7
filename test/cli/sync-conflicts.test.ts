// Conflicts between real stores (a SQLite file and the PostgreSQL server, both directions): a row
// changed on both sides since the last run is found and handled by the job's policy — manual keeps
// the target's version and records both for `sync conflicts resolve`, target-wins keeps the
// target's, newest-wins compares a column — while a row changed only at the source is copied and a
// row changed only at the target is kept. Resolving takes the chosen side, and later runs honour it.
import Sqlite from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

const database = uniqueName('sync_conflicts');
let sandbox: Sandbox;
let lite: Sqlite.Database;
let back: Sqlite.Database;

const pg = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  pgAdmin(async (client) => (await client.query(sql, params)).rows as T[], pgUrlFor(database));

function accounts(db: Sqlite.Database, table: string): void {
  db.exec(`create table ${table} (id integer primary key, owner text not null, balance integer not null, updated_at text not null)`);
  const insert = db.prepare(`insert into ${table} values (?, ?, ?, ?)`);
  for (let i = 1; i <= 50; i++) insert.run(i, `owner ${i}`, i * 10, '2026-01-01T00:00:00Z');
}

const balanceAt = async (table: string, id: number) => (await pg<{ balance: string }>(`select balance::text from ${table} where id = $1`, [id]))[0].balance;

beforeAll(async () => {
  await pgAdmin((client) => client.query(`create database ${database}`));
  sandbox = makeSandbox();
  lite = new Sqlite(path.join(sandbox.dir, 'lite.db'));
  lite.pragma('journal_mode = WAL');
  for (const table of ['manual', 'theirs', 'newest']) accounts(lite, table);
  back = new Sqlite(path.join(sandbox.dir, 'back.db'));
  back.pragma('journal_mode = WAL');
  sandbox.writeConfig({
    stores: { lite: { engine: 'sqlite', path: 'lite.db' }, main: { engine: 'postgres', url: pgUrlFor(database) }, back: { engine: 'sqlite', path: 'back.db' } },
    sync: {
      jobs: {
        manual: { from: { store: 'lite', table: 'manual' }, to: { store: 'main', table: 'manual' }, conflict: 'manual' },
        theirs: { from: { store: 'lite', table: 'theirs' }, to: { store: 'main', table: 'theirs' }, conflict: 'target-wins' },
        newest: { from: { store: 'lite', table: 'newest' }, to: { store: 'main', table: 'newest' }, conflict: { 'newest-wins': 'updated_at' } },
        back: { from: { store: 'main', table: 'manual' }, to: { store: 'back', table: 'manual' }, conflict: 'manual' },
      },
    },
  });
}, 120_000);

afterAll(async () => {
  lite?.close();
  back?.close();
  await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
});

describe('storage sync conflicts', () => {
  it('manual: a row changed on both sides is left as the target has it, listed with both versions, fails validate, and resolves either way', async () => {
    expect((await sandbox.run(['sync', 'run', 'manual'])).exitCode).toBe(0);
    lite.exec(`update manual set balance = 1001 where id = 1`); // both sides
    await pg(`update manual set balance = 2001 where id = 1`);
    await pg(`update manual set owner = 'renamed at the target' where id = 2`); // only the target
    lite.exec(`update manual set balance = 3003 where id = 3`); // only the source

    const run = await sandbox.run(['sync', 'run', 'manual', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json().conflicts).toMatchObject({ policy: 'manual', detected: 1, keptTarget: 1, pending: 1, targetOnly: 1 });
    expect(await balanceAt('manual', 1)).toBe('2001');
    expect((await pg<{ owner: string }>(`select owner from manual where id = 2`))[0].owner).toBe('renamed at the target');
    expect(await balanceAt('manual', 3)).toBe('3003');

    const list = await sandbox.run(['sync', 'conflicts', 'list', 'manual', '--json']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.json()).toMatchObject({
      job: 'manual',
      policy: 'manual',
      conflicts: [{ key: '1', differences: [{ column: 'balance', source: '1001', target: '2001' }] }],
    });
    expect(list.json().conflicts).toHaveLength(1);
    const shown = await sandbox.run(['sync', 'conflicts', 'list', 'manual']);
    expect(shown.stdout).toMatch(/1 row\(s\) changed on both sides/);
    expect(shown.stdout).toMatch(/balance\W+1001\W+2001/);

    // A second run neither overwrites nor duplicates the conflict.
    expect((await sandbox.run(['sync', 'run', 'manual'])).exitCode).toBe(0);
    expect(await balanceAt('manual', 1)).toBe('2001');
    expect((await sandbox.run(['sync', 'conflicts', 'list', 'manual', '--json'])).json().conflicts).toHaveLength(1);
    expect((await sandbox.run(['sync', 'status', 'manual', '--json'])).json().jobs[0].conflictsPending).toBe(1);
    const validate = await sandbox.run(['validate', '--suite', 'sync', '--json']);
    expect(validate.exitCode).toBe(3);
    expect(JSON.stringify(validate.json())).toMatch(/1 rows changed on both sides wait for a decision/);

    // An unknown key changes nothing.
    const unknown = await sandbox.run(['sync', 'conflicts', 'resolve', 'manual', '99', '--take', 'source']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/No pending conflict of "manual" has the key "99"/);
    expect(await balanceAt('manual', 1)).toBe('2001');

    const take = await sandbox.run(['sync', 'conflicts', 'resolve', 'manual', '1', '--take', 'source', '--json']);
    expect(take.exitCode, take.stderr).toBe(0);
    expect(take.json()).toMatchObject({ took: 'source', resolved: ['1'] });
    expect(await balanceAt('manual', 1)).toBe('1001');
    expect((await sandbox.run(['sync', 'conflicts', 'list', 'manual', '--json'])).json().conflicts).toEqual([]);
    expect((await sandbox.run(['validate', '--suite', 'sync'])).exitCode).toBe(0);

    // Taking the target: later runs keep it, until the source changes the row again.
    lite.exec(`update manual set balance = 1002 where id = 4`);
    await pg(`update manual set balance = 2002 where id = 4`);
    expect((await sandbox.run(['sync', 'run', 'manual'])).exitCode).toBe(0);
    expect((await sandbox.run(['sync', 'conflicts', 'resolve', 'manual', '--take', 'target'])).exitCode).toBe(0);
    expect((await sandbox.run(['sync', 'run', 'manual', '--json'])).json().conflicts).toMatchObject({ detected: 0, pending: 0 });
    expect(await balanceAt('manual', 4)).toBe('2002');
    lite.exec(`update manual set balance = 1003 where id = 4`);
    expect((await sandbox.run(['sync', 'run', 'manual', '--json'])).json().conflicts).toMatchObject({ detected: 0 });
    expect(await balanceAt('manual', 4)).toBe('1003');
  }, 180_000);

  it('target-wins keeps the target version of a row changed on both sides; a row changed only at the source is still copied', async () => {
    expect((await sandbox.run(['sync', 'run', 'theirs'])).exitCode).toBe(0);
    lite.exec(`update theirs set balance = 1 where id in (5, 6)`);
    await pg(`update theirs set balance = 2 where id = 5`);
    const run = await sandbox.run(['sync', 'run', 'theirs', '--json']);
    expect(run.json().conflicts).toMatchObject({ policy: 'target-wins', detected: 1, keptTarget: 1, pending: 0 });
    expect(await balanceAt('theirs', 5)).toBe('2');
    expect(await balanceAt('theirs', 6)).toBe('1');
    // The kept version stays kept on later runs, until the source changes the row again.
    expect((await sandbox.run(['sync', 'run', 'theirs', '--json'])).json().conflicts).toMatchObject({ detected: 0, targetOnly: 0 });
    expect(await balanceAt('theirs', 5)).toBe('2');
    lite.exec(`update theirs set balance = 3 where id = 5`);
    expect((await sandbox.run(['sync', 'run', 'theirs', '--json'])).json().conflicts).toMatchObject({ detected: 0 });
    expect(await balanceAt('theirs', 5)).toBe('3');
    expect((await sandbox.run(['sync', 'conflicts', 'list', 'theirs', '--json'])).json().conflicts).toEqual([]);
  }, 120_000);

  it('newest-wins by a column takes whichever side changed the row later', async () => {
    expect((await sandbox.run(['sync', 'run', 'newest'])).exitCode).toBe(0);
    lite.exec(`update newest set balance = 111, updated_at = '2026-03-01T00:00:00Z' where id = 7`); // the source is newer
    await pg(`update newest set balance = 222, updated_at = '2026-02-01T00:00:00Z' where id = 7`);
    lite.exec(`update newest set balance = 333, updated_at = '2026-02-01T00:00:00Z' where id = 8`); // the target is newer
    await pg(`update newest set balance = 444, updated_at = '2026-03-01T00:00:00Z' where id = 8`);
    const run = await sandbox.run(['sync', 'run', 'newest', '--json']);
    expect(run.json().conflicts).toMatchObject({ policy: 'newest-wins by updated_at', detected: 2, keptTarget: 1 });
    expect(await balanceAt('newest', 7)).toBe('111');
    expect(await balanceAt('newest', 8)).toBe('444');
  }, 120_000);

  it('PostgreSQL → SQLite: the conflict is recorded in the SQLite target and resolved there', async () => {
    expect((await sandbox.run(['sync', 'run', 'back'])).exitCode).toBe(0);
    await pg(`update manual set balance = 5005 where id = 9`);
    back.exec(`update manual set balance = 6006 where id = 9`);
    expect((await sandbox.run(['sync', 'run', 'back', '--json'])).json().conflicts).toMatchObject({ detected: 1, pending: 1 });
    const balance = () => (back.prepare(`select balance from manual where id = 9`).get() as { balance: number }).balance;
    expect(balance()).toBe(6006);
    expect((await sandbox.run(['sync', 'conflicts', 'list', 'back', '--json'])).json().conflicts).toMatchObject([
      { key: '9', differences: [{ column: 'balance', source: '5005', target: '6006' }] },
    ]);
    expect((await sandbox.run(['sync', 'conflicts', 'resolve', 'back', '9', '--take', 'source'])).exitCode).toBe(0);
    expect(balance()).toBe(5005);
    expect((await sandbox.run(['sync', 'verify', 'back'])).exitCode).toBe(0);
  }, 120_000);

  it('an unknown policy is a usage error with the policies named (64)', async () => {
    const bad = await sandbox.run(['sync', 'run', '--from', 'lite:manual', '--to', 'main:elsewhere', '--conflict', 'mine-wins']);
    expect(bad.exitCode).toBe(64);
    expect(bad.stderr).toMatch(/newest-wins:COLUMN/);
    expect(await pg(`select to_regclass('elsewhere') as t`)).toEqual([{ t: null }]);
  }, 60_000);
});
