// The one way the tool starts external programs: whatever happens to the tool, even kill -9, the
// program and everything it forked go with it; exit codes and signals come through unchanged;
// the tool's own secrets stay out of the program's environment.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTool, startTool } from '../../src/engine/system/child-process.js';
import { ROOT } from '../support/paths.js';

/**
 * Pids of processes whose whole command line is `command` (arguments joined by spaces): the two
 * `sleep SECONDS` themselves. /proc/PID/cmdline separates arguments with NULs, so a substring
 * test for "sleep SECONDS" never matched the sleeps; it matched the tool, its watchdog and the
 * shell (their arguments hold the script), and `=== 2` held only in the instant between the
 * watchdog's start and the shell's, which a faster Node (24) or a busy machine misses.
 */
function processesWith(command: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') === command) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

describe('external programs (the spawn helper)', () => {
  const leftovers: number[] = [];
  afterEach(() => {
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`a program and the workers it forked die when the tool is killed with ${signal}`, async () => {
      // Two unique sleeps, one a background "worker" of the shell, like pg_restore -j's forks.
      const seconds = `${900000 + Math.floor(Math.random() * 90000)}.${process.pid}`;
      const script = `
        const { startTool } = await import(${JSON.stringify(path.join(ROOT, 'dist/engine/system/child-process.js'))});
        startTool('sh', ['-c', 'sleep ${seconds} & sleep ${seconds}; wait'], { what: 'test' });
        setInterval(() => {}, 1000);`;
      const tool = execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
      expect(await until(() => processesWith(`sleep ${seconds}`).length === 2, 15_000)).toBe(true);
      leftovers.push(...processesWith(`sleep ${seconds}`));
      tool.kill(signal);
      await tool;
      expect(await until(() => processesWith(`sleep ${seconds}`).length === 0, 15_000), processesWith(`sleep ${seconds}`).join(' ')).toBe(true);
    });
  }

  it('reports the exit code or the signal of the program itself', async () => {
    expect(await runTool('sh', ['-c', 'echo out; echo err >&2; exit 3'], { what: 'test', stdout: 'buffer' })).toMatchObject({
      exitCode: 3,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
    });
    expect(await runTool('sh', ['-c', 'kill -TERM $$'], { what: 'test' })).toMatchObject({ signal: 'SIGTERM' });
    const missing = await runTool('/nonexistent/pg_restore', ['--version'], { what: 'test' });
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain('ENOENT');
  });

  it('stop() ends the whole process group', async () => {
    const seconds = `${900000 + Math.floor(Math.random() * 90000)}.${process.pid}`;
    const running = startTool('sh', ['-c', `sleep ${seconds} & sleep ${seconds}; wait`], { what: 'test' });
    expect(await until(() => processesWith(`sleep ${seconds}`).length === 2, 15_000)).toBe(true);
    const result = await running.stop();
    expect(result.signal).toBe('SIGTERM');
    expect(await until(() => processesWith(`sleep ${seconds}`).length === 0, 15_000)).toBe(true);
  });

  it("never passes the tool's own STORAGE_* secrets to a program", async () => {
    process.env.STORAGE_BACKUP_PASSPHRASE = 'not-for-children';
    try {
      const result = await runTool('sh', ['-c', 'env'], { what: 'test', stdout: 'buffer', env: { PGPASSWORD: 'given' } });
      expect(result.stdout).not.toContain('not-for-children');
      expect(result.stdout).toContain('PGPASSWORD=given');
      expect(result.stdout).toContain('PATH=');
    } finally {
      delete process.env.STORAGE_BACKUP_PASSPHRASE;
    }
  });
});
