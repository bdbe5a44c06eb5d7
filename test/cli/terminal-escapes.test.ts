// Names the tool did not choose reach the operator's terminal: a table name in a SQLite file, a
// database name a PostgreSQL server lists (whoever may create databases chose it), a backup tag
// read back from a repository, a path in the config. Each one here holds terminal controls (an OSC
// that retitles the window, a CSI that clears the screen, a BEL, a carriage return that draws over
// the line, the C1 CSI U+009B): the output must show them as escapes, never send them raw, while
// the tool's own tables (and, at a terminal, its own colours) are unchanged.
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type CliResult } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';
import { openTerminal } from '../support/terminal.js';

/** Every trick at once: OSC 0 (window title) ended by BEL, CSI 2J (clear screen), CR, C1 CSI. */
const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J\rX\u009b31m';
/** How the output must show it: escaped as JSON escapes it (C1 too). */
const SHOWN = String.raw`\u001b]0;pwned\u0007\u001b[2J\rX\u009b31m`;

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The control characters a run sent (none is the tool's own: no colour without a terminal). */
function rawControls(result: CliResult): string[] {
  return [...`${result.stdout}${result.stderr}`.matchAll(RAW_CONTROL)].map(([char]) => `U+${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The boxed table's lines all take the same columns: an escaped name is measured as it is shown. */
function tableWidths(text: string): number[] {
  return [
    ...new Set(
      text
        .split('\n')
        .filter((line) => /^[┌│├└]/.test(line))
        .map((line) => [...line].length),
    ),
  ];
}

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

function sqliteSandbox() {
  const sandbox = makeSandbox();
  sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/app.db' } }, backup: { repository: './repo' } });
  fs.mkdirSync(path.join(sandbox.dir, 'data'));
  const db = new Sqlite(path.join(sandbox.dir, 'data/app.db'));
  const table = `evil${HOSTILE}`.replace(/"/g, '""');
  db.exec(`create table "${table}" (id integer primary key); insert into "${table}" default values; create table plain (id integer)`);
  db.close();
  return sandbox;
}

describe('terminal controls in names the tool did not choose', () => {
  it('a SQLite table name in snapshot diff and backup show, and a backup tag in backup list, are shown escaped', async () => {
    const sandbox = sqliteSandbox();
    const snapshot = await sandbox.run(['snapshot', 'create', 'lite', '--name', 'before']);
    expect(snapshot.exitCode, snapshot.stderr).toBe(0);
    const diff = await sandbox.run(['snapshot', 'diff', 'before']);
    expect(diff.exitCode, diff.stderr).toBe(0);
    expect(rawControls(diff)).toEqual([]);
    expect(diff.stdout).toContain(`evil${SHOWN}`);
    expect(diff.stdout).toContain('plain');
    expect(tableWidths(diff.stdout)).toHaveLength(1);

    const created = await sandbox.run(['backup', 'create', 'lite', '--tag', `nightly${HOSTILE}`, '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const id = created.json().stores[0].backup.id as string;
    const show = await sandbox.run(['backup', 'show', id], { env });
    expect(show.exitCode, show.stderr).toBe(0);
    expect(rawControls(show)).toEqual([]);
    expect(show.stdout).toContain(`evil${SHOWN}`);
    expect(show.stdout).toContain(`tags     nightly${SHOWN}`);
    const list = await sandbox.run(['backup', 'list'], { env });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(rawControls(list)).toEqual([]);
    expect(list.stdout).toContain(`nightly${SHOWN}`);
    expect(tableWidths(list.stdout)).toHaveLength(1);
    // --json keeps the exact name (JSON's own escapes): a program reads what is in the repository.
    const json = await sandbox.run(['backup', 'show', id, '--json'], { env });
    expect(rawControls(json)).toEqual([]);
    expect(json.json().tags).toEqual([`nightly${HOSTILE}`]);
    expect(Object.keys(json.json().counts)).toContain(`evil${HOSTILE}`);
  });

  it("a SQLite path from the config is shown escaped in db list's table and in a failure that names it", async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: `missing/app${HOSTILE}.db` } } });
    const list = await sandbox.run(['db', 'list']);
    expect(rawControls(list)).toEqual([]);
    expect(list.stdout).toContain(`app${SHOWN}.db`);
    expect(tableWidths(list.stdout)).toHaveLength(1);
    const info = await sandbox.run(['db', 'info', 'lite']);
    expect(info.exitCode).not.toBe(0);
    expect(rawControls(info)).toEqual([]);
    expect(info.stderr).toContain(`app${SHOWN}.db`);
  });

  it('a store name or a store reference in the config holding controls is shown quoted and escaped (C1 too)', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig(`stores:\n  "pg\\e]0;pwned\\a\\r\\u009b2J":\n    engine: sqlite\n    path: a.db\n`);
    const key = await sandbox.run(['db', 'list']);
    expect(key.exitCode).not.toBe(0);
    expect(rawControls(key)).toEqual([]);
    expect(key.stderr).toContain(String.raw`stores."pg\u001b]0;pwned\u0007\r\u009b2J"`);
    sandbox.writeConfig(`stores:\n  lite: { engine: sqlite, path: b.db }\ntenancy:\n  store: "lite\\e]0;pwned\\a\\u009b2J"\n`);
    const reference = await sandbox.run(['db', 'list']);
    expect(reference.exitCode).not.toBe(0);
    expect(rawControls(reference)).toEqual([]);
    expect(reference.stderr).toContain(String.raw`names a store that is not configured: lite\u001b]0;pwned\u0007\u009b2J`);
  });

  describe('a PostgreSQL database name chosen by whoever may create databases', () => {
    const database = `${uniqueName('escfix')}${HOSTILE}`;
    const quoted = `"${database.replace(/"/g, '""')}"`;
    beforeAll(async () => {
      await pgAdmin((client) => client.query(`create database ${quoted}`));
    });
    afterAll(async () => {
      await pgAdmin((client) => client.query(`drop database if exists ${quoted}`));
    });

    it('is shown escaped by db info, its --json keeps the exact name', async () => {
      const sandbox = makeSandbox();
      sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor('postgres') } } });
      const info = await sandbox.run(['db', 'info', 'main']);
      expect(info.exitCode, info.stderr).toBe(0);
      expect(rawControls(info)).toEqual([]);
      expect(info.stdout).toContain(`${database.slice(0, database.indexOf('\u001b'))}${SHOWN}`);
      expect(tableWidths(info.stdout)).toHaveLength(1);
      const csv = await sandbox.run(['db', 'info', 'main', '--csv']);
      expect(rawControls(csv)).toEqual([]);
      const json = await sandbox.run(['db', 'info', 'main', '--json']);
      expect(rawControls(json)).toEqual([]);
      expect(json.json().databases.map((db: { name: string }) => db.name)).toContain(database);
    });

    it('at a terminal: the window keeps its title, the screen is not cleared, the own colours stay', async () => {
      const sandbox = makeSandbox();
      sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor('postgres') } } });
      const terminal = openTerminal(['db', 'info', 'main'], { cwd: sandbox.dir, env: sandbox.env, columns: 160, rows: 40 });
      try {
        expect(await terminal.exitCode()).toBe(0);
        expect(terminal.title()).not.toContain('pwned');
        const screen = terminal.screen();
        // Nothing cleared the screen: the first line the tool wrote is still there.
        expect(screen).toContain('main (postgres)');
        expect(screen).toContain(`escfix_`);
        expect(screen).toContain(String.raw`\u001b]0;pwned\u0007`);
        // The table's own colours (grey borders, cyan headers) are still drawn.
        // eslint-disable-next-line no-control-regex
        expect(terminal.screen({ escapes: true })).toMatch(/\u001b\[(?:\d+;)*36m database/);
      } finally {
        terminal.close();
      }
    });
  });
});

describe('terminal controls in the task list at a terminal', () => {
  it("a store's failure naming a hostile path is drawn escaped by the task list, and printed escaped after it", async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: `missing/app${HOSTILE}.db` } }, backup: { repository: './repo' } });
    const terminal = openTerminal(['backup', 'create', 'lite'], { cwd: sandbox.dir, env: { ...sandbox.env, ...env }, columns: 200, rows: 40 });
    try {
      expect(await terminal.exitCode()).not.toBe(0);
      expect(terminal.title()).not.toContain('pwned');
      const screen = terminal.screen();
      expect(screen).toMatch(/Back up lite/);
      expect(screen).toContain(String.raw`app\u001b]0;pwned\u0007`);
    } finally {
      terminal.close();
    }
  });
});
