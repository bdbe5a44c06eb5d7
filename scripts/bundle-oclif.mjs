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
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

// oclif's help passes every description, summary and flag line through ejs (compiling each into
// a function) although only examples hold a template (`<%= config.bin %>`). Text with neither an
// opening `<%` nor a closing `%>` is what ejs returns unchanged, so it is returned as it is and
// ejs loads only for a template. The build fails if oclif's code changed under this patch.
const helpTemplate = {
  name: 'help-template',
  setup(build) {
    build.onLoad({ filter: /@oclif[\\/]core[\\/]lib[\\/]help[\\/]util\.js$/ }, (args) => {
      const text = fs.readFileSync(args.path, 'utf8');
      const call = 'return ejs_1.default.render(t, context);';
      if (!text.includes(call)) throw new Error(`${args.path}: no \`${call}\` to patch (oclif changed: review scripts/bundle-oclif.mjs)`);
      return {
        contents: text.replace(call, `return typeof t === 'string' && !t.includes('<%') && !t.includes('%>') ? t : ejs_1.default.render(t, context);`),
        loader: 'js',
      };
    });
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
  plugins: [lazyPlugin, helpTemplate],
  legalComments: 'eof',
  logLevel: 'warning',
});
if (result.errors.length > 0) process.exit(1);

fs.writeFileSync(
  path.join(vendor, 'oclif-core.js'),
  [
    '// Generated by scripts/bundle-oclif.mjs: @oclif/core, bundled into oclif-core.cjs (see there).',
    "const core = process.getBuiltinModule('node:module').createRequire(import.meta.url)('./oclif-core.cjs');",
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
console.log(
  `bundle-oclif: dist/vendor/oclif-core.cjs (${(fs.statSync(path.join(vendor, 'oclif-core.cjs')).size / 1024).toFixed(0)} KiB), ${rewritten} files import it`,
);
