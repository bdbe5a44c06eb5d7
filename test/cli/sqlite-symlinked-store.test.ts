// A SQLite store configured through a symlink (link/app.db -> ../real/app.db) in WAL mode, with
// rows only in the WAL: every command works where SQLite keeps the data — the real file, its -wal
// and -shm beside it — and leaves the operator's link as it was, pointing where it did.
import Sqlite from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { sqliteTenancySandbox, tableValues } from '../support/repository.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

/**
 * Writes `values` through `file` in a process that is then killed: the rows are committed in the
 * WAL only (checkpoints off), and the WAL and shared-memory files stay, as after a crashed writer.
 */
function writeAndCrash(file: string, values: string[]): void {
  const code = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)});
    db.pragma('journal_mode = WAL'); db.pragma('wal_autocheckpoint = 0');
    db.exec('create table if not exists t (v text)');
    for (const v of ${JSON.stringify(values)}) db.prepare('insert into t values (?)').run(v);
    process.kill(process.pid, 'SIGKILL');`;
  spawnSync(process.execPath, ['-e', code], { cwd: process.cwd() });
}

/** A store `lite` configured as link/app.db, a symlink to ../real/app.db, its data 'base' (checkpointed) then 'wal only' (in the WAL). */
function linkedStore() {
  const sandbox = makeSandbox();
  const realDir = path.join(sandbox.dir, 'real');
  const linkDir = path.join(sandbox.dir, 'link');
  fs.mkdirSync(realDir);
  fs.mkdirSync(linkDir);
  const real = path.join(realDir, 'app.db');
  const link = path.join(linkDir, 'app.db');
  fs.symlinkSync('../real/app.db', link);
  const db = new Sqlite(real);
  db.pragma('journal_mode = WAL');
  db.exec("create table t (v text); insert into t values ('base')");
  db.close();
  writeAndCrash(link, ['wal only']);
  expect(fs.statSync(`${real}-wal`).size, 'the WAL beside the real file holds the last commit').toBeGreaterThan(0);
  sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'link/app.db' } }, backup: { repository: './repo' } });
  const linkIntact = () => {
    expect(fs.lstatSync(link).isSymbolicLink(), 'the link is still a link').toBe(true);
    expect(fs.readlinkSync(link)).toBe('../real/app.db');
    expect(fs.readdirSync(linkDir)).toEqual(['app.db']);
  };
  return { sandbox, real, link, realDir, linkIntact };
}

describe('a SQLite store whose path is a symlink to a WAL database', () => {
  it('db info: walBytes is the size of the WAL beside the real file (a connection keeps it)', async () => {
    const { sandbox, real, link } = linkedStore();
    const writer = new Sqlite(link);
    try {
      writer.pragma('wal_autocheckpoint = 0');
      writer.exec("insert into t values ('more')");
      const info = await sandbox.run(['db', 'info', 'lite', '--json']);
      expect(info.exitCode, info.stderr).toBe(0);
      const details = info.json().details;
      expect(details.journalMode).toBe('wal');
      expect(details.walBytes).toBeGreaterThan(0);
      expect(details.walBytes).toBe(fs.statSync(`${real}-wal`).size);
    } finally {
      writer.close();
    }
  });

  it('snapshot create holds the WAL-only rows; snapshot restore writes them into the real file, keeps the link and the replaced data; snapshot delete leaves nothing', async () => {
    const { sandbox, real, link, realDir, linkIntact } = linkedStore();
    const created = await sandbox.run(['snapshot', 'create', 'lite', '--name', 's1', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    writeAndCrash(link, ['after the snapshot']);

    const restored = await sandbox.run(['snapshot', 'restore', 's1', '--confirm', 'app', '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    linkIntact();
    // The replaced data went aside with its WAL: nothing of it is left to be replayed onto the restored file.
    expect(fs.existsSync(`${real}-wal`), 'no WAL of the replaced data beside the restored file').toBe(false);
    expect(tableValues(link)).toEqual(['base', 'wal only']);
    expect(tableValues(real)).toEqual(['base', 'wal only']);
    const kept = fs.readdirSync(realDir).filter((name) => /^app__pre_restore_\d+\.db$/.test(name));
    expect(kept).toHaveLength(1);
    expect(tableValues(path.join(realDir, kept[0]))).toEqual(['base', 'wal only', 'after the snapshot']);

    const dropped = await sandbox.run(['snapshot', 'delete', 's1', '--confirm', 's1'], { env });
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    expect(fs.readdirSync(realDir).filter((name) => name.includes('__snap_'))).toEqual([]);
    linkIntact();
  });

  it('backup restore writes through the link: the WAL-only rows are back in the real file, the link stays, the replaced data is kept beside it', async () => {
    const { sandbox, real, link, realDir, linkIntact } = linkedStore();
    const created = await sandbox.run(['backup', 'create', 'lite', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.json().stores[0].backup.counts).toEqual({ t: 2 });
    writeAndCrash(link, ['after the backup']);

    const id = created.json().stores[0].backup.id as string;
    const restored = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'app', '--confirm', 'app', '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    linkIntact();
    expect(fs.existsSync(`${real}-wal`), 'no WAL of the replaced data beside the restored file').toBe(false);
    expect(tableValues(link)).toEqual(['base', 'wal only']);
    const kept = fs.readdirSync(realDir).filter((name) => /^app__pre_restore_\d+\.db$/.test(name));
    expect(kept).toHaveLength(1);
    expect(tableValues(path.join(realDir, kept[0]))).toEqual(['base', 'wal only', 'after the backup']);
  });

  it('db drop removes the real file with its WAL and shared memory, not the link; db create makes the file again through the link', async () => {
    const { sandbox, real, realDir, linkIntact } = linkedStore();
    const dropped = await sandbox.run(['db', 'drop', 'lite', 'app', '--confirm', 'app']);
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    expect(fs.readdirSync(realDir), 'no database, WAL or shared memory left').toEqual([]);
    linkIntact();

    const made = await sandbox.run(['db', 'create', 'lite', 'app']);
    expect(made.exitCode, made.stderr).toBe(0);
    linkIntact();
    expect(fs.statSync(real).isFile()).toBe(true);
    const info = await sandbox.run(['db', 'info', 'lite', '--json']);
    expect(info.exitCode, info.stderr).toBe(0);
    expect(info.json().databases.map((db: { name: string }) => db.name)).toEqual(['app.db']);
  });
});

describe('the databases of a store whose path is a symlink', () => {
  it('a backup restored as a new database lands beside the real file, and db info lists it there', async () => {
    const { sandbox, realDir, linkIntact } = linkedStore();
    const created = await sandbox.run(['backup', 'create', 'lite', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const id = created.json().stores[0].backup.id as string;
    const restored = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'copy', '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(tableValues(path.join(realDir, 'copy.db'))).toEqual(['base', 'wal only']);
    linkIntact();
    const info = await sandbox.run(['db', 'info', 'lite', '--json']);
    expect(info.json().databases.map((db: { name: string }) => db.name)).toEqual(['app.db', 'copy.db']);
  });
});

describe('a SQLite tenant whose file is a symlink (moved to another volume, a relative link left in tenants/)', () => {
  /** Tenants acme and beta of store `lite`; acme's file moved to volume/ with a relative link in its place, a row in its WAL only. */
  async function linkedTenant() {
    const sandbox = sqliteTenancySandbox('create table t (v text);');
    expect((await sandbox.run(['tenant', 'create', 'acme'], { env })).exitCode).toBe(0);
    expect((await sandbox.run(['tenant', 'create', 'beta'], { env })).exitCode).toBe(0);
    const volume = path.join(sandbox.dir, 'volume');
    fs.mkdirSync(volume);
    const link = path.join(sandbox.dir, 'data', 'tenants', 't_acme.db');
    const real = path.join(volume, 't_acme.db');
    fs.renameSync(link, real);
    fs.symlinkSync('../../volume/t_acme.db', link);
    writeAndCrash(link, ['wal only']);
    expect(fs.statSync(`${real}-wal`).size).toBeGreaterThan(0);
    return { sandbox, volume, link, real };
  }

  it('tenant drop removes the real file with its WAL and shared memory, and the link', async () => {
    const { sandbox, volume, link } = await linkedTenant();
    const dropped = await sandbox.run(['tenant', 'drop', 'acme', '--confirm', 'acme'], { env });
    expect(dropped.exitCode, dropped.stderr).toBe(0);
    expect(fs.readdirSync(volume), "none of the dropped tenant's data is left").toEqual([]);
    expect(fs.lstatSync(link, { throwIfNoEntry: false }), 'no dangling link left in tenants/').toBeUndefined();
    const validated = await sandbox.run(['validate', '--suite', 'tenants', '--json']);
    expect(validated.exitCode, validated.stdout).toBe(0);
  });

  it('tenant suspend is refused (64) naming the real file; the link, its data and the tenant stay as they were', async () => {
    const { sandbox, link, real } = await linkedTenant();
    const suspended = await sandbox.run(['tenant', 'suspend', 'acme', '--json'], { env });
    expect(suspended.exitCode, suspended.stderr).toBe(64);
    expect(suspended.json().error.message).toContain(real);
    expect(fs.readlinkSync(link)).toBe('../../volume/t_acme.db');
    expect(tableValues(link)).toEqual(['wal only']);
    const shown = await sandbox.run(['tenant', 'show', 'acme', '--json'], { env });
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.json().status).toBe('active');
  });
});

describe('a SQLite store whose path is a loop of symbolic links', () => {
  it('db health and backup create say it is a loop (not "no such file"), and nothing is made beside the links', async () => {
    const sandbox = makeSandbox();
    const dir = path.join(sandbox.dir, 'data');
    fs.mkdirSync(dir);
    fs.symlinkSync('b.db', path.join(dir, 'a.db'));
    fs.symlinkSync('a.db', path.join(dir, 'b.db'));
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/a.db' } }, backup: { repository: './repo' } });
    const health = await sandbox.run(['db', 'health', '--json']);
    const store = health.json().stores.find((entry: { store: string }) => entry.store === 'lite');
    expect(store.error.code).toBe('NOT_FOUND');
    expect(store.error.message).toMatch(/loop of symbolic links/);
    expect(store.error.message).not.toMatch(/no such file/);
    const backup = await sandbox.run(['backup', 'create', '--json'], { env });
    expect(backup.exitCode).not.toBe(0);
    expect(backup.json().stores[0].error).toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/loop of symbolic links/) });
    expect(backup.json().stores[0].error.hint).toMatch(/ls -l/);
    expect(fs.readdirSync(dir).sort()).toEqual(['a.db', 'b.db']);
  });
});
