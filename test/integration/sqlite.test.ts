import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase } from '../../src/engine/db/admin.js';
import { checkHealth } from '../../src/engine/db/health.js';
import { poolReports, storeInfo } from '../../src/engine/db/inspect.js';
import type { Fleet } from '../../src/engine/fleet.js';
import { fleetFor } from '../support/fleet.js';

describe('SQLite provider (real files)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-sqlite-'));
  const file = path.join(dir, 'app.db');
  let fleet: Fleet;

  beforeAll(async () => {
    const db = new Sqlite(file);
    db.pragma('journal_mode = WAL');
    db.exec(
      'create table t (id integer primary key, v text); create index t_v on t (v); create view tv as select * from t; insert into t (v) values (1), (2);',
    );
    db.close();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'this is not a database, just some text that is long enough to have a header '.repeat(10));
    fleet = await fleetFor({
      stores: {
        lite: { engine: 'sqlite', path: file },
        missing: { engine: 'sqlite', path: path.join(dir, 'nope.db') },
        garbage: { engine: 'sqlite', path: path.join(dir, 'notes.txt') },
      },
    });
  });

  afterAll(async () => {
    await fleet.close();
  });

  it('reports health of a WAL database, and a missing or non-database file as down with a reason', async () => {
    const [lite, missing, garbage] = await checkHealth(fleet, fleet.select(['lite', 'missing', 'garbage']));
    expect(lite).toMatchObject({ status: 'up', role: 'standalone', readOnly: false });
    expect(missing).toMatchObject({ status: 'down', error: { code: 'NOT_FOUND' } });
    expect(garbage).toMatchObject({ status: 'down', error: { code: 'BAD_DATA' } });
    // A configured store's missing file is never created behind the operator's back.
    expect(fs.existsSync(path.join(dir, 'nope.db'))).toBe(false);
  });

  it('reports info: file size, journal mode and object counts', async () => {
    const info = await storeInfo(fleet, 'lite');
    expect(info.details.journalMode).toBe('wal');
    expect(info.databases[0]).toMatchObject({ name: 'app.db', current: true, objects: { tables: 1, indexes: 1, views: 1 } });
    expect(info.sizeBytes).toBeGreaterThan(0);
  });

  it('reports open handles and WAL mode as its pool', async () => {
    const [report] = await poolReports(fleet, fleet.select(['lite']));
    if ('error' in report) throw new Error(report.error.message);
    expect(report.server.openHandles).toBe(1);
    expect(report.details.journalMode).toBe('wal');
  });

  it('creates a database as NAME.db beside the store file, and drops it with its WAL files', async () => {
    await createDatabase(fleet, 'lite', 'reports');
    const created = path.join(dir, 'reports.db');
    expect(fs.existsSync(created)).toBe(true);
    await expect(createDatabase(fleet, 'lite', 'reports')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(createDatabase(fleet, 'lite', '../escape')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(dropDatabase(fleet, { store: 'lite', database: 'reports', confirm: 'reports', force: false })).resolves.toMatchObject({ dropped: true });
    expect(fs.readdirSync(dir).filter((entry) => entry.startsWith('reports'))).toEqual([]);
  });

  it('refuses to drop a file another process holds a lock on; --force deletes it anyway', async () => {
    await createDatabase(fleet, 'lite', 'busy');
    const holder = execa(
      process.execPath,
      [
        '-e',
        `const D=require('better-sqlite3'); const db=new D(${JSON.stringify(path.join(dir, 'busy.db'))}); db.exec('begin exclusive'); console.log('locked'); setTimeout(()=>{}, 20000);`,
      ],
      { cwd: process.cwd(), reject: false },
    );
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    try {
      await expect(dropDatabase(fleet, { store: 'lite', database: 'busy', confirm: 'busy', force: false })).rejects.toMatchObject({ code: 'IN_USE' });
      expect(fs.existsSync(path.join(dir, 'busy.db'))).toBe(true);
      await expect(dropDatabase(fleet, { store: 'lite', database: 'busy', confirm: 'busy', force: true })).resolves.toMatchObject({ dropped: true });
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
