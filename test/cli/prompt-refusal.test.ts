// Ctrl-C or Ctrl-D at a confirmation or passphrase prompt is the operator saying no: one line,
// exit 130 (Ctrl-C) or 77 (Ctrl-D, no answer), nothing changed, audited as refused.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { openTerminal, type Terminal } from '../support/terminal.js';

describe('a prompt answered with Ctrl-C or Ctrl-D', () => {
  let sandbox: Sandbox;
  let terminal: Terminal | undefined;
  let database: string;

  beforeAll(async () => {
    sandbox = makeSandbox();
    expect((await sandbox.run(['db', 'create', 'local', 'keepme'])).exitCode).toBe(0);
    database = path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'keepme.db');
  });

  afterEach(() => {
    terminal?.close();
    terminal = undefined;
  });

  it.each([
    ['C-c', 130, 'Error: Cancelled at the prompt (Ctrl-C); nothing was changed.'],
    ['C-d', 77, 'Error: No answer at the prompt (Ctrl-D); nothing was changed.'],
  ])('%s at the db drop confirmation: exit %i, one line, the database is still there', async (key, exitCode, line) => {
    terminal = openTerminal(['db', 'drop', 'local', 'keepme'], { cwd: sandbox.dir, env: sandbox.env });
    await terminal.waitFor(/Type its name to confirm: $/m);
    terminal.keys(key);
    expect(await terminal.exitCode()).toBe(exitCode);
    const screen = terminal.screen().trimEnd();
    expect(screen.split('\n').slice(1)).toEqual([line]);
    expect(fs.existsSync(database)).toBe(true);
    const audit = (await sandbox.run(['audit', 'list', '--json'])).json().entries;
    expect(audit.at(-1)).toMatchObject({ command: 'storage db drop local keepme', outcome: 'refused', exitCode });
  });

  it('Ctrl-C at the hidden vault passphrase prompt: exit 130, one line', async () => {
    terminal = openTerminal(['secrets', 'list'], { cwd: sandbox.dir, env: sandbox.env });
    await terminal.waitFor(/Vault passphrase for .*: $/m);
    terminal.keys('C-c');
    expect(await terminal.exitCode()).toBe(130);
    expect(terminal.screen().trimEnd().split('\n').at(-1)).toBe('Error: Cancelled at the prompt (Ctrl-C); nothing was changed.');
    expect(terminal.screen()).not.toMatch(/unexpected/);
  });
});
