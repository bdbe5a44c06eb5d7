// Arguments come from the command line only. A command run inside `while read line; do …; done < file`
// or at the end of a pipe must not take its stdin as a store name (oclif reads stdin for a missing
// argument unless told not to).
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';

describe('a piped stdin never becomes an argument', () => {
  let sandbox: Sandbox;
  // What a `while read` loop leaves on stdin: the rest of its input file.
  const rest = 'alpha\nsecond line of the file\n';

  beforeAll(() => {
    sandbox = makeSandbox();
    for (const name of ['alpha', 'beta']) new Sqlite(path.join(sandbox.dir, `${name}.db`)).exec('create table t (x)');
    sandbox.writeConfig({ stores: { alpha: { engine: 'sqlite', path: 'alpha.db' }, beta: { engine: 'sqlite', path: 'beta.db' } } });
  });

  it('db health and db pools with no STORE work on every store, whatever stdin holds', async () => {
    for (const command of [
      ['db', 'health'],
      ['db', 'pools'],
    ]) {
      const result = await sandbox.run([...command, '--json'], { input: rest });
      expect(result.exitCode, command.join(' ')).toBe(0);
      expect(result.json().stores.map((store: { store: string }) => store.store)).toEqual(['alpha', 'beta']);
    }
  });

  it('db info and backup create with no STORE ask for one (64) instead of reading it from stdin', async () => {
    const info = await sandbox.run(['db', 'info', '--json'], { input: 'alpha\n' });
    expect(info.exitCode).toBe(64);
    expect(info.json().error.message).toMatch(/Name a store/);
    const backup = await sandbox.run(['backup', 'create', '--json'], { input: 'alpha\n' });
    expect(backup.exitCode).toBe(64);
    expect(fs.existsSync(path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'backups', 'backups'))).toBe(false);
  });

  it('snapshot list with no STORE lists every store instead of failing on the rest of the file', async () => {
    const result = await sandbox.run(['snapshot', 'list', '--json'], { input: rest });
    expect(result.exitCode).toBe(0);
    expect(result.json()).toMatchObject({ snapshots: [] });
  });
});
