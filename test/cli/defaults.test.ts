// The fresh-machine experience: no config at all, the embedded SQLite store, and the output
// contract (one JSON document, CSV, exit codes, no colour without a TTY).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';

const ANSI = new RegExp(String.fromCharCode(27) + '\\[');

describe('storage with no configuration', () => {
  const sandbox = makeSandbox();

  it('db health works on the embedded SQLite store and creates it in the user data dir', async () => {
    const result = await sandbox.run(['db', 'health']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/local\s+│\s+sqlite\s+│\s+up/);
    expect(fs.existsSync(path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'local.db'))).toBe(true);
    expect(result.stdout + result.stderr).not.toMatch(ANSI);
  });

  it('help: --help on the root, a topic and a command, and `storage help ...` says the same', async () => {
    const root = await sandbox.run(['--help']);
    expect(root.exitCode).toBe(0);
    expect(root.stdout).toMatch(/TOPICS[\s\S]*backup[\s\S]*validate/);
    expect((await sandbox.run(['help'])).stdout).toBe(root.stdout);
    const command = await sandbox.run(['backup', 'create', '--help']);
    expect(command.stdout).toContain('--verify');
    expect((await sandbox.run(['help', 'backup', 'create'])).stdout).toBe(command.stdout);
    const topic = await sandbox.run(['help', 'snapshot']);
    expect(topic.exitCode).toBe(0);
    expect(topic.stdout).toContain('snapshot restore');
  });

  it('--json prints exactly one JSON document on stdout', async () => {
    const result = await sandbox.run(['db', 'health', '--json']);
    expect(result.exitCode).toBe(0);
    const doc = result.json();
    expect(doc.stores).toHaveLength(1);
    expect(doc.stores[0]).toMatchObject({ store: 'local', engine: 'sqlite', status: 'up', role: 'standalone' });
  });

  it('list commands take --csv', async () => {
    const result = await sandbox.run(['db', 'list', '--csv']);
    expect(result.exitCode).toBe(0);
    const [header, row] = result.stdout.trim().split('\n');
    expect(header).toBe('store,engine,target,reachable,latency,problem');
    expect(row).toMatch(/^local,sqlite,.*local\.db,yes,/);
  });

  it('db info and db pools describe the embedded store', async () => {
    const info = (await sandbox.run(['db', 'info', '--json'])).json();
    expect(info).toMatchObject({ store: 'local', engine: 'sqlite', details: { journalMode: 'wal' } });
    const pools = await sandbox.run(['db', 'pools', '--json']);
    expect(pools.exitCode).toBe(0);
    expect(pools.json().stores[0]).toMatchObject({ store: 'local', server: { openHandles: 1 } });
  });

  it('config show and config validate say the built-in defaults are in use', async () => {
    const show = await sandbox.run(['config', 'show', '--json']);
    expect(show.json()).toMatchObject({ source: { kind: 'default' }, stores: { local: { engine: 'sqlite', embedded: true } } });
    const validate = await sandbox.run(['config', 'validate']);
    expect(validate.exitCode).toBe(0);
    expect(validate.stdout).toContain('Built-in defaults: valid, 1 store (local)');
  });

  it('an unknown store is a usage error (64) that lists the known stores, as JSON too', async () => {
    const result = await sandbox.run(['db', 'health', 'mian', '--json']);
    expect(result.exitCode).toBe(64);
    expect(result.json()).toMatchObject({
      error: { code: 'UNKNOWN_STORE', message: expect.stringContaining('Known stores: local'), hint: expect.any(String) },
    });
  });

  it('bad flags, missing arguments and unknown commands exit 64 with a hint', async () => {
    for (const args of [
      ['db', 'health', '--bogus'],
      ['db', 'create', 'local'],
      ['db', 'nosuch'],
      ['db', 'list', '--csv', '--json'],
    ]) {
      const result = await sandbox.run(args);
      expect(result.exitCode, args.join(' ')).toBe(64);
      expect(result.stderr + result.stdout).toMatch(/Hint:|"hint"/);
    }
  });

  it('db drop without a TTY and without --confirm refuses (77) and drops nothing', async () => {
    expect((await sandbox.run(['db', 'create', 'local', 'keepme'])).exitCode).toBe(0);
    const file = path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'keepme.db');
    expect(fs.existsSync(file)).toBe(true);
    const refused = await sandbox.run(['db', 'drop', 'local', 'keepme']);
    expect(refused.exitCode).toBe(77);
    expect(refused.stderr).toContain('--confirm keepme');
    expect(fs.existsSync(file)).toBe(true);
    const mismatch = await sandbox.run(['db', 'drop', 'local', 'keepme', '--confirm', 'keepm']);
    expect(mismatch.exitCode).toBe(77);
    expect(fs.existsSync(file)).toBe(true);
    const dropped = await sandbox.run(['db', 'drop', 'local', 'keepme', '--confirm', 'keepme', '--json']);
    expect(dropped.exitCode).toBe(0);
    expect(dropped.json()).toMatchObject({ dropped: true, database: 'keepme' });
    expect(fs.existsSync(file)).toBe(false);
  });

  it('dropping a database that is not there is a warning, not an error', async () => {
    const result = await sandbox.run(['db', 'drop', 'local', 'ghost', '--confirm', 'ghost']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('nothing to drop');
  });

  it('--watch refuses without a TTY (64) and names --once; --watch --once prints one frame', async () => {
    const refused = await sandbox.run(['db', 'health', '--watch']);
    expect(refused.exitCode).toBe(64);
    expect(refused.stderr).toContain('--once');
    const once = await sandbox.run(['db', 'health', '--watch', '--once']);
    expect(once.exitCode).toBe(0);
    expect(once.stdout).toMatch(/local.*sqlite.*up/);
    const pools = await sandbox.run(['db', 'pools', '--watch']);
    expect(pools.exitCode).toBe(64);
  });
});
