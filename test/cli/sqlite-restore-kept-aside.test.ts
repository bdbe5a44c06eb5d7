// A SQLite restore keeps the data it replaces as <db>__pre_restore_<time>, the time to the second:
// a second restore within the same second is given the same name. It must never rename its own
// replaced file over the one kept before (rename() replaces silently): it fails with nothing moved.
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nameStamp } from '../../src/engine/derived-names.js';
import { makeSandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

function write(file: string, value: string): void {
  const db = new Sqlite(file);
  db.exec('create table if not exists t (v text)');
  db.prepare('insert into t values (?)').run(value);
  db.close();
}

function rows(file: string): string[] {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('select v from t order by rowid').all() as Array<{ v: string }>).map((row) => row.v);
  } finally {
    db.close();
  }
}

/** A store with a snapshot and a backup of 'old', then 'current' written; files kept aside "by an earlier restore" under every name the next minute gives. */
async function storeWithKeptCopies() {
  const sandbox = makeSandbox();
  const dir = path.join(sandbox.dir, 'data');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'app.db');
  write(file, 'old');
  sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/app.db' } }, backup: { repository: './repo' } });
  expect((await sandbox.run(['snapshot', 'create', 'lite', '--name', 's1'], { env })).exitCode).toBe(0);
  const created = await sandbox.run(['backup', 'create', 'lite', '--json'], { env });
  expect(created.exitCode, created.stderr).toBe(0);
  write(file, 'current');
  const now = Date.now();
  const kept: string[] = [];
  for (let second = 0; second < 60; second++) {
    const copy = path.join(dir, `app__pre_restore_${nameStamp(new Date(now + second * 1000))}.db`);
    write(copy, 'kept by an earlier restore');
    kept.push(copy);
  }
  const untouched = () => {
    for (const copy of kept) expect(rows(copy), copy).toEqual(['kept by an earlier restore']);
    expect(rows(file)).toEqual(['old', 'current']);
    expect(fs.readdirSync(dir).filter((name) => name.includes('__restoring_'))).toEqual([]);
  };
  return { sandbox, id: created.json().stores[0].backup.id as string, untouched };
}

describe('a SQLite restore whose name for the replaced data is taken', () => {
  it('snapshot restore fails with nothing moved: the copy kept before is intact, the database unchanged', async () => {
    const { sandbox, untouched } = await storeWithKeptCopies();
    const restored = await sandbox.run(['snapshot', 'restore', 's1', '--confirm', 'app', '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(1);
    expect(restored.json().error.code).toBe('ALREADY_EXISTS');
    untouched();
  });

  it('backup restore fails with nothing moved: the copy kept before is intact, the database unchanged', async () => {
    const { sandbox, id, untouched } = await storeWithKeptCopies();
    const restored = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'app', '--confirm', 'app', '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(1);
    expect(restored.json().error.code).toBe('ALREADY_EXISTS');
    untouched();
  });
});
