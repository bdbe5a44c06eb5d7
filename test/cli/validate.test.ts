// `storage validate` as CI runs it: no TTY, exit codes, JSON and JUnit.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flipByte, payloadFile } from '../support/backups.js';
import { makeSandbox } from '../support/cli.js';

describe('storage validate', () => {
  it('passes with warnings on a fresh default estate, fails under --strict, and fails (3) naming a tampered backup', async () => {
    const sandbox = makeSandbox();
    expect((await sandbox.run(['backup', 'create', '-q'])).exitCode).toBe(0);
    const lenient = await sandbox.run(['validate', '--json']);
    expect(lenient.exitCode, lenient.stdout).toBe(0);
    expect(lenient.json().summary.warn).toBeGreaterThan(0);
    expect((await sandbox.run(['validate', '--strict'])).exitCode).toBe(3);
    const restoreTest = await sandbox.run(['validate', '--suite', 'backups', '--restore-test', '--json']);
    expect(restoreTest.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'backups.restore-test[local]', status: 'pass' })]));

    const id = (await sandbox.run(['backup', 'list', '--json'])).json().backups[0].id;
    flipByte(payloadFile(path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'backups', 'backups', id)));
    expect((await sandbox.run(['backup', 'verify', id, '--read-data'])).exitCode).toBe(65);
    const junit = path.join(sandbox.dir, 'report.xml');
    const failed = await sandbox.run(['validate', '--suite', 'backups', '--junit', junit, '--json']);
    expect(failed.exitCode).toBe(3);
    expect(failed.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'backups.verified[local]', status: 'fail' })]));
    expect(fs.readFileSync(junit, 'utf8')).toMatch(/<testcase classname="storage.backups" name="backups.verified\[local\][^"]*"[^>]*>\s*<failure/);
  });

  it('fails the RPO check once the newest backup is older than backup.rpo', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'a.db' } }, backup: { repository: './repo', rpo: '2s', retention: { keepLast: 3 } } });
    fs.writeFileSync(path.join(sandbox.dir, 'a.db'), '');
    expect((await sandbox.run(['backup', 'create', '--verify', '-q'])).exitCode).toBe(0);
    expect((await sandbox.run(['validate', '--suite', 'backups'])).exitCode).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const late = await sandbox.run(['validate', '--suite', 'backups', '--json']);
    expect(late.exitCode).toBe(3);
    expect(late.json().checks.find((c: { id: string }) => c.id === 'backups.rpo[lite]')).toMatchObject({
      status: 'fail',
      reason: expect.stringContaining('older than backup.rpo 2s'),
    });
  });

  it('an invalid config is 78 with the field path; an unreachable store fails connectivity', async () => {
    const bad = makeSandbox();
    bad.writeConfig('stores:\n  main: { engine: postgres, url: 42 }\n');
    const invalid = await bad.run(['validate']);
    expect(invalid.exitCode).toBe(78);
    expect(invalid.stderr).toContain('stores.main.url');
    const down = makeSandbox();
    down.writeConfig({ stores: { gone: { engine: 'postgres', url: 'postgres://x@127.0.0.1:1/x' } } });
    const result = await down.run(['validate', '--suite', 'connectivity', '--json']);
    expect(result.exitCode).toBe(3);
    expect(result.json().checks[0]).toMatchObject({ id: 'connectivity.stores[gone]', status: 'fail' });
  });
});
