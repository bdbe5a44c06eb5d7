// More of the audit log (src/engine/audit/log.ts): where it lives by default, the syslog setting's
// spellings, details redacted, the warnings when the key is missing or the head cannot be written
// or syslog refuses, and a damaged key file reported by verify.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendAudit, auditPaths, readAudit, syslogTarget, verifyAudit } from '../../src/engine/audit/log.js';
import { userPaths } from '../../src/engine/config/paths.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-audit-edges-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
const fresh = () => auditPaths(fs.mkdtempSync(path.join(home, 'log-')), {});
const record = { command: 'storage backup create main', stores: ['main'], outcome: 'ok' as const, exitCode: 0, durationMs: 12.4 };

describe('audit log edges', () => {
  it('by default the log lives in the user data dir and its head and key in the config dir; STORAGE_AUDIT_KEY_FILE moves the key', () => {
    const data = path.join(userPaths().data, 'audit');
    expect(auditPaths(undefined, {})).toEqual({
      log: path.join(data, 'audit.log'),
      head: path.join(userPaths().config, 'audit-head.json'),
      lock: path.join(data, 'audit.lock'),
      key: path.join(userPaths().config, 'audit.key'),
    });
    expect(auditPaths(undefined, { STORAGE_AUDIT_KEY_FILE: 'elsewhere/audit.key' }).key).toBe(path.resolve('elsewhere/audit.key'));
    expect(auditPaths('/srv/audit', {}).key).toBe('/srv/audit/audit.key');
  });

  it('the syslog setting: off in any case and spacing, on as 1/on/true/yes/syslog/journald in any case, anything else a socket path', () => {
    for (const off of [undefined, '', '  ', '0', 'off', 'OFF', ' Off ', 'false', 'No']) expect(syslogTarget({ STORAGE_AUDIT_SYSLOG: off })).toBeUndefined();
    for (const on of ['1', 'on', 'ON', 'True', 'yes', 'Syslog', ' journald ']) expect(syslogTarget({ STORAGE_AUDIT_SYSLOG: on })).toBe('/dev/log');
    expect(syslogTarget({ STORAGE_AUDIT_SYSLOG: ' run/log.sock ' })).toBe(path.resolve('run/log.sock'));
  });

  it('no log yet: nothing to read; an entry’s details are kept with secrets masked, and a clean append names no skipped lines', () => {
    const paths = fresh();
    expect(readAudit(paths)).toEqual([]);
    const entry = appendAudit({ ...record, details: { source: 'postgres://app:Sekrit-Pw-771@db/main', n: 2 } }, paths, { env: {} });
    expect(entry.details).toEqual({ source: expect.not.stringContaining('Sekrit-Pw-771'), n: 2 });
    expect(entry.details?.source).toContain('postgres://app:');
    expect(entry.durationMs).toBe(12);
    expect('skipped' in entry).toBe(false);
    expect(readAudit(paths)).toEqual([entry]);
    expect(fs.readFileSync(paths.log, 'utf8')).not.toContain('Sekrit-Pw-771');
  });

  it('a keyed log whose key went missing: the entry is written under a new key, with a warning saying what can no longer be verified', () => {
    const paths = fresh();
    appendAudit(record, paths, { env: {} });
    appendAudit(record, paths, { env: {} });
    fs.rmSync(paths.key);
    const warnings: string[] = [];
    const entry = appendAudit(record, paths, { env: {}, onWarning: (message) => warnings.push(message) });
    expect(entry.seq).toBe(3);
    expect(warnings).toEqual([
      `the audit key ${paths.key} is missing although the log ${paths.log} is keyed; a new key was made, so entries up to 2 can no longer be verified. Keep the old log, head and key as evidence if this was not you.`,
    ]);
  });

  it('a head record that cannot be written: the entry stands, a warning says so', () => {
    const paths = fresh();
    fs.mkdirSync(paths.head);
    fs.writeFileSync(path.join(paths.head, 'x'), 'a directory where the head file goes');
    const warnings: string[] = [];
    const entry = appendAudit(record, paths, { env: {}, onWarning: (message) => warnings.push(message) });
    expect(readAudit(paths)).toEqual([entry]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `^audit entry 1 was written to ${paths.log}, but its head record ${paths.head} could not be updated \\(.+\\); the next command that writes it catches up\\.$`,
      ),
    );
  });

  it('syslog that cannot be reached: the entry stands, the warning gives logger’s own words', () => {
    const paths = fresh();
    const socket = path.join(home, 'no-such-socket');
    const warnings: string[] = [];
    appendAudit(record, paths, { env: { STORAGE_AUDIT_SYSLOG: socket }, onWarning: (message) => warnings.push(message) });
    expect(readAudit(paths)).toHaveLength(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^audit entry 1 was written, but could not be forwarded to syslog at ${socket}: \\S`));
    expect(warnings[0]).not.toContain('Command failed');
  });

  it('a damaged key file: verify fails at once naming it, with no entry counted', () => {
    const paths = fresh();
    appendAudit(record, paths, { env: {} });
    for (const damaged of ['{ not json', JSON.stringify({ key: 42 }), JSON.stringify({ key: Buffer.alloc(16).toString('base64') })]) {
      fs.writeFileSync(paths.key, damaged);
      expect(verifyAudit(paths)).toEqual({ ok: false, entries: 0, problem: { line: 0, seq: 0, reason: `The audit key file ${paths.key} is damaged.` } });
    }
  });
});

describe('a long audit log (its tail read in chunks)', () => {
  it('over 64 KiB, ending in torn writes longer than a chunk: the next entry follows the last whole one and names each torn line; verify passes with a warning', () => {
    const paths = fresh();
    const big = { note: 'x'.repeat(3000) };
    let last = appendAudit({ ...record, details: big }, paths, { env: {} });
    for (let i = 0; i < 25; i++) last = appendAudit({ ...record, details: big }, paths, { env: {} });
    expect(fs.statSync(paths.log).size).toBeGreaterThan(64 * 1024);
    const torn = ['{"seq": 27, "cut off', `{"seq": 27, ${'y'.repeat(70 * 1024)}`];
    fs.appendFileSync(paths.log, `${torn[0]}\n${torn[1]}`);
    const next = appendAudit(record, paths, { env: {} });
    expect(next.seq).toBe(last.seq + 1);
    expect(next.prev).toBe(last.hash);
    expect(next.skipped).toHaveLength(2);
    const lines = fs.readFileSync(paths.log, 'utf8').split('\n');
    // The cut-off last line was ended before the new entry was appended.
    expect(lines.at(-2)).toBe(JSON.stringify(next));
    const verified = verifyAudit(paths);
    expect(verified).toMatchObject({ ok: true, entries: 27 });
    expect(verified.warnings).toEqual([`lines 27, 28: a torn write (cut off by a crash), recorded by entry 27`]);
  });

  it('a torn last line alone: verify passes and says the next entry will record it', () => {
    const paths = fresh();
    appendAudit(record, paths, { env: {} });
    fs.appendFileSync(paths.log, '{"seq": 2, "cut');
    const verified = verifyAudit(paths);
    expect(verified).toMatchObject({ ok: true, entries: 1 });
    expect(verified.warnings).toContain('line 2: the last write was cut off (a crash while writing); the next entry will record it');
  });
});

describe('the head and key records against the log', () => {
  const written = (entries = 3) => {
    const paths = fresh();
    const all = Array.from({ length: entries }, () => appendAudit(record, paths, { env: {} }));
    return { paths, all, head: fs.readFileSync(paths.head, 'utf8'), key: JSON.parse(fs.readFileSync(paths.key, 'utf8')) };
  };

  it('a head or key record behind the log (a failed write) is a warning; ahead of it, or naming an entry the log does not have, a failure', () => {
    const { paths, all, key } = written();
    fs.writeFileSync(paths.head, JSON.stringify({ seq: 1, hash: all[0].hash }));
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 3, warnings: ['the head record is at entry 1, behind the log (a write of it failed)'] });
    fs.writeFileSync(paths.head, JSON.stringify({ seq: 3, hash: all[2].hash }));
    fs.writeFileSync(paths.key, JSON.stringify({ ...key, seq: 2, hash: all[1].hash }));
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 3, warnings: ['the audit key records entry 2, behind the log (a write of it failed)'] });
    fs.writeFileSync(paths.key, JSON.stringify({ ...key, seq: 2, hash: 'f'.repeat(64) }));
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 3,
      problem: { line: 3, seq: 3, reason: 'the audit key records entry 2 as the newest, which this log does not have (replaced)' },
    });
    fs.writeFileSync(paths.key, JSON.stringify({ ...key, seq: 4, hash: 'f'.repeat(64) }));
    expect(verifyAudit(paths).problem).toEqual({
      line: 4,
      seq: 4,
      reason: 'the log ends at entry 3, but the audit key records entry 4 written (the log and its head were rolled back or replaced)',
    });
    fs.writeFileSync(paths.key, JSON.stringify({ ...key, seq: 3, hash: 'f'.repeat(64) }));
    expect(verifyAudit(paths).problem?.reason).toBe(
      'the log ends at entry 3, but the audit key records entry 3 written (the log and its head were rolled back or replaced)',
    );
    fs.writeFileSync(paths.key, JSON.stringify(key));
    fs.writeFileSync(paths.head, JSON.stringify({ seq: 5, hash: 'e'.repeat(64) }));
    expect(verifyAudit(paths).problem).toEqual({
      line: 4,
      seq: 5,
      reason: 'the log ends at entry 3, but entry 5 was written (the tail was cut off or replaced)',
    });
    fs.writeFileSync(paths.head, '{ torn');
    expect(verifyAudit(paths).problem).toEqual({ line: 4, seq: 0, reason: `the head record ${paths.head} cannot be read` });
    fs.rmSync(paths.head);
    expect(verifyAudit(paths)).toEqual({ ok: false, entries: 3, problem: { line: 1, seq: 1, reason: 'the head record is missing' } });
  });

  it('the log deleted while the key remembers it: a failure saying so', () => {
    const { paths } = written(2);
    fs.rmSync(paths.log);
    fs.rmSync(paths.head);
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 0,
      problem: { line: 1, seq: 2, reason: 'the log is missing or empty, but the audit key records 2 entries written (the log was deleted)' },
    });
  });
});
