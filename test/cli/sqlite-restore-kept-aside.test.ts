// A SQLite restore keeps the data it replaces as <db>__pre_restore_<time>. Restores that follow each
// other within one second (a script, a small database) each keep their own copy: the time is to the
// millisecond (to the second, the second restore renamed its replaced file over the first one's
// copy, and both said "kept as" that name). And a restore never renames over a file that is there.
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { moveWithSideFiles } from '../../src/engine/engines/sqlite/provider.js';
import { makeSandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { tableValues } from '../support/repository.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

function write(file: string, value: string): void {
  const db = new Sqlite(file);
  db.exec('create table if not exists t (v text)');
  db.prepare('insert into t values (?)').run(value);
  db.close();
}

describe('the data a SQLite restore replaces is kept, whatever the pace', () => {
  it('restores one after another: each keeps its own copy under its own name, and each copy holds what it replaced', async () => {
    const sandbox = makeSandbox();
    const dir = path.join(sandbox.dir, 'data');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'app.db');
    write(file, 'old');
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/app.db' } }, backup: { repository: './repo' } });
    expect((await sandbox.run(['snapshot', 'create', 'lite', '--name', 's1'], { env })).exitCode).toBe(0);
    const created = await sandbox.run(['backup', 'create', 'lite', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const id = created.json().stores[0].backup.id as string;
    const said: string[] = [];
    for (let round = 0; round < 3; round++) {
      write(file, `before snapshot restore ${round}`);
      const bySnapshot = await sandbox.run(['snapshot', 'restore', 's1', '--confirm', 'app', '--json'], { env });
      expect(bySnapshot.exitCode, bySnapshot.stderr).toBe(0);
      said.push(bySnapshot.json().previous);
      write(file, `before backup restore ${round}`);
      const byBackup = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'app', '--confirm', 'app', '--json'], { env });
      expect(byBackup.exitCode, byBackup.stderr).toBe(0);
      said.push(byBackup.json().previous);
    }
    expect(new Set(said).size, said.join(' ')).toBe(6);
    const kept = fs
      .readdirSync(dir)
      .filter((name) => /^app__pre_restore_\d{17}\.db$/.test(name))
      .sort();
    expect(kept.map((name) => name.replace(/\.db$/, ''))).toEqual([...said].sort());
    // In order, each copy is what the restore before it left, plus the row written just before it.
    const held = said.map((name) => tableValues(path.join(dir, `${name}.db`)).at(-1));
    expect(held).toEqual([0, 1, 2].flatMap((round) => [`before snapshot restore ${round}`, `before backup restore ${round}`]));
    expect(tableValues(file)).toEqual(['old']);
  });

  it('moving a database file never replaces a file at the destination: ALREADY_EXISTS, nothing moved', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-kept-aside-'));
    const from = path.join(dir, 'app.db');
    const to = path.join(dir, 'app__pre_restore_20261128110103123.db');
    write(from, 'live');
    write(to, 'kept before');
    let error: { code?: string; exitCode?: number } = {};
    try {
      moveWithSideFiles(from, to);
    } catch (caught) {
      error = caught as typeof error;
    }
    expect(error).toMatchObject({ code: 'ALREADY_EXISTS', exitCode: 1 });
    expect(tableValues(from)).toEqual(['live']);
    expect(tableValues(to)).toEqual(['kept before']);
  });
});
