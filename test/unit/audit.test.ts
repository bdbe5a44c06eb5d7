import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendAudit, auditPaths, readAudit, verifyAudit } from '../../src/engine/audit/log.js';
import { ROOT } from '../support/paths.js';

function freshLog(entries = 5) {
  const paths = auditPaths(fs.mkdtempSync(path.join(os.tmpdir(), 'storage-audit-')));
  for (let i = 0; i < entries; i++)
    appendAudit({ command: `storage db create main db${i}`, stores: ['main'], outcome: 'ok', exitCode: 0, durationMs: 10 }, paths);
  return paths;
}

function lines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

describe('audit log', () => {
  it('chains entries and verifies an untouched log', () => {
    const paths = freshLog();
    const entries = readAudit(paths);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[1].prev).toBe(entries[0].hash);
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 5 });
    expect(fs.statSync(paths.log).mode & 0o777).toBe(0o600);
  });

  it('detects an edited entry and names it', () => {
    const paths = freshLog();
    const all = lines(paths.log);
    all[2] = all[2].replace('"outcome":"ok"', '"outcome":"failed"');
    fs.writeFileSync(paths.log, `${all.join('\n')}\n`);
    expect(verifyAudit(paths)).toMatchObject({ ok: false, problem: { line: 3, seq: 3, reason: expect.stringContaining('edited') } });
  });

  it('detects a removed and a reordered entry', () => {
    const removed = freshLog();
    const a = lines(removed.log);
    fs.writeFileSync(removed.log, `${[a[0], a[1], a[3], a[4]].join('\n')}\n`);
    expect(verifyAudit(removed)).toMatchObject({ ok: false, problem: { line: 3 } });
    const reordered = freshLog();
    const b = lines(reordered.log);
    fs.writeFileSync(reordered.log, `${[b[0], b[2], b[1], b[3], b[4]].join('\n')}\n`);
    expect(verifyAudit(reordered)).toMatchObject({ ok: false, problem: { line: 2 } });
  });

  it('detects a cut-off tail through the head record', () => {
    const paths = freshLog();
    const all = lines(paths.log);
    fs.writeFileSync(paths.log, `${all.slice(0, 3).join('\n')}\n`);
    expect(verifyAudit(paths)).toMatchObject({ ok: false, problem: { reason: expect.stringContaining('cut off') } });
  });

  it('two processes appending 200 entries each at once leave 400 valid entries', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-audit-race-'));
    const script = `import { appendAudit } from ${JSON.stringify(path.join(ROOT, 'dist/engine/audit/log.js'))};
      for (let i = 0; i < 200; i++) appendAudit({ command: 'storage backup create w' + process.argv[1] + ' ' + i, stores: ['s'], outcome: 'ok', exitCode: 0, durationMs: 1 });`;
    const run = (worker: string) => execa(process.execPath, ['--input-type=module', '-e', script, worker], { env: { ...process.env, STORAGE_AUDIT_DIR: dir } });
    await Promise.all([run('1'), run('2')]);
    const paths = auditPaths(dir);
    expect(readAudit(paths)).toHaveLength(400);
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 400 });
  });
});
