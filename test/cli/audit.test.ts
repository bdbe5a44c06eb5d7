import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';

describe('storage audit', () => {
  it('records every mutating command with its outcome, lists and verifies them, and catches an edit (65)', async () => {
    const sandbox = makeSandbox();
    const auditDir = path.join(sandbox.dir, 'audit');
    const env = { STORAGE_AUDIT_DIR: auditDir };
    expect((await sandbox.run(['db', 'create', 'local', 'reports'], { env })).exitCode).toBe(0);
    expect((await sandbox.run(['db', 'drop', 'local', 'reports'], { env })).exitCode).toBe(77);
    expect((await sandbox.run(['db', 'drop', 'local', 'reports', '--confirm', 'reports'], { env })).exitCode).toBe(0);
    expect((await sandbox.run(['backup', 'create', '-q'], { env })).exitCode).toBe(0);
    expect((await sandbox.run(['db', 'health'], { env })).exitCode).toBe(0); // not mutating: not audited

    const listed = (await sandbox.run(['audit', 'list', '--json'], { env })).json().entries;
    expect(listed.map((e: { command: string; outcome: string; exitCode: number }) => [e.command, e.outcome, e.exitCode])).toEqual([
      ['storage db create local reports', 'ok', 0],
      ['storage db drop local reports', 'refused', 77],
      ['storage db drop local reports --confirm reports', 'ok', 0],
      ['storage backup create -q', 'ok', 0],
    ]);
    expect(listed[0]).toMatchObject({ stores: ['local'], user: expect.any(String), host: expect.any(String) });
    const filtered = (await sandbox.run(['audit', 'list', '--command', 'db drop', '--since', '1h', '--json'], { env })).json().entries;
    expect(filtered).toHaveLength(2);

    expect((await sandbox.run(['audit', 'verify'], { env })).exitCode).toBe(0);
    const log = path.join(auditDir, 'audit.log');
    fs.writeFileSync(log, fs.readFileSync(log, 'utf8').replace('"outcome":"refused"', '"outcome":"ok"'));
    const tampered = await sandbox.run(['audit', 'verify', '--json'], { env });
    expect(tampered.exitCode).toBe(65);
    expect(tampered.json().error).toMatchObject({ code: 'BAD_DATA', details: { line: 2 } });
  });
});
