// The live views at a real terminal (tmux, 80×24), against real stores, one of them hung: each
// store is drawn as soon as it answers, rounds keep their cadence while the hung store is waited
// on, every line fits and follows a resize, a down store is red in both views, NO_COLOR means no
// colour, and --watch --json is refused.
import Sqlite from 'better-sqlite3';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { startBlackhole, type Blackhole } from '../support/net.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';
import { openTerminal, type Terminal } from '../support/terminal.js';

const ESC = String.fromCharCode(27);
/** SGR sequences that set a colour (foreground or background), as tmux reports them. */
const COLOUR = new RegExp(`${ESC}\\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|4[0-7]|10[0-7]|38;|48;)[0-9;]*m`);

function rowOf(screen: string, store: string): string {
  return screen.split('\n').find((line) => line.includes(store)) ?? '';
}

describe('live views at a terminal', () => {
  let sandbox: Sandbox;
  let hole: Blackhole;
  let terminal: Terminal | undefined;
  const database = uniqueName('live');

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${database}`));
    hole = await startBlackhole();
    sandbox = makeSandbox();
    new Sqlite(path.join(sandbox.dir, 'lite.db')).exec('create table t (x)');
    sandbox.writeConfig({
      stores: {
        main: { engine: 'postgres', url: pgUrlFor(database) },
        lite: { engine: 'sqlite', path: 'lite.db' },
        'refused-store-with-a-long-name': { engine: 'postgres', url: 'postgres://x@127.0.0.1:1/x', connectTimeout: '1s' },
        hung: { engine: 'postgres', url: `postgres://x@127.0.0.1:${hole.port}/x`, connectTimeout: '20s' },
      },
    });
  });

  afterEach(() => {
    terminal?.close();
    terminal = undefined;
  });

  afterAll(async () => {
    await hole.close();
    await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
  });

  it('db health --watch: stores are drawn as they answer and rounds go on while the hung store is waited on; it fits 80×24 and follows a resize', async () => {
    terminal = openTerminal(['db', 'health', '--watch', '--interval', '1'], { cwd: sandbox.dir, env: sandbox.env });
    // The healthy stores are up while the hung one has not answered its first probe.
    let screen = await terminal.waitFor(/main .*standalone[\s\S]*lite .*standalone[\s\S]*hung .*probing/);
    const round = Number(/round (\d+)/.exec(screen)![1]);
    // Two more rounds start on time while the hung store is still being waited on.
    screen = await terminal.waitFor(new RegExp(`round (?:${round + 2}|${round + 3}|${round + 4})\\b[\\s\\S]*hung .*probing`));
    for (const line of screen.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    for (const store of ['main', 'lite', 'refused', 'hung'])
      expect(
        screen.split('\n').filter((line) => line.includes(store)),
        store,
      ).toHaveLength(1);
    expect(rowOf(screen, 'refused')).toMatch(/UNREACHABLE/);
    expect(screen).not.toMatch(/CIRCUIT_OPEN/);

    terminal.resize(50, 12);
    screen = await terminal.waitFor(/^(?![\s\S]*engine)[\s\S]*main/);
    for (const line of screen.split('\n')) expect(line.length, line).toBeLessThanOrEqual(50);
    for (const store of ['main', 'lite', 'refus', 'hung'])
      expect(
        screen.split('\n').filter((line) => line.includes(store)),
        store,
      ).toHaveLength(1);
    terminal.resize(120, 30);
    await terminal.waitFor(/store\s+engine\s+latency\s+role\s+history\s+state/);

    terminal.keys('q');
    expect(await terminal.exitCode()).toBe(0);
  });

  it('a down store is red in both views, an up store green', async () => {
    for (const view of ['health', 'pools']) {
      terminal = openTerminal(['db', view, '--watch'], { cwd: sandbox.dir, env: sandbox.env });
      await terminal.waitFor(/(?=[\s\S]*refused\S*\s.*UNREACHABLE)(?=[\s\S]*main\s)/);
      const coloured = terminal.screen({ escapes: true });
      expect(rowOf(coloured, 'refused'), view).toContain(`${ESC}[31m●`);
      expect(rowOf(coloured, 'main'), view).toContain(`${ESC}[32m●`);
      terminal.keys('q');
      expect(await terminal.exitCode()).toBe(0);
      terminal.close();
      terminal = undefined;
    }
  });

  it('NO_COLOR=1: neither live view uses colour', async () => {
    for (const view of ['health', 'pools']) {
      terminal = openTerminal(['db', view, '--watch'], { cwd: sandbox.dir, env: { ...sandbox.env, NO_COLOR: '1' } });
      await terminal.waitFor(/(?=[\s\S]*refused\S*\s.*UNREACHABLE)(?=[\s\S]*main\s)/);
      expect(terminal.screen({ escapes: true }), view).not.toMatch(COLOUR);
      terminal.keys('q');
      expect(await terminal.exitCode()).toBe(0);
      terminal.close();
      terminal = undefined;
    }
  });

  it('--watch --json is refused (64), without a TTY as at one; --watch --once --json prints one document', async () => {
    const single = makeSandbox();
    for (const view of ['health', 'pools']) {
      const refused = await single.run(['db', view, '--watch', '--json']);
      expect(refused.exitCode, view).toBe(64);
      expect(refused.json().error.hint).toContain('--once');
      const once = await single.run(['db', view, '--watch', '--once', '--json']);
      expect(once.exitCode, view).toBe(0);
      expect(once.json().stores).toHaveLength(1);
    }
    terminal = openTerminal(['db', 'health', '--watch', '--json'], { cwd: single.dir, env: single.env });
    expect(await terminal.exitCode()).toBe(64);
  });
});
