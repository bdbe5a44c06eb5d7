// A SQLite store configured `readonly: true` whose file has a hot rollback journal (a writer was
// killed mid-transaction): a read-only open cannot roll it back. The run says so (not "the server
// rejected the request"), names the journal, says what to do, exits 1, and leaves the journal (it
// holds the pages that undo the unfinished write). Following the hint (one writable run) works.
import { execa } from 'execa';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';

describe('a read-only SQLite store with a hot journal', () => {
  it('backup create: a message naming the hot journal, a hint to open it writable once, exit 1; the journal is kept', async () => {
    const sandbox = makeSandbox();
    const file = path.join(sandbox.dir, 'data.db');
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    // A rollback-journal database, then a writer killed (SIGKILL) in the middle of a big transaction.
    const writer = `
      const Sqlite = require(${JSON.stringify(sqlite)});
      const db = new Sqlite(${JSON.stringify(file)});
      db.pragma('journal_mode = delete');
      if (process.argv[1] === 'create') { db.exec("create table t (x); insert into t values ('committed')"); db.close(); process.exit(0); }
      db.pragma('cache_size = 10');
      db.exec('begin');
      const insert = db.prepare('insert into t values (randomblob(1000))');
      for (let i = 0; i < 20000; i++) insert.run();
      db.exec("update t set x = 'uncommitted' where rowid = 1");
      process.kill(process.pid, 'SIGKILL');`;
    expect((await execa(process.execPath, ['-e', writer, 'create'])).exitCode).toBe(0);
    const killed = await execa(process.execPath, ['-e', writer, 'write'], { reject: false });
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(`${file}-journal`), 'the killed writer left a hot journal').toBe(true);
    const journal = fs.readFileSync(`${file}-journal`);

    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data.db', readonly: true } } });
    const result = await sandbox.run(['backup', 'create', 'lite', '--json']);
    expect(result.exitCode).toBe(1);
    const error = result.json().stores[0].error;
    expect(error.message).toMatch(/hot journal/);
    expect(error.message).toContain(`${file}-journal`);
    expect(error.message).toMatch(/interrupted/);
    expect(error.message).not.toMatch(/attempt to write a readonly database/);
    expect(error.hint).toMatch(/writable/);
    expect(error.hint).toMatch(/readonly: true/);
    expect(error.hint).not.toMatch(/server/i);
    // Nothing was touched: the journal is still there, as it was; no backup was recorded.
    expect(fs.readFileSync(`${file}-journal`).equals(journal)).toBe(true);
    expect((await sandbox.run(['backup', 'list', '--json'])).json().backups).toEqual([]);

    // The hint holds: one run without `readonly: true` rolls the journal back and backs up the committed data.
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data.db' } } });
    const writable = await sandbox.run(['backup', 'create', 'lite', '--json']);
    expect(writable.exitCode).toBe(0);
    expect(fs.existsSync(`${file}-journal`)).toBe(false);
  }, 120_000);
});
