// What start-up loads decides how fast every command starts (issue 16, `npm run bench:startup`):
// `db health` on the embedded SQLite default loads no semver (oclif's own engine check, skipped:
// `validate` checks the Node version), no PostgreSQL or MongoDB driver, and no backup, snapshot or
// sync code. Node's module debug log lists every CommonJS module a run loads.
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';

describe('start-up', () => {
  it('db health on the embedded default loads only what it needs', async () => {
    const sandbox = makeSandbox();
    const run = await sandbox.run(['db', 'health'], { env: { NODE_DEBUG: 'module' } });
    expect(run.exitCode, run.stderr.slice(-2000)).toBe(0);
    const loaded = run.stderr;
    expect(loaded).toMatch(/better-sqlite3/); // the log works: the engine it uses is there
    for (const absent of ['/semver/', '/node_modules/pg/', '/node_modules/mongodb/', '/node_modules/listr2/', 'pg-copy-streams'])
      expect(loaded, absent).not.toContain(absent);
  }, 60_000);
});
