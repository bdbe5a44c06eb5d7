// What start-up loads decides how fast every command starts (issue 16, `npm run bench:startup`).
// @oclif/core comes from the one bundled file `npm run build` writes (dist/vendor, see
// scripts/bundle-oclif.mjs), never from its ~100 files in node_modules; `--help` loads no command
// module, no engine code and no driver; `db health` on the embedded SQLite default loads no semver
// (oclif's own engine check, skipped: `validate` checks the Node version), no PostgreSQL or MongoDB
// driver, no terminal UI and no backup, snapshot or sync code. Node's module debug log lists the
// CommonJS files a run requires; loader hooks (test/support/module-log.mjs) list the rest.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { ROOT } from '../support/paths.js';

async function loadedBy(args: string[]) {
  const sandbox = makeSandbox();
  const log = path.join(sandbox.dir, 'modules.log');
  const run = await sandbox.run(args, {
    env: { NODE_DEBUG: 'module', NODE_OPTIONS: `--import=${path.join(ROOT, 'test/support/module-log.mjs')}`, STORAGE_TEST_MODULE_LOG: log },
  });
  const required = [...run.stderr.matchAll(/^MODULE \d+: load "([^"]+)"/gm)].map((m) => m[1]);
  const imported = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  const modules = [...new Set([...required, ...imported.map((url) => (url.startsWith('file:') ? decodeURIComponent(new URL(url).pathname) : url))])];
  return { run, modules, has: (part: string) => modules.some((file) => file.includes(part)) };
}

// Drivers, terminal UI and parsers only some commands need: each behind an import() of its own.
const heavy = [
  '/node_modules/pg/',
  'pg-copy-streams',
  '/node_modules/mongodb/',
  '/node_modules/ink/',
  '/node_modules/react/',
  '/node_modules/listr2/',
  '/node_modules/zod/',
  '/node_modules/yaml/',
  '/semver/',
];

describe('start-up', () => {
  it('--help loads oclif from its bundle and nothing of the commands, the engine or the drivers', async () => {
    const { run, modules, has } = await loadedBy(['--help']);
    expect(run.exitCode, run.stderr.slice(-2000)).toBe(0);
    expect(run.stdout).toMatch(/^TOPICS$/m); // the help itself is still there
    expect(has('/dist/vendor/oclif-core.cjs'), 'the logs work: the bundle is listed').toBe(true);
    expect(modules.filter((file) => file.includes('/node_modules/@oclif/'))).toEqual([]);
    expect(modules.filter((file) => /\/dist\/(commands|engine|ui)\//.test(file))).toEqual([]);
    for (const absent of [...heavy, 'better-sqlite3', 'cli-table3']) expect(has(absent), absent).toBe(false);
    // bin/run.js and oclif's bundle (its ES module face and the CommonJS file), nothing else of ours or of node_modules.
    expect(modules.filter((file) => !file.startsWith('node:') && !file.includes('/test/support/'))).toHaveLength(3);
  }, 60_000);

  it('db health on the embedded default loads only what it needs', async () => {
    const { run, modules, has } = await loadedBy(['db', 'health']);
    expect(run.exitCode, run.stderr.slice(-2000)).toBe(0);
    expect(has('better-sqlite3'), 'the logs work: the engine it uses is there').toBe(true);
    expect(has('/dist/commands/db/health.js')).toBe(true);
    expect(has('/dist/vendor/oclif-core.cjs')).toBe(true);
    expect(modules.filter((file) => file.includes('/node_modules/@oclif/'))).toEqual([]);
    for (const absent of heavy) expect(has(absent), absent).toBe(false);
    expect(modules.filter((file) => /\/dist\/engine\/(backup|snapshot|sync|repository|tenant|failover|audit)\//.test(file))).toEqual([]);
    expect(modules.filter((file) => /\/dist\/engine\/engines\/(postgres|mongodb)\//.test(file))).toEqual([]);
  }, 60_000);
});
