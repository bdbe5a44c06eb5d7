// A reader that closes the pipe early (`| head -1`, `| true`) ends the run normally: exit 0, nothing
// on stderr, so scripts under `set -o pipefail` keep working.
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BIN } from '../support/paths.js';

describe('closing stdout early is a normal end', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = makeSandbox();
    expect((await sandbox.run(['backup', 'create'])).exitCode).toBe(0);
  });

  /** Runs `storage ARGS | READER` under `set -o pipefail` and returns the pipeline's status and stderr. */
  async function pipeline(args: string, reader: string) {
    const script = `set -o pipefail; node ${BIN} ${args} | { ${reader}; }`;
    const result = await execa('bash', ['-c', script], {
      cwd: sandbox.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, LANG: 'C.UTF-8', ...sandbox.env },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    return { exitCode: result.exitCode, stderr: String(result.stderr) };
  }

  it.each([
    ['--help', 'true'],
    ['db info local', 'head -1 >/dev/null'],
    ['backup list', 'true'],
    ['db health --json', 'true'],
  ])('storage %s | %s exits 0 quietly', async (args, reader) => {
    const result = await pipeline(args, reader);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('a mutating command whose reader went away still finishes its work and is audited', async () => {
    const result = await pipeline('backup create', 'true');
    expect(result.exitCode).toBe(0);
    const audit = await sandbox.run(['audit', 'list', '--json']);
    const entries = audit.json().entries as Array<{ command: string; outcome: string }>;
    expect(entries.filter((entry) => entry.command.startsWith('storage backup create')).map((entry) => entry.outcome)).toEqual(['ok', 'ok']);
    const list = await sandbox.run(['backup', 'list', '--json']);
    expect(list.json().backups.filter((backup: { status: string }) => backup.status === 'complete')).toHaveLength(2);
  });
});
