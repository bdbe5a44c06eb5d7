// An interrupted run (Ctrl-C at a terminal, SIGINT or SIGTERM from cron, CI or a service manager)
// stops cleanly: no lock left, nothing that looks like a complete backup, scratch removed, one line
// saying what stopped and what is left, exit 130 / 143, and an `interrupted` audit entry.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BIN } from '../support/paths.js';
import { openTerminal, until, type Terminal } from '../support/terminal.js';

describe('interrupted runs', () => {
  let sandbox: Sandbox;
  let repo: string;
  let terminal: Terminal | undefined;

  beforeAll(async () => {
    sandbox = makeSandbox();
    // Big enough that compressing and encrypting it takes a while: the run is caught mid-way.
    const db = new Sqlite(path.join(sandbox.dir, 'big.db'));
    db.exec(
      'create table t (x blob); with recursive c(i) as (select 1 union all select i + 1 from c where i < 150000) insert into t select randomblob(1000) from c',
    );
    db.close();
    sandbox.writeConfig({ stores: { big: { engine: 'sqlite', path: 'big.db' } } });
    repo = path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'backups');
    // The repository and its key exist before the runs that get interrupted.
    expect((await sandbox.run(['backup', 'create', 'big', '-q'])).exitCode).toBe(0);
  });

  afterEach(() => {
    terminal?.close();
    terminal = undefined;
  });

  /** Resolves once the backup is writing its payload: the lock is held and the unfinished backup exists. */
  function midBackup(): Promise<string> {
    return until(
      () => {
        if (!fs.existsSync(path.join(repo, 'locks', 'big.lock'))) return undefined;
        return fs.readdirSync(path.join(repo, 'backups')).find((id) => !fs.existsSync(path.join(repo, 'backups', id, 'manifest.json')));
      },
      60_000,
      'the backup to start',
    );
  }

  async function expectCleanlyStopped(id: string, exitCode: number, command = 'storage backup create big') {
    expect(fs.existsSync(path.join(repo, 'locks', 'big.lock')), 'the lock is released').toBe(false);
    expect(fs.existsSync(path.join(repo, 'backups', id)), 'the unfinished backup is removed').toBe(false);
    expect(fs.readdirSync(path.join(repo, 'tmp')), 'scratch is removed').toEqual([]);
    const listed = (await sandbox.run(['backup', 'list', '--json'])).json().backups;
    expect(listed.map((backup: { status: string }) => backup.status)).toEqual(listed.map(() => 'complete'));
    const audit = (await sandbox.run(['audit', 'list', '--json'])).json().entries;
    expect(audit.at(-1)).toMatchObject({ command, stores: ['big'], outcome: 'interrupted', exitCode });
  }

  const stoppedLine = (signal: string, command = 'storage backup create big') =>
    new RegExp(
      `^Interrupted by ${signal}: ${command} stopped; cleaned up the unfinished backup \\S+ and the lock on store "big"; no backup of this run completed\\.$`,
    );

  it('SIGINT without a TTY: exit 130, one line, nothing left behind, audited as interrupted', async () => {
    const run = execa(process.execPath, [BIN, 'backup', 'create', 'big'], {
      cwd: sandbox.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    const id = await midBackup();
    run.kill('SIGINT');
    const result = await run;
    expect(result.exitCode).toBe(130);
    expect(String(result.stdout)).toBe('');
    const lines = String(result.stderr).trim().split('\n');
    expect(lines.at(-1)).toMatch(stoppedLine('SIGINT'));
    expect(lines.filter((line) => line.startsWith('Interrupted'))).toHaveLength(1);
    await expectCleanlyStopped(id, 130);
  });

  it('SIGTERM with --json: exit 143, one JSON document saying so, nothing left behind', async () => {
    const run = execa(process.execPath, [BIN, 'backup', 'create', 'big', '--json'], {
      cwd: sandbox.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    const id = await midBackup();
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(143);
    expect(JSON.parse(String(result.stdout))).toMatchObject({
      error: { code: 'INTERRUPTED', exitCode: 143, message: expect.stringMatching(stoppedLine('SIGTERM', 'storage backup create big --json')) },
    });
    expect(String(result.stderr).trim().split('\n').at(-1)).toMatch(stoppedLine('SIGTERM', 'storage backup create big --json'));
    await expectCleanlyStopped(id, 143, 'storage backup create big --json');
  });

  it('Ctrl-C at a terminal, with the task list drawing: exit 130 (not 127), the line, nothing left behind', async () => {
    terminal = openTerminal(['backup', 'create', 'big'], { cwd: sandbox.dir, env: sandbox.env });
    const id = await midBackup();
    terminal.keys('C-c');
    expect(await terminal.exitCode()).toBe(130);
    const screen = terminal.screen();
    expect(screen.split('\n').filter((line) => line.startsWith('Interrupted by SIGINT'))).toHaveLength(1);
    expect(screen).toMatch(/Interrupted by SIGINT: storage backup create big stopped; cleaned up the unfinished backup \S+ and the lock on store "big"/);
    await expectCleanlyStopped(id, 130);
  });

  it('SIGTERM at the first turn of the event loop after Node starts running JavaScript: still answered (JSON, exit 143), not a silent death by the signal', async () => {
    // The signal is sent by a preload, on the loop's first turn. An entry loaded as an ES module
    // is read, linked and run over several turns, so its listeners came too late (killed by the
    // signal, no output); the CommonJS entry has them in place before the loop turns at all.
    const preload = path.join(sandbox.dir, 'term-first-turn.cjs');
    fs.writeFileSync(preload, "setImmediate(() => process.kill(process.pid, 'SIGTERM'));\n");
    const result = await execa(process.execPath, [BIN, 'backup', 'create', 'big', '--json'], {
      cwd: sandbox.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env, NODE_OPTIONS: `--require ${preload}` },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    expect(result.signal, String(result.stderr)).toBeUndefined();
    expect(result.exitCode).toBe(143);
    expect(JSON.parse(String(result.stdout))).toMatchObject({ error: { code: 'INTERRUPTED', exitCode: 143 } });
    expect(String(result.stderr).trim()).toBe('Interrupted by SIGTERM: storage stopped while starting; nothing was in progress to clean up.');
  });

  it('SIGTERM with --json at any moment of start-up (oclif loading, the lock being taken): the JSON document, exit 143, nothing left', async () => {
    const backupsBefore = fs.readdirSync(path.join(repo, 'backups')).sort();
    // A preload marks the moment Node has started and runs JavaScript (before that, Node itself ends
    // the process on SIGTERM: nothing of the run exists yet, and no handler of any program could run).
    const preload = path.join(sandbox.dir, 'mark-started.cjs');
    fs.writeFileSync(preload, "require('node:fs').writeFileSync(process.env.TEST_STARTED_MARK, String(process.pid));\n");
    // The signal lands at every point of the first ~0.5 s after that: oclif loading, the command
    // starting, the config read and the lock taken while the interruption is being handled.
    for (let delay = 20; delay <= 500; delay += 20) {
      const mark = path.join(sandbox.dir, `started-${delay}`);
      const run = execa(process.execPath, [BIN, 'backup', 'create', 'big', '--json'], {
        cwd: sandbox.dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env, NODE_OPTIONS: `--require ${preload}`, TEST_STARTED_MARK: mark },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      });
      await until(() => (fs.existsSync(mark) ? true : undefined), 30_000, 'the run to start');
      await new Promise((resolve) => setTimeout(resolve, delay));
      run.kill('SIGTERM');
      const result = await run;
      const at = `SIGTERM ${delay} ms after Node started`;
      expect(result.signal, `${at}: ended by the signal itself, without a word`).toBeUndefined();
      expect(result.exitCode, `${at}: ${result.stderr}`).toBe(143);
      expect(JSON.parse(String(result.stdout)), at).toMatchObject({ error: { code: 'INTERRUPTED', exitCode: 143 } });
      expect(String(result.stderr).trim().split('\n').at(-1), at).toMatch(/^Interrupted by SIGTERM: storage /);
      expect(fs.existsSync(path.join(repo, 'locks', 'big.lock')), `${at}: no lock is left`).toBe(false);
      expect(fs.readdirSync(path.join(repo, 'backups')).sort(), `${at}: no backup, complete or not, is left`).toEqual(backupsBefore);
      expect(fs.readdirSync(path.join(repo, 'tmp')), `${at}: scratch is removed`).toEqual([]);
    }
  }, 180_000);

  it('the next run takes the store at once: no stale lock to break, no leftover to sweep', async () => {
    const next = await sandbox.run(['backup', 'create', 'big']);
    expect(next.exitCode).toBe(0);
    expect(next.stderr).not.toMatch(/stale lock|interrupted earlier run/);
  });
});
