// Clocks that are wrong (faketime): a backup taken with the clock a year ahead is an anomaly that
// retention never counts as the newest and validate fails; a run whose clock is minutes ahead never
// takes a live backup's lock for a stale one.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCli, waitFor, whileStopped } from '../support/backups.js';
import { backupIds, createBackup, makeSqlite, repoSandbox, runAtClock } from '../support/repository.js';

describe('clock skew', () => {
  it('a backup dated a year ahead is flagged, never the newest: keepWithin 7d + --prune keeps the real backups, and validate fails it', async () => {
    const sandbox = repoSandbox(['lite'], { retention: { keepWithin: '7d' }, rpo: '24h' });
    const skewed = await runAtClock(sandbox, '+365d', ['backup', 'create', 'lite', '--json']);
    expect(skewed.exitCode, skewed.stderr).toBe(0);
    const future = skewed.json().stores[0].backup.id;
    const real = [await createBackup(sandbox, 'lite', ['--prune']), await createBackup(sandbox, 'lite', ['--prune'])];
    expect(backupIds(sandbox.repo)).toEqual([...real, future].sort());

    const list = await sandbox.run(['backup', 'list', '--json']);
    expect(list.json().backups.find((b: { id: string }) => b.id === future).status).toBe('future-dated');
    expect((await sandbox.run(['backup', 'list'])).stderr).toMatch(new RegExp(`${future} is dated in the future`));

    const validate = await sandbox.run(['validate', '--suite', 'backups', '--json']);
    expect(validate.exitCode).toBe(3);
    const checks = validate.json().checks as Array<{ id: string; status: string; reason: string }>;
    expect(checks.find((c) => c.id === `backups.integrity[${future}]`)).toMatchObject({ status: 'fail', reason: expect.stringMatching(/dated in the future/) });
    // The newest backup judged for the RPO is the newest real one, never a negative age.
    expect(checks.find((c) => c.id === 'backups.rpo[lite]')).toMatchObject({ status: 'pass', reason: expect.stringContaining(real[1]) });
    expect(checks.map((c) => c.reason).join('\n')).not.toMatch(/-\d+s old/);
  });

  it('a second run whose clock is 5 minutes ahead never breaks the lock of a backup that is still running', async () => {
    const sandbox = repoSandbox([]);
    makeSqlite(path.join(sandbox.dir, 'data', 'lite.db'), 4000, 16_384);
    sandbox.configure(['lite']);
    // Create the repository first, so the running backup is slow only in its dump.
    await createBackup(sandbox, 'lite');
    const lock = path.join(sandbox.repo, 'locks', 'lite.lock');
    const first = startCli(sandbox, ['backup', 'create', 'lite', '--json'], { STORAGE_AUDIT_DIR: sandbox.audit });
    await waitFor(() => fs.existsSync(lock), 30_000);
    // The first run is stopped while the second tries: it still holds the lock, whatever the speeds.
    const second = await whileStopped(first, () => runAtClock(sandbox, '+5m', ['backup', 'create', 'lite']));
    expect(second.exitCode, second.stderr).toBe(75);
    expect(second.stderr).toMatch(/locked by storage backup create lite/);
    expect(second.stderr).not.toMatch(/stale lock/);
    const done = await first;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    const list = (await sandbox.run(['backup', 'list', '--json'])).json().backups;
    expect(list.map((b: { status: string }) => b.status)).toEqual(['complete', 'complete']);
  });
});
