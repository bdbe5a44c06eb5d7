// A SQLite store configured through a symlink: a restore over it still sees the processes that
// have the database open (by its real path, as /proc names it) and refuses without --force.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

describe('restore over a SQLite store whose path is a symlink', () => {
  it('a process with the database open (by its real path) is seen: refused without --force (1), the file untouched', async () => {
    const sandbox = makeSandbox();
    const real = path.join(sandbox.dir, 'volume', 'app.db');
    fs.mkdirSync(path.dirname(real));
    fs.mkdirSync(path.join(sandbox.dir, 'data'));
    fs.symlinkSync(real, path.join(sandbox.dir, 'data', 'app.db'));
    // Rollback-journal mode: an idle connection holds no lock, only /proc shows it.
    const db = new Sqlite(real);
    db.exec("create table t (v text); insert into t values ('backed up')");
    db.close();
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/app.db' } }, backup: { repository: './repo' } });
    const created = await sandbox.run(['backup', 'create', 'lite', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const id = created.json().stores[0].backup.id;
    const writer = new Sqlite(real);
    writer.exec("insert into t values ('written after')");
    writer.close();
    const holder = execa(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(real)}); db.prepare('select 1').get(); console.log('open'); setTimeout(() => {}, 60000);`,
      ],
      { cwd: process.cwd(), reject: false },
    );
    try {
      await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
      const restored = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'app', '--confirm', 'app'], { env });
      expect(restored.exitCode, restored.stderr).toBe(1);
      expect(restored.stderr).toMatch(/in use by pid \d+/);
      const check = new Sqlite(real, { readonly: true });
      expect(check.prepare('select count(*) as n from t').get()).toEqual({ n: 2 });
      check.close();
      expect(fs.lstatSync(path.join(sandbox.dir, 'data', 'app.db')).isSymbolicLink()).toBe(true);
    } finally {
      holder.kill();
      await holder;
    }
  });
});
