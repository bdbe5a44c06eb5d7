// The last line of defence: an error nothing awaited (a driver's stray rejection) ends the run the
// documented way — the error printed (one JSON document with --json), the lock and the unfinished
// backup undone, the audit entry written, exit 1 — instead of a stack trace and a stale lock.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.js';
import { backupIds, lastAuditEntry, makeSqlite, repoSandbox } from '../support/repository.js';

describe('a stray error mid-run', () => {
  it('ends backup create with exit 1 and one JSON error, releases the lock, leaves no backup, and is audited as failed', async () => {
    const sandbox = repoSandbox(['big']);
    // Big enough that the backup is still running when the lock appears and the error strikes.
    makeSqlite(path.join(sandbox.dir, 'data', 'big.db'), 3000, 16 * 1024);
    const result = await sandbox.run(['backup', 'create', 'big', '--json'], {
      env: {
        NODE_OPTIONS: `--import=${path.join(ROOT, 'test/fixtures/stray-rejection.mjs')}`,
        STRAY_WHEN_FILE: path.join(sandbox.repo, 'locks', 'big.lock'),
      },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$|Node\.js v\d/m);
    expect(result.json().error).toMatchObject({ code: 'FAILED', message: expect.stringContaining('stray driver failure') });
    expect(fs.readdirSync(path.join(sandbox.repo, 'locks'))).toEqual([]);
    expect(backupIds(sandbox.repo).filter((id) => fs.existsSync(path.join(sandbox.repo, 'backups', id, 'manifest.json')))).toEqual([]);
    expect(lastAuditEntry(sandbox)).toMatchObject({ outcome: 'failed', exitCode: 1 });
  });
});
