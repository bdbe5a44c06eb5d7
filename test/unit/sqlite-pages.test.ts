// The SQLite page reader beside SQLite in one process: its descriptor must not drop the
// connection's POSIX locks (closing any descriptor of a file drops all of the process's locks on
// it), and the WAL is read as SQLite's recovery reads it.
import Sqlite from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HeldFiles } from '../../src/engine/engines/sqlite/held-files.js';
import { openSnapshot, readWal } from '../../src/engine/engines/sqlite/pages.js';

/** Whether another process can take the file to itself (it cannot while any connection holds a lock on it). */
function othersCanLockExclusively(file: string): boolean {
  const script = `const D=require('better-sqlite3'); const db=new D(process.argv[1]); db.pragma('busy_timeout = 0'); db.pragma('locking_mode = EXCLUSIVE');
try { db.exec('begin exclusive'); db.exec('rollback'); console.log('yes'); } catch (e) { console.log(e.code === 'SQLITE_BUSY' ? 'no' : e.message); } finally { db.close(); }`;
  return execFileSync(process.execPath, ['-e', script, file], { encoding: 'utf8', cwd: process.cwd() }).trim() === 'yes';
}

function walDatabase(): { file: string; db: Sqlite.Database } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-pages-'));
  const file = path.join(dir, 'app.db');
  const db = new Sqlite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('create table t (id integer primary key, v text)');
  for (let i = 0; i < 50; i++) db.prepare('insert into t (v) values (?)').run(`row ${i}`);
  return { file, db };
}

async function readAll(reader: NonNullable<ReturnType<typeof openSnapshot>>): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of reader.pages()) pieces.push(piece);
  return Buffer.concat(pieces);
}

describe('SQLite page reader', () => {
  it('keeps the connection’s lock on a WAL database while and after it reads (the descriptor stays open until its owner closes it)', async () => {
    const { file, db } = walDatabase();
    expect(othersCanLockExclusively(file)).toBe(false); // a WAL connection holds a SHARED lock while open
    const held = new HeldFiles();
    const reader = openSnapshot(db, held)!;
    expect(reader).toBeDefined();
    const bytes = await readAll(reader);
    expect(reader.counts()).toEqual({ t: 50 });
    reader.end();
    expect(bytes.length).toBe(reader.pageCount * reader.pageSize);
    // Had the reader closed its descriptor, the process's lock would be gone and this would say yes.
    expect(othersCanLockExclusively(file)).toBe(false);
    db.close();
    held.closeAll();
    expect(othersCanLockExclusively(file)).toBe(true);
  });

  it('holds writers off in rollback-journal mode for the length of the read, and lets them go after', async () => {
    const { file, db } = walDatabase();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('journal_mode = DELETE');
    const held = new HeldFiles();
    const reader = openSnapshot(db, held)!;
    const write = () =>
      execFileSync(
        process.execPath,
        [
          '-e',
          `const D=require('better-sqlite3'); const db=new D(process.argv[1]); db.pragma('busy_timeout = 0'); try { db.prepare("insert into t (v) values ('x')").run(); console.log('written') } catch (e) { console.log(e.code) }`,
          file,
        ],
        { encoding: 'utf8', cwd: process.cwd() },
      ).trim();
    expect(write()).toBe('SQLITE_BUSY');
    const bytes = await readAll(reader);
    reader.end();
    expect(write()).toBe('written');
    db.close();
    held.closeAll();
    // What was read is the file as it was before that write: 50 rows.
    const copy = `${file}.copy`;
    fs.writeFileSync(copy, bytes);
    const check = new Sqlite(copy, { readonly: true });
    expect((check.prepare('select count(*) as n from t').get() as { n: number }).n).toBe(50);
    check.close();
  });

  it('reads committed WAL frames only, latest version of each page, and stops at a damaged frame', () => {
    const { file, db } = walDatabase();
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    const wal = readWal(file, pageSize);
    if (typeof wal === 'string') throw new Error('unexpected');
    expect(wal.dbPages).toBe(Number(db.pragma('page_count', { simple: true })));
    expect(wal.pages.size).toBeGreaterThan(0);
    // A flipped byte in the last frame's page breaks its checksum: the WAL ends before it, as in recovery.
    const walFile = `${file}-wal`;
    const frames = (fs.statSync(walFile).size - 32) / (24 + pageSize);
    const fd = fs.openSync(walFile, 'r+');
    const at = 32 + (frames - 1) * (24 + pageSize) + 24 + 100;
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    byte[0] ^= 0xff;
    fs.writeSync(fd, byte, 0, 1, at);
    fs.closeSync(fd);
    const cut = readWal(file, pageSize);
    if (typeof cut === 'string') throw new Error('unexpected');
    expect(cut.dbPages).toBeLessThanOrEqual(wal.dbPages);
    expect(cut.pages.size).toBeLessThanOrEqual(wal.pages.size);
    db.close();
  });
});
