// The very first backups into a new repository, started at the same moment (two cron lines at
// 02:15): they must share one repository and one key, so every backup stays readable.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCli } from '../support/backups.js';
import { makeSandbox } from '../support/cli.js';
import { makeSqlite } from '../support/repository.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';

describe('first backups at once', () => {
  it.each([
    ['a passphrase (scrypt makes the window wide)', { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE }],
    ['the default key file, created by the first run', {}],
  ])('two first backups started together with %s make one repository, and both verify', async (_what, env: Record<string, string>) => {
    const sandbox = makeSandbox();
    makeSqlite(path.join(sandbox.dir, 'a.db'));
    makeSqlite(path.join(sandbox.dir, 'b.db'));
    sandbox.writeConfig({ stores: { a: { engine: 'sqlite', path: './a.db' }, b: { engine: 'sqlite', path: './b.db' } }, backup: { repository: './repo' } });
    const runs = await Promise.all([startCli(sandbox, ['backup', 'create', 'a'], env), startCli(sandbox, ['backup', 'create', 'b'], env)]);
    for (const run of runs) expect(run.exitCode, String(run.stderr)).toBe(0);
    const verified = await sandbox.run(['backup', 'verify', '--all', '--read-data', '--json'], { env });
    expect(verified.exitCode, verified.stderr).toBe(0);
    expect(
      verified
        .json()
        .results.map((result: { store: string; ok: boolean }) => [result.store, result.ok])
        .sort(),
    ).toEqual([
      ['a', true],
      ['b', true],
    ]);
  });
});
