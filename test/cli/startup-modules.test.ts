// What start-up loads decides how fast every command starts (issue 16, `npm run bench:startup`).
// @oclif/core comes from the one bundled file `npm run build` writes (dist/vendor, see
// scripts/bundle-oclif.mjs), never from its ~100 files in node_modules, compiled from the V8 code
// cache the build left beside it; `--help` loads no command
// module, no engine code and no driver; `db health` on the embedded SQLite default loads no semver
// (oclif's own engine check, skipped: `validate` checks the Node version), no PostgreSQL or MongoDB
// driver, no terminal UI and no backup, snapshot or sync code. Node's module debug log lists the
// CommonJS files a run requires; loader hooks (test/support/module-log.mjs) list the rest.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
    expect(has('/dist/vendor/oclif-core.js'), 'the logs work: the bundle is listed').toBe(true);
    expect(modules.filter((file) => file.includes('/node_modules/@oclif/'))).toEqual([]);
    expect(modules.filter((file) => /\/dist\/(commands|engine|ui)\//.test(file))).toEqual([]);
    for (const absent of [...heavy, 'better-sqlite3', 'cli-table3']) expect(has(absent), absent).toBe(false);
    // bin/run.js and oclif's bundle (its ES module, which compiles the CommonJS file itself), nothing else of ours or of node_modules.
    expect(modules.filter((file) => !file.startsWith('node:') && !file.includes('/test/support/'))).toEqual([
      path.join(ROOT, 'bin/run.js'),
      path.join(ROOT, 'dist/vendor/oclif-core.js'),
    ]);
  }, 60_000);

  it('db health on the embedded default loads only what it needs', async () => {
    const { run, modules, has } = await loadedBy(['db', 'health']);
    expect(run.exitCode, run.stderr.slice(-2000)).toBe(0);
    expect(has('better-sqlite3'), 'the logs work: the engine it uses is there').toBe(true);
    expect(has('/dist/commands/db/health.js')).toBe(true);
    expect(has('/dist/vendor/oclif-core.js')).toBe(true);
    expect(modules.filter((file) => file.includes('/node_modules/@oclif/'))).toEqual([]);
    // Tables are drawn by src/ui/table.ts, and oclif's loggers stay stubs unless DEBUG is set.
    for (const absent of [...heavy, 'cli-table3', 'string-width', '/node_modules/debug/', 'supports-color']) expect(has(absent), absent).toBe(false);
    expect(run.stdout).toMatch(/│ local │ sqlite │ up /);
    expect(modules.filter((file) => /\/dist\/engine\/(backup|snapshot|sync|repository|tenant|failover|audit)\//.test(file))).toEqual([]);
    expect(modules.filter((file) => /\/dist\/engine\/engines\/(postgres|mongodb)\//.test(file))).toEqual([]);
  }, 60_000);

  it('compiles oclif from the code cache the build made; a cache V8 refuses, or none, only costs time', async () => {
    const vendor = path.join(ROOT, 'dist/vendor');
    const caches = fs.readdirSync(vendor).filter((name) => name.endsWith('.v8cache'));
    expect(caches, 'npm run build leaves one code cache, named after the bundle').toHaveLength(1);
    const load = (dir: string, env: Record<string, string> = {}) => {
      const script = `const core = await import(${JSON.stringify(pathToFileURL(path.join(dir, 'oclif-core.js')).href)});
        console.log(JSON.stringify({ cached: globalThis[Symbol.for('storage.oclifScript')].cached, run: typeof core.run, flags: typeof core.Flags.string }));`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '', ...env },
      });
      expect(result.status, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { cached: string; run: string; flags: string };
    };
    expect(load(vendor)).toEqual({ cached: 'used', run: 'function', flags: 'function' });
    expect(load(vendor, { NODE_DISABLE_COMPILE_CACHE: '1' })).toEqual({ cached: 'absent', run: 'function', flags: 'function' });
    // A damaged cache (or one from another Node) is refused by V8 and the bundle compiled from source.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-vendor-'));
    try {
      for (const name of fs.readdirSync(vendor)) fs.copyFileSync(path.join(vendor, name), path.join(copy, name));
      fs.writeFileSync(path.join(copy, caches[0]), Buffer.alloc(fs.statSync(path.join(vendor, caches[0])).size, 7));
      expect(load(copy)).toEqual({ cached: 'rejected', run: 'function', flags: 'function' });
      fs.rmSync(path.join(copy, caches[0]));
      expect(load(copy)).toEqual({ cached: 'absent', run: 'function', flags: 'function' });
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  }, 60_000);

  it("keeps oclif's debug log: DEBUG=oclif:* still prints it, and without DEBUG nothing is printed", async () => {
    const sandbox = makeSandbox();
    const quiet = await sandbox.run(['db', 'list']);
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/oclif/);
    const debug = await sandbox.run(['db', 'list'], { env: { DEBUG: 'oclif:*' } });
    expect(debug.exitCode, debug.stderr).toBe(0);
    expect(debug.stderr).toMatch(/oclif:main process\.argv/);
    for (const run of [quiet, debug]) expect(run.stdout).toMatch(/│ local +│ sqlite /);
  }, 60_000);

  it('sorts the commands without ICU (the bundle patches oclif): for our command ids, code-point order is the order localeCompare gave', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, unknown> };
    const ids = Object.keys(manifest.commands);
    expect(ids.length).toBeGreaterThan(40);
    const byLocale = [...ids].sort((a, b) => a.localeCompare(b));
    const byCodePoint = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(byCodePoint).toEqual(byLocale);
    const bundle = fs.readFileSync(path.join(ROOT, 'dist/vendor/oclif-core.cjs'), 'utf8');
    expect(bundle).not.toMatch(/localeCompare/);
  });
});
