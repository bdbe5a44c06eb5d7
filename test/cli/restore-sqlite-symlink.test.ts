// A SQLite store configured through a symlink: a restore over it still sees the processes that
// have the database open (by its real path, as /proc names it) and refuses without --force. A
// restore of a store's own file through a link writes the real file (sqlite-symlinked-store.test.ts);
// a tenant's file that is a link is still refused.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { sqliteTenancySandbox } from '../support/repository.js';

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

describe('restoring a SQLite tenant whose file is a symlink', () => {
  it('is refused (64) naming the real file; the link, the real file and its rows are as they were', async () => {
    const sandbox = sqliteTenancySandbox('create table items (id integer primary key, name text not null);');
    expect((await sandbox.run(['tenant', 'create', 'acme'], { env })).exitCode).toBe(0);
    const file = path.join(sandbox.dir, 'data', 'tenants', 't_acme.db');
    const insert = (name: string) => {
      const db = new Sqlite(file);
      db.prepare('insert into items (name) values (?)').run(name);
      db.close();
    };
    insert('backed up');
    const created = await sandbox.run(['backup', 'create', '--tenant', 'acme', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const id = created.json().stores[0].backup.id;
    // The tenant's file moved to another volume, a link left in its place.
    const real = path.join(sandbox.dir, 'volume', 't_acme.db');
    fs.mkdirSync(path.dirname(real));
    fs.renameSync(file, real);
    fs.symlinkSync(real, file);
    insert('written after');

    const restored = await sandbox.run(['backup', 'restore', id, '--confirm', 'acme', '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(64);
    expect(restored.json().error.message).toContain(real);
    expect(fs.lstatSync(file).isSymbolicLink()).toBe(true);
    const db = new Sqlite(file, { readonly: true });
    expect(db.prepare('select name from items order by id').all()).toEqual([{ name: 'backed up' }, { name: 'written after' }]);
    db.close();
    expect(fs.readdirSync(path.dirname(real))).toEqual(['t_acme.db']);
    expect(fs.readdirSync(path.dirname(file)).filter((name) => name !== 't_acme.db' && !name.startsWith('_'))).toEqual([]);
  });
});
