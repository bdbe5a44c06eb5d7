// SQLite backups read the snapshot's pages under a read transaction (main file + committed WAL
// frames) in one pass: what they restore is exactly one commit's state, byte for byte the
// snapshot, in WAL and rollback-journal mode, with row counts taken from the same pages.
import Sqlite from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

function sandboxWith(setup: (db: Sqlite.Database) => void, journalMode = 'wal'): { sandbox: Sandbox; file: string } {
  const sandbox = makeSandbox();
  sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/app.db' } }, backup: { repository: './repo' } });
  fs.mkdirSync(path.join(sandbox.dir, 'data'));
  const file = path.join(sandbox.dir, 'data/app.db');
  const db = new Sqlite(file);
  db.pragma(`journal_mode = ${journalMode}`);
  setup(db);
  db.close();
  return { sandbox, file };
}

async function backUpAndRestore(sandbox: Sandbox): Promise<{ backup: { id: string; counts: Record<string, number> }; copy: string }> {
  const created = await sandbox.run(['backup', 'create', 'lite', '--json'], { env });
  expect(created.exitCode, created.stderr).toBe(0);
  const backup = created.json().stores[0].backup;
  const restored = await sandbox.run(['backup', 'restore', backup.id, '--to', 'lite', '--database', 'copy', '--json'], { env });
  expect(restored.exitCode, restored.stderr).toBe(0);
  return { backup, copy: path.join(sandbox.dir, 'data/copy.db') };
}

function tableCounts(file: string): Record<string, number> {
  const db = new Sqlite(file, { readonly: true });
  try {
    const names = db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all() as { name: string }[];
    return Object.fromEntries(names.map(({ name }) => [name, (db.prepare(`select count(*) as n from "${name}"`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

// A writer that commits transactions touching two tables and a running total: any torn mix of two
// commits breaks one of the three equalities checked after the restore.
const WRITER = (file: string, ms: number) => `
const D = require('better-sqlite3');
const db = new D(${JSON.stringify(file)});
db.pragma('busy_timeout = 20000');
const add = db.prepare('insert into live (batch, body) values (?, ?)');
const log = db.prepare('insert into ledger (batch, rows) values (?, ?)');
const bump = db.prepare('update total set rows = rows + ? where id = 1');
const step = db.transaction((batch) => { const rows = 1 + (batch % 7); for (let i = 0; i < rows; i++) add.run(batch, Buffer.alloc(700, batch)); log.run(batch, rows); bump.run(rows); });
const end = Date.now() + ${ms};
let batch = 0;
while (Date.now() < end) step(++batch);
console.log(batch);
`;

function expectOneCommit(copy: string, counts: Record<string, number>): number {
  const db = new Sqlite(copy, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const live = (db.prepare('select count(*) as n from live').get() as { n: number }).n;
    const logged = db.prepare('select count(*) as batches, coalesce(sum(rows), 0) as rows, coalesce(max(batch), 0) as last from ledger').get() as {
      batches: number;
      rows: number;
      last: number;
    };
    const total = (db.prepare('select rows from total where id = 1').get() as { rows: number }).rows;
    // Whole transactions only: every batch logged has all its rows, the total says the same, no batch is missing.
    expect(live).toBe(logged.rows);
    expect(total).toBe(logged.rows);
    expect(logged.batches).toBe(logged.last);
    const torn = db
      .prepare('select count(*) as n from (select batch, count(*) as c from live group by batch) l join ledger g using (batch) where l.c <> g.rows')
      .get() as {
      n: number;
    };
    expect(torn.n).toBe(0);
    expect(counts).toEqual({ filler: 3000, ledger: logged.batches, live, total: 1 });
    return logged.batches;
  } finally {
    db.close();
  }
}

const liveSchema = (db: Sqlite.Database) => {
  db.exec(`create table live (id integer primary key, batch integer, body blob);
           create table ledger (batch integer primary key, rows integer);
           create table total (id integer primary key, rows integer); insert into total values (1, 0);
           create table filler (id integer primary key, body blob);`);
  const fill = db.prepare('insert into filler (body) values (?)');
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) fill.run(randomBytes(3000));
  })();
};

describe('SQLite backups read the snapshot page by page', () => {
  for (const mode of ['wal', 'delete']) {
    it(`${mode} mode: a backup taken while another process commits restores exactly the rows of one commit, never a torn mix`, async () => {
      const { sandbox, file } = sandboxWith(liveSchema, mode);
      const writer = execa(process.execPath, ['-e', WRITER(file, 5000)], { cwd: process.cwd() });
      // Let the writer commit for a while first, so the backup starts in the middle of its stream.
      const started = Date.now();
      while (Date.now() - started < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (tableCounts(file).ledger > 50) break;
      }
      const { backup, copy } = await backUpAndRestore(sandbox);
      const written = Number((await writer).stdout);
      const batches = expectOneCommit(copy, backup.counts);
      expect(batches).toBeGreaterThan(0);
      // The writer went on (WAL: during the read too; delete mode: after it) and was never refused.
      expect(written).toBeGreaterThanOrEqual(batches);
    });
  }

  it('WAL frames not yet checkpointed are in the backup; the restored file is the snapshot byte for byte', async () => {
    const { sandbox, file } = sandboxWith((db) => {
      db.exec(`create table t (id integer primary key, body blob, note text); create index t_note on t (note);
               create table kv (k text primary key, v blob) without rowid;
               create virtual table docs using fts5 (body);
               create table empty (x);`);
      const add = db.prepare('insert into t (body, note) values (?, ?)');
      db.transaction(() => {
        for (let i = 0; i < 2000; i++) add.run(randomBytes(i % 10 === 0 ? 9000 : 300), `n${i % 50}`); // some rows overflow their page
      })();
      db.pragma('wal_checkpoint(TRUNCATE)');
    });
    // A connection that stays open with checkpoints off: its commits live only in the WAL.
    const db = new Sqlite(file);
    db.pragma('wal_autocheckpoint = 0');
    const add = db.prepare('insert into t (body, note) values (?, ?)');
    const put = db.prepare('insert or replace into kv (k, v) values (?, ?)');
    for (let round = 0; round < 5; round++) {
      db.transaction(() => {
        for (let i = 0; i < 400; i++) add.run(randomBytes(500), `wal${round}`);
        for (let i = 0; i < 300; i++) put.run(`key${i}`, randomBytes(40 + round));
        db.prepare('delete from t where id % 17 = ?').run(round);
        db.prepare('insert into docs (body) values (?)').run(`round ${round} text`);
      })();
    }
    const walBytes = fs.statSync(`${file}-wal`).size;
    expect(walBytes).toBeGreaterThan(1_000_000);
    const mainBytes = fs.statSync(file).size;
    const expected = tableCounts(file);
    try {
      const { backup, copy } = await backUpAndRestore(sandbox);
      expect(backup.counts).toEqual(expected);
      expect(expected.kv).toBe(300);
      expect(expected.docs).toBe(5);
      expect(expected.empty).toBe(0);
      // The WAL was read, not checkpointed, by the backup: the main file alone is not the snapshot.
      expect(fs.statSync(`${file}-wal`).size).toBe(walBytes);
      expect(fs.statSync(file).size).toBe(mainBytes);
      expect(tableCounts(copy)).toEqual(expected);
      // Checkpointed now (nothing written since the backup), the source file is the snapshot.
      db.pragma('wal_checkpoint(TRUNCATE)');
      expect(fs.readFileSync(copy).equals(fs.readFileSync(file))).toBe(true);
      const check = new Sqlite(copy, { readonly: true });
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      check.close();
    } finally {
      db.close();
    }
  });

  it('a WAL too big to hold in memory: the backup still holds its frames (through the online backup API)', async () => {
    const { sandbox, file } = sandboxWith((db) => db.exec('create table t (id integer primary key, body blob)'));
    const db = new Sqlite(file);
    db.pragma('wal_autocheckpoint = 0');
    const add = db.prepare('insert into t (body) values (?)');
    db.transaction(() => {
      for (let i = 0; i < 12_000; i++) add.run(randomBytes(3000));
    })();
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(33 * 1024 * 1024);
    try {
      const { backup, copy } = await backUpAndRestore(sandbox);
      expect(backup.counts).toEqual({ t: 12_000 });
      expect(tableCounts(copy)).toEqual({ t: 12_000 });
    } finally {
      db.close();
    }
  });
});
