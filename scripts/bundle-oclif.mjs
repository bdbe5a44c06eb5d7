#!/usr/bin/env node
// Start-up (issue 16): @oclif/core is ~100 CommonJS files plus ~20 small packages, and Node 20
// resolves, reads and wraps each of them on every run — the largest part of `storage --help`.
// After `tsc`, this script bundles @oclif/core and its dependencies into one CommonJS file,
// dist/vendor/oclif-core.cjs, with a small ES module beside it (dist/vendor/oclif-core.js) that
// loads it with `require` (an `import` of a large CommonJS file costs a full scan by Node's
// export lexer) and re-exports oclif's API. Every import of '@oclif/core' in dist (and the one in
// bin/run.js) then names that module, so one copy of oclif is loaded, once.
//
// Only oclif is bundled: our own code stays one file per module, as tsc wrote it, so stack
// traces and debuggers point at dist/ lines as before. The .d.ts files keep '@oclif/core' (the
// same types). Packages oclif needs only for rare paths (globbing command files when there is no
// manifest, plugin patterns, rc-file configs, spinners, WSL detection) are evaluated on first use.
import esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const vendor = path.join(dist, 'vendor');
const require = (await import('node:module')).createRequire(import.meta.url);
process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
const core = require('@oclif/core');

// oclif's public API, as its index exports it (read from the installed version, so an upgrade
// that adds an export carries it through).
const names = Object.keys(core).filter((name) => name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name));

// Required at the top of an oclif module but used only on rare paths: replaced by an object
// whose properties load the real module when first read. Packages: globbing command files when
// there is no manifest, plugin patterns, rc-file configs, spinners, templates (see below); Node
// built-ins: a shell's name on Windows, reading a missing argument from stdin (our commands turn
// that off), performance marks (off unless asked for).
const lazy = ['tinyglobby', 'minimatch', 'lilconfig', 'cli-spinners', 'ansi-escapes', 'ejs', 'node:child_process', 'node:readline', 'node:perf_hooks'];
const lazyPlugin = {
  name: 'lazy-modules',
  setup(build) {
    const filter = new RegExp(`^(${lazy.map((name) => name.replace(/[-/:]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, (args) => (args.pluginData === 'real' ? undefined : { path: args.path, namespace: 'lazy', pluginData: args.resolveDir }));
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => {
      const real = require(args.path.startsWith('node:') ? args.path : require.resolve(args.path, { paths: [args.pluginData] }));
      const keys = Object.keys(real).filter((key) => key !== '__esModule' && key !== 'default');
      const getters = keys.map((key) => `  get ${JSON.stringify(key)}() { return load()[${JSON.stringify(key)}]; },`).join('\n');
      return {
        resolveDir: args.pluginData,
        pluginData: 'real',
        loader: 'js',
        contents: [
          `let real;`,
          `const load = () => (real ??= require(${JSON.stringify(args.path)}));`,
          `module.exports = {`,
          real.__esModule ? `  __esModule: true,` : '',
          'default' in real ? `  get default() { return load().default; },` : '',
          getters,
          `};`,
        ].join('\n'),
      };
    });
  },
};

/**
 * An esbuild plugin that replaces `call` with `replacement` in the one oclif file `file` matches.
 * The build fails when oclif's code changed under the patch (no `call` in the file).
 */
function patch(name, file, call, replacement) {
  return {
    name,
    setup(build) {
      build.onLoad({ filter: file }, (args) => {
        const text = fs.readFileSync(args.path, 'utf8');
        if (!text.includes(call)) throw new Error(`${args.path}: no \`${call}\` to patch (oclif changed: review scripts/bundle-oclif.mjs)`);
        return { contents: text.replace(call, replacement), loader: 'js' };
      });
    },
  };
}

// oclif's help passes every description, summary and flag line through ejs (compiling each into
// a function) although only examples hold a template (`<%= config.bin %>`). Text with neither an
// opening `<%` nor a closing `%>` is what ejs returns unchanged, so it is returned as it is and
// ejs loads only for a template.
const helpTemplate = patch(
  'help-template',
  /@oclif[\\/]core[\\/]lib[\\/]help[\\/]util\.js$/,
  'return ejs_1.default.render(t, context);',
  "return typeof t === 'string' && !t.includes('<%') && !t.includes('%>') ? t : ejs_1.default.render(t, context);",
);

// oclif asks for its platform on every start, and tells WSL from Linux by loading wsl-utils, which
// loads child_process and prepares PowerShell paths (~3 ms). The same test, WSL's kernel release
// (`microsoft` in it), is made here without them; wsl-utils still loads for the Windows-only shell
// lookup.
const platformCheck = patch(
  'platform-check',
  /@oclif[\\/]core[\\/]lib[\\/]util[\\/]os\.js$/,
  "return (await import('wsl-utils')).isWsl ? 'wsl' : (0, node_os_1.platform)();",
  "return (0, node_os_1.platform)() === 'linux' && /microsoft/i.test((0, node_os_1.release)()) ? 'wsl' : (0, node_os_1.platform)();",
);

// oclif sorts the commands by id with localeCompare on every start, and the first localeCompare
// of a process sets up ICU's collator: 5–20 ms here, more than the rest of the sort by far. Our
// command ids are ASCII (lowercase letters, digits, `:` and `-`), which code-point order sorts the
// same way ICU does (a test compares both orders over the manifest's ids).
const plainSort = patch(
  'plain-sort',
  /@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/,
  '.sort((a, b) => a.id.localeCompare(b.id));',
  '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));',
);

// oclif makes its loggers with the debug package at start-up, which reads the terminal's colour
// support and DEBUG's patterns (~3 ms). Unless DEBUG is set (or debug's own enable() is called),
// a logger here is a function that does nothing; with DEBUG set, debug itself makes every logger.
const quietDebug = {
  name: 'quiet-debug',
  setup(build) {
    build.onResolve({ filter: /^debug$/ }, (args) =>
      args.pluginData === 'real' ? undefined : { path: 'debug', namespace: 'quiet-debug', pluginData: args.resolveDir },
    );
    build.onLoad({ filter: /.*/, namespace: 'quiet-debug' }, (args) => ({
      resolveDir: args.pluginData,
      pluginData: 'real',
      loader: 'js',
      contents: [
        'let real;',
        "const load = () => (real ??= require('debug'));",
        'const quiet = (namespace) => {',
        '  const logger = () => undefined;',
        "  return Object.assign(logger, { namespace, enabled: false, log: () => undefined, destroy: () => true, extend: (more, delimiter = ':') => createDebug(`${namespace}${delimiter}${more}`) });",
        '};',
        'function createDebug(namespace) {',
        '  return process.env.DEBUG || real ? load()(namespace) : quiet(namespace);',
        '}',
        'createDebug.enable = (namespaces) => load().enable(namespaces);',
        "createDebug.disable = () => (real ? real.disable() : '');",
        'createDebug.enabled = (namespace) => (process.env.DEBUG || real ? load().enabled(namespace) : false);',
        'module.exports = createDebug;',
      ].join('\n'),
    }));
  },
};

fs.rmSync(vendor, { recursive: true, force: true });
const result = await esbuild.build({
  stdin: { contents: "module.exports = require('@oclif/core');", resolveDir: root, loader: 'js', sourcefile: 'oclif-core-entry.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: path.join(vendor, 'oclif-core.cjs'),
  // typescript and ts-node: oclif's development mode (ts-node on .ts command files), never used
  // from dist; semver: oclif's Node version warning, which bin/run.js turns off.
  external: ['typescript', 'ts-node', 'semver'],
  plugins: [lazyPlugin, helpTemplate, platformCheck, quietDebug, plainSort],
  legalComments: 'eof',
  logLevel: 'warning',
});
if (result.errors.length > 0) process.exit(1);

// The bundle is compiled by a vm.Script, so that V8's code cache for it can be handed back on the
// next start (below). A script compiled that way has no `import()` of its own on Node 20 (and with
// cached code, none on any Node): oclif's few dynamic imports (command and hook files) go through a
// function the ES module beside it supplies, which resolves them as that module's own import().
const bundleFile = path.join(vendor, 'oclif-core.cjs');
let bundle = fs.readFileSync(bundleFile, 'utf8');
const dynamicImports = bundle.split('await import(').length - 1;
bundle = bundle.replaceAll('await import(', 'await __storage_import(');
const leftImports = bundle.replace(/`[^`]*`/g, '').match(/\bimport\s*\(/g) ?? [];
if (dynamicImports === 0 || leftImports.length > 0) {
  console.error(
    `bundle-oclif: expected oclif's dynamic imports as \`await import(\` (found ${dynamicImports}, ${leftImports.length} left): review scripts/bundle-oclif.mjs`,
  );
  process.exit(1);
}
bundle = `var __storage_import = globalThis[Symbol.for('storage.import')] ?? ((specifier) => import(specifier));\n${bundle}`;
fs.writeFileSync(bundleFile, bundle);
// The cache's name carries the bundle's hash: a cache never meets a bundle it was not made from
// (V8 itself checks only the source's length, the V8 version and its flags).
const cacheName = `oclif-core.${crypto.createHash('sha256').update(bundle).digest('hex').slice(0, 16)}.v8cache`;

fs.writeFileSync(
  path.join(vendor, 'oclif-core.js'),
  [
    '// Generated by scripts/bundle-oclif.mjs: @oclif/core, bundled into oclif-core.cjs (see there).',
    '// Compiled with the V8 code cache `npm run build` left beside it, when this Node and its flags',
    '// accept it (a cache from another Node version or flag set is rejected by V8 and the bundle is',
    '// compiled as usual); NODE_DISABLE_COMPILE_CACHE=1 compiles it without.',
    "const { readFileSync } = process.getBuiltinModule('node:fs');",
    "const Module = process.getBuiltinModule('node:module');",
    "const { Script } = process.getBuiltinModule('node:vm');",
    "const file = process.getBuiltinModule('node:url').fileURLToPath(new URL('./oclif-core.cjs', import.meta.url));",
    "const dir = process.getBuiltinModule('node:path').dirname(file);",
    "globalThis[Symbol.for('storage.import')] = (specifier) => import(specifier);",
    'let cachedData;',
    'if (!process.env.NODE_DISABLE_COMPILE_CACHE) {',
    '  try {',
    `    cachedData = readFileSync(new URL('./${cacheName}', import.meta.url));`,
    '  } catch {',
    '    // not built, or not readable: compiled without',
    '  }',
    '}',
    'const script = new Script(Module.wrap(readFileSync(file, "utf8")), { filename: file, cachedData });',
    'const bundle = new Module(file);',
    'bundle.filename = file;',
    'bundle.paths = Module._nodeModulePaths?.(dir) ?? [];',
    'script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, dir);',
    'bundle.loaded = true;',
    "globalThis[Symbol.for('storage.oclifScript')] = { script, cached: cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used' };",
    'const core = bundle.exports;',
    `export const { ${names.join(', ')} } = core;`,
    '',
  ].join('\n'),
);

// Point dist's imports of '@oclif/core' at the bundle.
const files = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(path.join(dir, entry.name)) : [path.join(dir, entry.name)]));
const specifier = /(\bfrom\s*|\bimport\s*\(\s*)(['"])@oclif\/core\2/g;
let rewritten = 0;
for (const file of files(dist).filter((name) => name.endsWith('.js') && !name.startsWith(vendor))) {
  const text = fs.readFileSync(file, 'utf8');
  let target = path.relative(path.dirname(file), path.join(vendor, 'oclif-core.js')).split(path.sep).join('/');
  if (!target.startsWith('.')) target = `./${target}`;
  const next = text.replace(specifier, (_, lead, quote) => `${lead}${quote}${target}${quote}`);
  if (next === text) continue;
  fs.writeFileSync(file, next);
  rewritten++;
}
// Anything left importing @oclif/core or a subpath would load a second copy of oclif.
const left = files(dist).filter(
  (name) =>
    name.endsWith('.js') &&
    !name.startsWith(vendor) &&
    /\bfrom\s*['"]@oclif\/core|\bimport\s*\(\s*['"]@oclif\/core|\brequire\s*\(\s*['"]@oclif\/core/.test(fs.readFileSync(name, 'utf8')),
);
if (left.length > 0) {
  console.error(`bundle-oclif: these files still import @oclif/core (import from '@oclif/core' only):\n  ${left.join('\n  ')}`);
  process.exit(1);
}
// The code cache: V8's compiled code for the bundle after a start-up and a help page, so that the
// functions every command runs (loading the config and manifest, parsing flags, help) are not
// compiled again on each start. Made by a fresh Node process, as `storage` runs.
const warm = spawnSync(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
  const core = await import(${JSON.stringify(pathToFileURL(path.join(vendor, 'oclif-core.js')).href)});
  const write = process.stdout.write;
  process.stdout.write = () => true;
  for (const argv of [['--help'], ['db', 'health', '--help']]) await core.run(argv, ${JSON.stringify(root)});
  process.stdout.write = write;
  const { script } = globalThis[Symbol.for('storage.oclifScript')];
  (await import('node:fs')).writeFileSync(${JSON.stringify(path.join(vendor, cacheName))}, script.createCachedData());
`,
  ],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1', NODE_OPTIONS: '' } },
);
if (warm.status !== 0) {
  console.error(`bundle-oclif: making the code cache failed:\n${warm.stderr}`);
  process.exit(1);
}

console.log(
  `bundle-oclif: dist/vendor/oclif-core.cjs (${(fs.statSync(path.join(vendor, 'oclif-core.cjs')).size / 1024).toFixed(0)} KiB, code cache ${(fs.statSync(path.join(vendor, cacheName)).size / 1024).toFixed(0)} KiB), ${rewritten} files import it`,
);
