// Every argument or flag that names a store refuses a name that is neither configured nor named by
// the records it filters: a usage error (64) listing the names that would work, never an empty
// listing or a prune that "succeeded" on nothing.
import Sqlite from 'better-sqlite3';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';

describe('an unknown store name is a usage error everywhere', () => {
  let sandbox: Sandbox;
  let backupId: string;

  beforeAll(async () => {
    sandbox = makeSandbox();
    for (const name of ['lite', 'gone']) new Sqlite(path.join(sandbox.dir, `${name}.db`)).exec('create table t (x); insert into t values (1)');
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'lite.db' }, gone: { engine: 'sqlite', path: 'gone.db' } } });
    for (const store of ['lite', 'gone']) {
      const backup = await sandbox.run(['backup', 'create', store, '--json']);
      expect(backup.exitCode).toBe(0);
      if (store === 'lite') backupId = backup.json().stores[0].backup.id;
      expect((await sandbox.run(['snapshot', 'create', store, '--name', 'before'])).exitCode).toBe(0);
    }
    // `gone` leaves the config; its backups, snapshots and audit entries stay.
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'lite.db' } }, backup: { retention: { keepLast: 1 } } });
  });

  const commands: string[][] = [
    ['db', 'health', 'nosuch'],
    ['db', 'pools', 'nosuch'],
    ['db', 'info', 'nosuch'],
    ['db', 'create', 'nosuch', 'x'],
    ['db', 'drop', 'nosuch', 'x', '--confirm', 'x'],
    ['backup', 'create', 'nosuch'],
    ['backup', 'list', '--store', 'nosuch'],
    ['backup', 'prune', '--store', 'nosuch', '--keep-last', '1'],
    ['backup', 'prune', '--store', 'nosuch', '--keep-last', '1', '--dry-run'],
    ['backup', 'verify', '--latest', '--store', 'nosuch'],
    ['backup', 'verify', '--all', '--store', 'nosuch'],
    ['backup', 'restore', 'BACKUP', '--to', 'nosuch'],
    ['snapshot', 'create', 'nosuch'],
    ['snapshot', 'list', 'nosuch'],
    ['snapshot', 'show', 'before', '--store', 'nosuch'],
    ['snapshot', 'diff', 'before', '--store', 'nosuch'],
    ['snapshot', 'delete', 'before', '--store', 'nosuch', '--confirm', 'before'],
    ['snapshot', 'restore', 'before', '--store', 'nosuch', '--confirm', 'x'],
    ['snapshot', 'prune', '--keep-last', '1', '--store', 'nosuch'],
    ['secrets', 'rotate', 'nosuch', '--confirm', 'nosuch'],
    ['validate', '--store', 'nosuch'],
    // Refused runs above are audited naming `nosuch`, which the audit filter then knows: another typo.
    ['audit', 'list', '--store', 'nosuch2'],
  ];

  it.each(commands.map((args) => [args.join(' '), args]))('storage %s exits 64 naming the known stores', async (_name, args) => {
    const result = await sandbox.run([...(args as string[]).map((arg) => (arg === 'BACKUP' ? backupId : arg)), '--json']);
    expect(result.exitCode).toBe(64);
    expect(result.json().error).toMatchObject({ code: 'UNKNOWN_STORE', message: expect.stringContaining('Known stores: lite') });
  });

  it('a refused prune deleted nothing', async () => {
    const list = await sandbox.run(['backup', 'list', '--json']);
    expect(list.json().backups).toHaveLength(2);
    const snapshots = await sandbox.run(['snapshot', 'list', '--json']);
    expect(snapshots.json().snapshots).toHaveLength(2);
  });

  it('a store removed from the config still lists what it left: backups, snapshots, audit entries', async () => {
    const backups = await sandbox.run(['backup', 'list', '--store', 'gone', '--json']);
    expect(backups.exitCode).toBe(0);
    expect(backups.json().backups.map((backup: { store: string }) => backup.store)).toEqual(['gone']);
    const snapshots = await sandbox.run(['snapshot', 'list', 'gone', '--json']);
    expect(snapshots.exitCode).toBe(0);
    expect(snapshots.json().snapshots.map((snapshot: { store: string }) => snapshot.store)).toEqual(['gone']);
    const audit = await sandbox.run(['audit', 'list', '--store', 'gone', '--json']);
    expect(audit.exitCode).toBe(0);
    expect(audit.json().entries.length).toBeGreaterThan(0);
    // The refusal names them too, apart from the configured stores.
    const typo = await sandbox.run(['backup', 'list', '--store', 'gon', '--json']);
    expect(typo.json().error.message).toBe('No store named "gon". Known stores: lite; backups in the repository also name gone.');
  });
});
