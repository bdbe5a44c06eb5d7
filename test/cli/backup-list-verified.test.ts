// `backup list`'s verified column shows the strongest verification that still stands (a weaker
// check run later does not hide a restore test), and says the same in the table and the CSV.
import { describe, expect, it } from 'vitest';
import { createBackup, repoSandbox } from '../support/repository.js';

describe('backup list: the verified column', () => {
  it('a restore-tested backup still shows restore-test after verify --all; never-verified reads the same in table and CSV', async () => {
    const sandbox = repoSandbox(['lite']);
    const tested = await createBackup(sandbox, 'lite');
    const never = await createBackup(sandbox, 'lite');
    expect((await sandbox.run(['backup', 'verify', tested, '--restore-test'])).exitCode).toBe(0);
    const verifyAll = await sandbox.run(['backup', 'verify', '--all']);
    expect(verifyAll.exitCode, verifyAll.stderr).toBe(0);
    // A check of never's files only; it then counts as verified at the files level.
    const table = (await sandbox.run(['backup', 'list'])).stdout;
    const csv = (await sandbox.run(['backup', 'list', '--csv'])).stdout.split('\n');
    const header = csv[0].split(',');
    const verifiedOf = (id: string) => csv.find((line) => line.startsWith(id))!.split(',')[header.indexOf('verified')];
    expect(verifiedOf(tested)).toMatch(/^ok restore-test \d{4}-/);
    expect(verifiedOf(never)).toMatch(/^ok files \d{4}-/);
    expect(table).toMatch(new RegExp(`${tested}.*ok restore-test`));

    const fresh = await createBackup(sandbox, 'lite');
    const after = (await sandbox.run(['backup', 'list', '--csv'])).stdout;
    const line = after.split('\n').find((l) => l.startsWith(fresh))!;
    expect(line.split(',')[header.indexOf('verified')]).toBe('never');
    expect((await sandbox.run(['backup', 'list'])).stdout).toMatch(new RegExp(`${fresh}.*never`));
  });
});
