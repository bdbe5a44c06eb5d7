// A SQLite backup of a WAL database holds its committed WAL frames, read from the WAL beside the
// real file when the configured path is a symlink, at any page size.
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

/** Backs the store `lite` up, restores it as `copy` beside the store's file, and returns the copy's path and the backup's counts. */
async function backUpAndRestore(sandbox: Sandbox, dir: string): Promise<{ copy: string; counts: Record<string, number> }> {
  const created = await sandbox.run(['backup', 'create', 'lite', '--json'], { env });
  expect(created.exitCode, created.stderr).toBe(0);
  const backup = created.json().stores[0].backup;
  const restored = await sandbox.run(['backup', 'restore', backup.id, '--to', 'lite', '--database', 'copy', '--json'], { env });
  expect(restored.exitCode, restored.stderr).toBe(0);
  return { copy: path.join(dir, 'copy.db'), counts: backup.counts };
}

function values(file: string): Array<{ v: string; n: number }> {
  const db = new Sqlite(file, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    return db.prepare('select v, count(*) as n from t group by v order by v').all() as Array<{ v: string; n: number }>;
  } finally {
    db.close();
  }
}

/**
 * A WAL database whose rows all say 'old' in the main file and 'new' in WAL frames not yet
 * checkpointed; the returned connection stays open (checkpoints off) so the WAL stays as it is.
 */
function oldInFileNewInWal(file: string, pageSize = 4096): Sqlite.Database {
  const db = new Sqlite(file);
  db.pragma(`page_size = ${pageSize}`);
  db.pragma('journal_mode = wal');
  db.exec('create table t (id integer primary key, v text)');
  const add = db.prepare('insert into t (v) values (?)');
  db.transaction(() => {
    for (let i = 0; i < 1000; i++) add.run('old');
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('wal_autocheckpoint = 0');
  // Same rows, same pages: the main file has every page, only their WAL versions are newer.
  db.exec("update t set v = 'new'");
  expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
  return db;
}

describe('SQLite backups of a WAL database read what SQLite reads', () => {
  it("a store whose path is a symlink: the WAL beside the real file is read (its commits are in the backup, not the main file's older pages)", async () => {
    const sandbox = makeSandbox();
    const real = path.join(sandbox.dir, 'volume');
    const linked = path.join(sandbox.dir, 'data');
    fs.mkdirSync(real);
    fs.mkdirSync(linked);
    const db = oldInFileNewInWal(path.join(real, 'app.db'));
    try {
      fs.symlinkSync(path.join(real, 'app.db'), path.join(linked, 'app.db'));
      sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/app.db' } }, backup: { repository: './repo' } });
      // The store's databases (the restored copy too) are beside its real file, where SQLite keeps the WAL.
      const { copy, counts } = await backUpAndRestore(sandbox, real);
      expect(counts).toEqual({ t: 1000 });
      expect(values(copy)).toEqual([{ v: 'new', n: 1000 }]);
    } finally {
      db.close();
    }
  });

  for (const pageSize of [512, 65536]) {
    it(`page size ${pageSize}: frames not yet checkpointed are in the backup`, async () => {
      const sandbox = makeSandbox();
      fs.mkdirSync(path.join(sandbox.dir, 'data'));
      const file = path.join(sandbox.dir, 'data/app.db');
      sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/app.db' } }, backup: { repository: './repo' } });
      const db = oldInFileNewInWal(file, pageSize);
      try {
        expect(db.pragma('page_size', { simple: true })).toBe(pageSize);
        const { copy, counts } = await backUpAndRestore(sandbox, path.join(sandbox.dir, 'data'));
        expect(counts).toEqual({ t: 1000 });
        expect(values(copy)).toEqual([{ v: 'new', n: 1000 }]);
      } finally {
        db.close();
      }
    });
  }
});
