import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { listenDatagrams } from '../support/syslog.js';

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

describe('storage audit under faults and attacks', () => {
  it('a torn last line does not stop auditing, and a head that cannot be written warns about the head alone', async () => {
    const sandbox = makeSandbox();
    const auditDir = path.join(sandbox.dir, 'audit');
    const env = { STORAGE_AUDIT_DIR: auditDir };
    expect((await sandbox.run(['db', 'create', 'local', 'one'], { env })).exitCode).toBe(0);
    fs.appendFileSync(path.join(auditDir, 'audit.log'), '{"seq":2,"time":"2025-01-01T00:0'); // a write cut off by a crash
    const afterCrash = await sandbox.run(['db', 'create', 'local', 'two'], { env });
    expect(afterCrash.exitCode).toBe(0);
    expect(afterCrash.stderr).not.toContain('audit');
    const verified = await sandbox.run(['audit', 'verify', '--json'], { env });
    expect(verified.exitCode, verified.stdout).toBe(0);
    expect(verified.json()).toMatchObject({ ok: true, entries: 2, warnings: [expect.stringContaining('torn write')] });

    const head = path.join(auditDir, 'head.json');
    fs.rmSync(head);
    fs.mkdirSync(head); // the head can no longer be replaced, as on a full disk; the log can still grow
    const headless = await sandbox.run(['db', 'create', 'local', 'three'], { env });
    expect(headless.exitCode).toBe(0);
    expect(headless.stderr).toMatch(/Warning: audit entry 3 was written to .*audit\.log, but its head record .*head\.json could not be updated/);
    expect(headless.stderr).not.toContain('could not write the audit log');
    const listed = (await sandbox.run(['audit', 'list', '--json'], { env })).json().entries;
    expect(listed.filter((e: { seq: number }) => e.seq > 0).map((e: { command: string }) => e.command)).toEqual([
      'storage db create local one',
      'storage db create local two',
      'storage db create local three',
    ]);
  });

  it('a deleted log is caught (65), and STORAGE_AUDIT_SYSLOG forwards every entry to a syslog socket', async () => {
    const sandbox = makeSandbox();
    const auditDir = path.join(sandbox.dir, 'audit');
    const listener = await listenDatagrams();
    try {
      const env = { STORAGE_AUDIT_DIR: auditDir, STORAGE_AUDIT_SYSLOG: listener.socket };
      expect((await sandbox.run(['db', 'create', 'local', 'fwd'], { env })).exitCode).toBe(0);
      const message = await listener.next();
      expect(message).toContain('storage-audit: {');
      expect(JSON.parse(message.slice(message.indexOf('{')))).toMatchObject({ seq: 1, command: 'storage db create local fwd', outcome: 'ok', v: 2 });
      fs.rmSync(path.join(auditDir, 'audit.log'));
      fs.rmSync(path.join(auditDir, 'head.json'));
      const verify = await sandbox.run(['audit', 'verify', '--json'], { env });
      expect(verify.exitCode).toBe(65);
      expect(verify.json().error.message).toContain('the log was deleted');
    } finally {
      listener.close();
    }
  });
});
