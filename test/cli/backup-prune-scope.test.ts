// Retention deletes only what it was asked to and can judge: `backup create STORE --prune` touches
// only the stores it backed up and reports what it deleted (output, JSON, audit entry); stores no
// longer in the config, tagged backups and damaged backups are kept unless asked; a lost repo.json
// never turns into a new repository over old backups.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupIds, createBackup, lastAuditEntry, repoSandbox, runAtClock } from '../support/repository.js';

describe('backup create --prune and backup prune: scope', () => {
  const sandbox = repoSandbox(['lite', 'big'], { retention: { keepLast: 1 } });
  const ids: Record<string, string[]> = { lite: [], big: [] };

  it('backup create STORE --prune prunes only that store, and lists what it deleted in its output, JSON and audit entry', async () => {
    for (let i = 0; i < 2; i++) {
      const [lite, big] = await Promise.all([createBackup(sandbox, 'lite'), createBackup(sandbox, 'big')]);
      ids.lite.push(lite);
      ids.big.push(big);
    }
    // `big` leaves the config; its backups stay in the repository.
    sandbox.configure(['lite']);
    const run = await sandbox.run(['backup', 'create', 'lite', '--prune', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const newest = run.json().stores[0].backup.id;
    expect(
      run
        .json()
        .prune.remove.map((r: { id: string }) => r.id)
        .sort(),
    ).toEqual([...ids.lite].sort()); // two backups in one second are ordered by their random suffix
    expect(backupIds(sandbox.repo)).toEqual([...ids.big, newest].sort());
    const entry = lastAuditEntry(sandbox) as { command: string; details: { pruned: string[] } };
    expect(entry.command).toContain('--prune');
    expect([...entry.details.pruned].sort()).toEqual([...ids.lite].sort());

    const human = await sandbox.run(['backup', 'create', 'lite', '--prune']);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/Pruned 1 backup/);
    expect(human.stdout).toContain(newest);
    expect(backupIds(sandbox.repo)).toEqual(expect.arrayContaining(ids.big));
  });

  it('a repository-wide prune leaves the backups of a store no longer in the config alone, says so, and judges them with --include-orphans', async () => {
    const run = await sandbox.run(['backup', 'prune', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json().orphans).toEqual([{ store: 'big', backups: 2, skipped: true }]);
    expect(run.stderr).toMatch(/store "big" alone.*--include-orphans/);
    expect(backupIds(sandbox.repo)).toEqual(expect.arrayContaining(ids.big));

    const orphans = await sandbox.run(['backup', 'prune', '--include-orphans', '--json']);
    expect(orphans.exitCode, orphans.stderr).toBe(0);
    expect(orphans.json().remove).toEqual([{ id: ids.big[0], store: 'big' }]);
    expect(backupIds(sandbox.repo)).toContain(ids.big[1]);
    expect(lastAuditEntry(sandbox)).toMatchObject({ details: { deleted: [ids.big[0]] } });
  });

  it('a tagged backup is kept by every prune, unless --prune-tagged', async () => {
    const tagged = await createBackup(sandbox, 'lite', ['--tag', 'before-upgrade']);
    const run = await sandbox.run(['backup', 'create', 'lite', '--prune', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json().prune.keep).toEqual(expect.arrayContaining([{ id: tagged, store: 'lite', reasons: ['tagged before-upgrade'] }]));
    expect(backupIds(sandbox.repo)).toContain(tagged);
    const dry = await sandbox.run(['backup', 'prune', '--prune-tagged', '--dry-run', '--json']);
    expect(dry.json().remove).toEqual([{ id: tagged, store: 'lite' }]);
    expect(backupIds(sandbox.repo)).toContain(tagged);
  });
});

describe('prune never deletes what it cannot judge', () => {
  it('a damaged backup, even days old, is kept and reported (exit 65); --delete-damaged deletes it', async () => {
    const sandbox = repoSandbox(['lite'], { retention: { keepLast: 1 } });
    const damaged = await createBackup(sandbox, 'lite');
    const good = await createBackup(sandbox, 'lite');
    const manifest = path.join(sandbox.repo, 'backups', damaged, 'manifest.json');
    fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace('"t": 20', '"t": 21'));

    // Two days on, the damaged backup is well past the age at which leftovers are swept.
    const later = await runAtClock(sandbox, '+2d', ['backup', 'prune', '--json']);
    expect(later.exitCode, later.stderr).toBe(65);
    expect(later.json().damaged).toEqual([{ id: damaged, store: 'lite', problem: expect.stringMatching(/integrity check/), deleted: false }]);
    expect(backupIds(sandbox.repo)).toEqual([damaged, good].sort());
    const nightly = await runAtClock(sandbox, '+2d', ['backup', 'create', 'lite', '--prune']);
    expect(nightly.exitCode).toBe(65);
    expect(nightly.stderr).toMatch(/cannot be judged.*--delete-damaged/s);
    expect(backupIds(sandbox.repo)).toContain(damaged);

    const asked = await sandbox.run(['backup', 'prune', '--delete-damaged', '--json']);
    expect(asked.exitCode, asked.stderr).toBe(0);
    expect(asked.json().damaged).toEqual([expect.objectContaining({ id: damaged, deleted: true })]);
    expect(backupIds(sandbox.repo)).not.toContain(damaged);
  });

  it('a lost repo.json is recovered from keys/, and with no copy at all backup create refuses to start a new repository over the backups', async () => {
    const sandbox = repoSandbox(['lite'], { retention: { keepLast: 5 } });
    const first = await createBackup(sandbox, 'lite');
    const repoJson = path.join(sandbox.repo, 'repo.json');
    const original = fs.readFileSync(repoJson, 'utf8');
    fs.rmSync(repoJson);

    const recovered = await sandbox.run(['backup', 'create', 'lite', '--prune', '--json']);
    expect(recovered.exitCode, recovered.stderr).toBe(0);
    expect(recovered.stderr).toMatch(/repo\.json is missing: opened it from its copy .*keys/);
    expect(fs.readFileSync(repoJson, 'utf8')).toBe(original);
    const list = (await sandbox.run(['backup', 'list', '--json'])).json().backups;
    expect(list.map((b: { status: string }) => b.status)).toEqual(['complete', 'complete']);
    expect((await sandbox.run(['backup', 'verify', first, '--read-data'])).exitCode).toBe(0);

    fs.rmSync(repoJson);
    fs.rmSync(path.join(sandbox.repo, 'keys'), { recursive: true });
    const before = backupIds(sandbox.repo);
    const refused = await sandbox.run(['backup', 'create', 'lite', '--prune']);
    expect(refused.exitCode).toBe(65);
    expect(refused.stderr).toMatch(/no repo\.json .*holds 2 backups: refusing to create a new repository/);
    expect(fs.existsSync(repoJson)).toBe(false);
    expect(backupIds(sandbox.repo)).toEqual(before);
    expect((await sandbox.run(['backup', 'list'])).exitCode).toBe(65);
  });
});
