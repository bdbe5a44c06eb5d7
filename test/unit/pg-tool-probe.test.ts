// pg_dump's version is asked once per run: a backup's preparation probes it while the repository's
// key is unlocked, and the dump reuses the answer. A tool that could not run is asked again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toolMajor } from '../../src/engine/engines/postgres/tools.js';
import { StorageError } from '../../src/engine/errors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fake pg_dump that appends a line to `calls` each time it runs and says it is version 15.4. */
function fakeTool(): { tool: string; calls: () => number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-tool-probe-'));
  dirs.push(dir);
  const tool = path.join(dir, 'pg_dump');
  const log = path.join(dir, 'calls');
  fs.writeFileSync(tool, `#!/bin/sh\necho run >> '${log}'\necho 'pg_dump (PostgreSQL) 15.4'\n`, { mode: 0o755 });
  return { tool, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) };
}

describe('pg_dump version probe', () => {
  it('runs the tool once however often it is asked, at once or later', async () => {
    const { tool, calls } = fakeTool();
    const [first, second] = await Promise.all([toolMajor(tool), toolMajor(tool)]);
    const third = await toolMajor(tool);
    expect([first, second, third].map((answer) => answer.major)).toEqual([15, 15, 15]);
    expect(third.version).toBe('pg_dump (PostgreSQL) 15.4');
    expect(calls()).toBe(1);
  });

  it('a tool that cannot run fails with a hint, and is looked for again next time (installed since)', async () => {
    const { tool, calls } = fakeTool();
    const missing = path.join(path.dirname(tool), 'later', 'pg_dump');
    const error = await toolMajor(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).hint).toMatch(/postgresql-client|STORAGE_PG_BIN/);
    fs.mkdirSync(path.dirname(missing));
    fs.copyFileSync(tool, missing);
    fs.chmodSync(missing, 0o755);
    expect((await toolMajor(missing)).major).toBe(15);
    expect(calls()).toBe(1);
  });
});
