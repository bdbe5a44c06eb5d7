#!/usr/bin/env node
// The `storage` entry point. `--version` answers before oclif loads (cron wrappers and CI call
// it often); everything else goes through oclif, with failures mapped to the documented codes.
import { readFileSync } from 'node:fs';

let args = process.argv.slice(2);
// `storage help [TOPIC] [COMMAND]` is `storage [TOPIC] [COMMAND] --help` (oclif answers --help itself;
// the help plugin cost every command ~15 ms of start-up).
if (args[0] === 'help') args = [...args.slice(1).filter((arg) => !arg.startsWith('-')), '--help'];
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`storage/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else {
  const { run, flush, Errors } = await import('@oclif/core');
  try {
    await run(args, import.meta.url);
    await flush();
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
