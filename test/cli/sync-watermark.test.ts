// Incremental runs with a timestamp watermark read again from a little before the last value seen
// (watermarkOverlap, default 5s), so a row written by a writer whose clock runs behind is not
// skipped; with no overlap it is (the behaviour the window exists to prevent).
import Sqlite from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';
import { earlierBy } from '../../src/engine/sync/values.js';

const database = uniqueName('sync_wm');
let sandbox: Sandbox;
let lite: Sqlite.Database;

const ids = async (table: string) =>
  (await pgAdmin(async (client) => (await client.query(`select id::int from ${table} order by id`)).rows, pgUrlFor(database))).map((row) => row.id);

beforeAll(async () => {
  await pgAdmin((client) => client.query(`create database ${database}`));
  sandbox = makeSandbox();
  lite = new Sqlite(path.join(sandbox.dir, 'lite.db'));
  lite.pragma('journal_mode = WAL');
  for (const table of ['events', 'strict'])
    lite.exec(
      `create table ${table} (id integer primary key, at timestamptz not null); insert into ${table} values (1, '2026-05-01T10:00:00Z'), (2, '2026-05-01T10:00:10Z')`,
    );
  sandbox.writeConfig({
    stores: { lite: { engine: 'sqlite', path: 'lite.db' }, main: { engine: 'postgres', url: pgUrlFor(database) } },
    sync: {
      jobs: {
        events: { from: { store: 'lite', table: 'events' }, to: { store: 'main', table: 'events' }, watermark: 'at' },
        strict: { from: { store: 'lite', table: 'strict' }, to: { store: 'main', table: 'strict' }, watermark: 'at', watermarkOverlap: '0s' },
      },
    },
  });
}, 60_000);

afterAll(async () => {
  lite?.close();
  await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
});

describe('sync watermark overlap', () => {
  it('moves a timestamp back by the overlap, keeping microseconds; leaves other values alone', () => {
    expect(earlierBy('2026-05-01T10:00:10.123456Z', 'timestamptz', 5000)).toBe('2026-05-01T10:00:05.123456Z');
    expect(earlierBy('2026-05-01T00:00:02.000001', 'timestamp', 5000)).toBe('2026-04-30T23:59:57.000001');
    expect(earlierBy(10n, 'integer', 5000)).toBe(10n);
    expect(earlierBy('2026-05-01T10:00:10.000000Z', 'timestamptz', 0)).toBe('2026-05-01T10:00:10.000000Z');
  });

  it('a row stamped 3 s before the last watermark (a writer whose clock is behind) is picked up by the next run; without overlap it is missed', async () => {
    for (const job of ['events', 'strict']) expect((await sandbox.run(['sync', 'run', job])).exitCode).toBe(0);
    for (const table of ['events', 'strict']) lite.exec(`insert into ${table} values (3, '2026-05-01T10:00:07Z')`);
    const run = await sandbox.run(['sync', 'run', 'events', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json().incrementalFrom).toMatch(/10:00:10/);
    expect(await ids('events')).toEqual([1, 2, 3]);
    expect((await sandbox.run(['sync', 'run', 'strict'])).exitCode).toBe(0);
    expect(await ids('strict')).toEqual([1, 2]);
  }, 60_000);
});
