#!/usr/bin/env node
// The `storage` entry point. `--version` answers before oclif loads (cron wrappers and CI call
// it often); everything else goes through oclif, with failures mapped to the documented codes.
// This file is CommonJS (bin/package.json says so) while the rest of the tool is ES modules: Node
// runs a CommonJS entry without first starting its ES module loader, so the signal listeners below
// are in place ~2 ms after Node starts running JavaScript instead of ~6.5 ms (more on a busy host),
// and a SIGTERM from cron or systemd in that gap ended the run with no word at all.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const nodeModule = require('node:module');
/** The package root (where package.json is), which is what oclif is given to find the commands. */
const root = join(__dirname, '..');

// A reader that stops early (`storage backup list | head -1`, `| true`) is a normal end, not a
// failure: once stdout or stderr reports EPIPE, further output to it is dropped and the run ends as
// it would have (locks released, audit written, its own exit code), so `set -o pipefail` holds.
let readerGone = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    readerGone = true;
    stream.write = (_chunk, encoding, callback) => {
      (typeof encoding === 'function' ? encoding : callback)?.();
      return true;
    };
    stream.emit('drain');
  });
}

/** Waits until what was written to stdout has left the process, or its reader has gone (oclif's flush waits forever then). */
function drained(stream) {
  if (readerGone || !stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('drain', resolve);
    stream.once('error', resolve);
  });
}

let args = process.argv.slice(2);
// `storage help [TOPIC] [COMMAND]` is `storage [TOPIC] [COMMAND] --help` (oclif answers --help itself;
// the help plugin cost every command ~15 ms of start-up).
if (args[0] === 'help') args = [...args.slice(1).filter((arg) => !arg.startsWith('-')), '--help'];
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  process.stdout.write(`storage/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else {
  // Until the command's own handler is in place (src/cli/interrupt.ts), a SIGINT/SIGTERM would kill
  // the process with no word at all: a --json consumer would get an empty stdout. Nothing has
  // started yet, so there is nothing to undo: say so, the documented way. The message names no
  // argument (they may hold a URL with a password; redaction is not loaded yet). These listeners are
  // never removed (the command's handler marks itself in charge instead): removing a signal's last
  // listener closes its handle, and a signal already caught but not yet dispatched is then lost.
  const phase = Symbol.for('storage.interrupts');
  for (const [signal, exitCode] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ]) {
    process.on(signal, () => {
      // The command's handler has it; once the run is over (its result printed), it ends with its own code.
      if (globalThis[phase] === 'command') return;
      if (globalThis[phase] === 'done') process.exit();
      const message = `Interrupted by ${signal}: storage stopped while starting; nothing was in progress to clean up.`;
      process.stderr.write(`${message}\n`);
      const end = args.indexOf('--');
      if ((end === -1 ? args : args.slice(0, end)).includes('--json')) {
        const hint = 'Run the command again when you are ready; nothing partial was kept as complete.';
        process.stdout.write(`${JSON.stringify({ error: { code: 'INTERRUPTED', message, hint, exitCode } }, null, 2)}\n`);
      }
      process.exit(exitCode);
    });
  }
  // Node ≥ 22.1 keeps the V8 code of the modules it compiles (the commands, their dependencies) in
  // a cache on disk (os.tmpdir()/node-compile-cache, per Node version) and reuses it on the next run
  // instead of parsing and compiling them again. Node 20 has no such cache and runs as before;
  // NODE_DISABLE_COMPILE_CACHE=1 turns it off, NODE_COMPILE_CACHE=DIR moves it. oclif's bundle has
  // a code cache of its own, made by `npm run build`, on every Node (scripts/bundle-oclif.mjs).
  nodeModule.enableCompileCache?.();
  main();
}

async function main() {
  // @oclif/core checks the running Node against its own `engines` with semver on import (~15–50 ms
  // of start-up compiling semver); `storage validate` checks the Node version against ours instead.
  const engineWarning = process.env.OCLIF_DISABLE_ENGINE_WARNING;
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
  // @oclif/core as one bundled file, the copy every command imports too (`npm run build` writes it:
  // scripts/bundle-oclif.mjs says why).
  const { run, Errors } = await import('../dist/vendor/oclif-core.js');
  if (engineWarning === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING;
  else process.env.OCLIF_DISABLE_ENGINE_WARNING = engineWarning;
  try {
    await run(args, root);
    await drained(process.stdout);
  } catch (error) {
    if (error instanceof Errors.ExitError) {
      process.exitCode = error.oclif.exit;
    } else {
      // Only failures outside a command reach here (an unknown command or topic): usage errors.
      const message = String(error?.message ?? error)
        .replace(/^\s*›?\s*Error:\s*/, '')
        .replace(/command (\S+) not found/, (_, id) => `command "${id.replace(/:/g, ' ')}" not found`);
      const hint = 'Run `storage --help` to see the topics and commands.';
      if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message, hint, exitCode: 64 } }, null, 2)}\n`);
      else process.stderr.write(`Error: ${message}\nHint: ${hint}\n`);
      process.exitCode = 64;
    }
  }
}
