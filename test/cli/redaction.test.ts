// No password may appear anywhere the tool writes: tables, CSV, JSON, errors, hints, warnings.
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { APP_PASSWORD, URL_PASSWORD, WRONG_PASSWORD } from '../support/secrets.js';
import { servers } from '../support/servers.js';

describe('secrets in output', () => {
  it('no command prints a password from the URL, the config or the environment, in any format', async () => {
    const sandbox = makeSandbox();
    const authPort = new URL(servers().pgAuthUrl).port;
    sandbox.writeConfig({
      stores: {
        inurl: { engine: 'postgres', url: `postgres://app:${URL_PASSWORD}@127.0.0.1:1/app`, connectTimeout: '1s' },
        infile: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${authPort}/postgres`, password: APP_PASSWORD },
        fromenv: { engine: 'mongodb', url: `mongodb://ops@127.0.0.1:1/ev`, connectTimeout: '1s' },
      },
    });
    const env = { STORAGE_STORE_FROMENV_PASSWORD: WRONG_PASSWORD };
    const commands = [
      ['db', 'list'],
      ['db', 'list', '--csv'],
      ['db', 'list', '--json'],
      ['db', 'health'],
      ['db', 'health', '--json'],
      ['db', 'health', '--csv'],
      ['db', 'health', '--watch', '--once'],
      ['db', 'info', 'infile'],
      ['db', 'info', 'inurl', '--json'],
      ['db', 'pools', '--json'],
      ['db', 'pools'],
      ['db', 'create', 'infile', 'x1'],
      ['db', 'drop', 'inurl', 'x1', '--confirm', 'x1', '--json'],
      ['config', 'show'],
      ['config', 'show', '--json'],
      ['config', 'validate'],
      ['config', 'validate', '--json'],
    ];
    const codes: number[] = [];
    for (const args of commands) {
      const result = await sandbox.run(args, { env });
      codes.push(result.exitCode);
      for (const secret of [URL_PASSWORD, APP_PASSWORD, WRONG_PASSWORD]) {
        expect(result.stdout, `${args.join(' ')} stdout`).not.toContain(secret);
        expect(result.stderr, `${args.join(' ')} stderr`).not.toContain(secret);
      }
    }
    // The commands really did fail against these stores (so their error paths were exercised).
    expect(codes.filter((code) => code !== 0).length).toBeGreaterThanOrEqual(8);
  });
});
