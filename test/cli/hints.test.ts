// Hints show commands an operator can paste as they are: the right command, and values quoted for
// the shell.
import { execa } from 'execa';
import Sqlite from 'better-sqlite3';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BIN } from '../support/paths.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

describe('hints show commands that work when pasted', () => {
  let sandbox: Sandbox;
  const database = uniqueName('hints');
  const spaced = `${uniqueName('bad')} name`;

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${database}`));
    await pgAdmin((client) => client.query(`create database "${spaced}"`));
    sandbox = makeSandbox();
    for (const name of ['alpha', 'beta']) new Sqlite(path.join(sandbox.dir, `${name}.db`)).exec('create table t (x)');
    sandbox.writeConfig({
      stores: {
        main: { engine: 'postgres', url: pgUrlFor(database) },
        alpha: { engine: 'sqlite', path: 'alpha.db' },
        beta: { engine: 'sqlite', path: 'beta.db' },
      },
    });
  });

  afterAll(async () => {
    for (const name of [database, spaced]) await pgAdmin((client) => client.query(`drop database if exists "${name}" with (force)`));
  });

  it('a confirmation hint quotes a database name with a space, and the pasted command drops it', async () => {
    const refused = await sandbox.run(['db', 'drop', 'main', spaced, '--json']);
    expect(refused.exitCode).toBe(77);
    const hint: string = refused.json().error.hint;
    expect(hint).toContain(`--confirm '${spaced}'`);
    // Paste the hint's flag after the command, as an operator would, and let bash split the words.
    const flag = /--confirm '[^']*'/.exec(hint)![0];
    const pasted = await execa('bash', ['-c', `node ${BIN} db drop main '${spaced}' ${flag}`], {
      cwd: sandbox.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    expect(pasted.exitCode).toBe(0);
    const exists = await pgAdmin((client: pg.Client) => client.query('select 1 from pg_database where datname = $1', [spaced]));
    expect(exists.rowCount).toBe(0);
  });

  it('backup create with several stores and none named hints backup create (and --all), not another command', async () => {
    const result = await sandbox.run(['backup', 'create', '--json']);
    expect(result.exitCode).toBe(64);
    const { message, hint } = result.json().error;
    expect(message).toContain('3 are configured (main, alpha, beta)');
    expect(hint).toBe('For example: storage backup create main, or --all to back up every store.');
    const info = await sandbox.run(['db', 'info', '--json']);
    expect(info.json().error.hint).toBe('For example: storage db info main.');
  });
});
