import { execa } from 'execa';
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendAudit, auditPaths, readAudit, syslogTarget, verifyAudit, type AuditPaths } from '../../src/engine/audit/log.js';
import { listenDatagrams } from '../support/syslog.js';
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

/** The format 1 (unkeyed) hash, as the tool wrote it before the chain was keyed, and as anyone can recompute it. */
function unkeyedHash(entry: Record<string, unknown>): string {
  const fields = ['seq', 'time', 'user', 'host', 'pid', 'command', 'stores', 'outcome', 'exitCode', 'durationMs', 'prev'];
  return createHash('sha256')
    .update(JSON.stringify(fields.map((key) => [key, entry[key]])))
    .digest('hex');
}

/** Writes a format 1 log of `count` entries and its head, as the tool before the keyed chain did. */
function legacyLog(count: number): AuditPaths {
  const paths = auditPaths(fs.mkdtempSync(path.join(os.tmpdir(), 'storage-audit-legacy-')));
  let prev = '0'.repeat(64);
  const out: string[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const base = {
      seq,
      time: new Date().toISOString(),
      user: 'op',
      host: 'h',
      pid: 1,
      command: `storage db create main d${seq}`,
      stores: ['main'],
      outcome: 'ok',
      exitCode: 0,
      durationMs: 3,
      prev,
    };
    const entry = { ...base, hash: unkeyedHash(base) };
    out.push(JSON.stringify(entry));
    prev = entry.hash;
  }
  fs.writeFileSync(paths.log, `${out.join('\n')}\n`);
  fs.writeFileSync(paths.head, JSON.stringify({ seq: count, hash: prev }));
  return paths;
}

/** What an attacker who can edit the log (not read the key) does: drop an entry and recompute the chain without a key. */
function deleteAndRehash(paths: AuditPaths, drop: number, keepFormat: boolean): void {
  const entries = lines(paths.log)
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.seq !== drop);
  let prev = '0'.repeat(64);
  const out = entries.map((entry, index) => {
    const next = { ...entry, seq: index + 1, prev };
    delete next.hash;
    if (!keepFormat) delete next.v;
    next.hash = keepFormat ? createHash('sha256').update(JSON.stringify(next)).digest('hex') : unkeyedHash(next);
    prev = next.hash;
    return JSON.stringify(next);
  });
  fs.writeFileSync(paths.log, `${out.join('\n')}\n`);
  fs.writeFileSync(paths.head, JSON.stringify({ seq: out.length, hash: prev }));
}

const record = (command: string) => ({ command, stores: ['main'], outcome: 'ok' as const, exitCode: 0, durationMs: 4 });

describe('audit log tampering (keyed chain)', () => {
  it('keeps the key apart from the log: the log file holds no key, the key file is 0600', () => {
    const paths = freshLog(2);
    expect(fs.statSync(paths.key).mode & 0o777).toBe(0o600);
    const key = JSON.parse(fs.readFileSync(paths.key, 'utf8')).key;
    expect(fs.readFileSync(paths.log, 'utf8')).not.toContain(key);
    expect(readAudit(paths).every((entry) => entry.v === 2)).toBe(true);
  });

  it('deleting an entry and recomputing the chain without the key fails verify, in either format', () => {
    for (const keepFormat of [true, false]) {
      const paths = freshLog(5);
      deleteAndRehash(paths, 3, keepFormat);
      const result = verifyAudit(paths);
      expect(result.ok, JSON.stringify(result)).toBe(false);
      expect(result.problem!.line).toBe(1);
    }
  });

  it('checks the prev link: an edited middle entry whose own hash was recomputed (with the key) fails at the entry after it', () => {
    const paths = freshLog(5);
    const key = Buffer.from(JSON.parse(fs.readFileSync(paths.key, 'utf8')).key, 'base64');
    const all = lines(paths.log);
    const edited = { ...JSON.parse(all[2]), outcome: 'failed' };
    delete edited.hash;
    const canonical = (value: Record<string, unknown>): string =>
      `{${Object.keys(value)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`)
        .join(',')}}`;
    edited.hash = createHmac('sha256', key).update(canonical(edited)).digest('hex');
    all[2] = JSON.stringify(edited);
    fs.writeFileSync(paths.log, `${all.join('\n')}\n`);
    expect(verifyAudit(paths)).toMatchObject({ ok: false, problem: { line: 4, seq: 4, reason: expect.stringContaining('does not follow') } });
  });

  it('checks the prev link in an unkeyed log too', () => {
    const paths = legacyLog(5);
    const all = lines(paths.log);
    const edited = { ...JSON.parse(all[2]), command: 'storage db create main innocent' };
    edited.hash = unkeyedHash(edited);
    all[2] = JSON.stringify(edited);
    fs.writeFileSync(paths.log, `${all.join('\n')}\n`);
    expect(verifyAudit(paths)).toMatchObject({ ok: false, problem: { line: 4, reason: expect.stringContaining('does not follow') } });
  });

  it('an older copy of the log and its head restored together fails verify (the key file records how far the log went)', () => {
    const paths = freshLog(3);
    const saved = { log: fs.readFileSync(paths.log), head: fs.readFileSync(paths.head) };
    appendAudit(record('storage db drop main d1 --confirm d1'), paths);
    appendAudit(record('storage db drop main d2 --confirm d2'), paths);
    fs.writeFileSync(paths.log, saved.log);
    fs.writeFileSync(paths.head, saved.head);
    expect(verifyAudit(paths)).toMatchObject({ ok: false, problem: { reason: expect.stringContaining('rolled back') } });
  });

  it('a deleted log (with its head) fails verify once a log has existed', () => {
    const paths = freshLog(3);
    fs.rmSync(paths.log);
    fs.rmSync(paths.head);
    expect(verifyAudit(paths)).toMatchObject({ ok: false, problem: { reason: expect.stringContaining('the log was deleted') } });
    const missingKey = freshLog(2);
    fs.rmSync(missingKey.key);
    expect(verifyAudit(missingKey)).toMatchObject({ ok: false, problem: { line: 1, reason: expect.stringContaining('audit key') } });
  });
});

describe('audit log upgrade from the unkeyed format', () => {
  it('an old unkeyed log verifies as what it is; the next entry continues its chain keyed; forging unkeyed entries after that fails', () => {
    const paths = legacyLog(5);
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 5, unkeyed: 5 });
    appendAudit(record('storage backup create main'), paths);
    appendAudit(record('storage backup prune'), paths);
    const entries = readAudit(paths);
    expect(entries.map((entry) => entry.v ?? 1)).toEqual([1, 1, 1, 1, 1, 2, 2]);
    expect(entries[5].prev).toBe(entries[4].hash);
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 7, unkeyed: 5 });
    expect(JSON.parse(fs.readFileSync(paths.key, 'utf8'))).toMatchObject({ keyedFrom: 6, seq: 7 });
    // Downgrade: the keyed entries rewritten in the old format by someone without the key.
    deleteAndRehash(paths, 7, false);
    expect(verifyAudit(paths)).toMatchObject({
      ok: false,
      problem: { line: 6, reason: expect.stringContaining('unkeyed entry where the log was already keyed') },
    });
  });
});

describe('audit log faults', () => {
  it('a torn last line does not stop auditing: the next entry is written after it, names it, and the log verifies', () => {
    const paths = freshLog(3);
    fs.appendFileSync(paths.log, '{"seq":4,"time":"2024-');
    expect(verifyAudit(paths)).toMatchObject({ ok: true, entries: 3, warnings: [expect.stringContaining('cut off')] });
    const entry = appendAudit(record('storage db create main after-crash'), paths);
    expect(entry).toMatchObject({ seq: 4, skipped: [expect.any(String)] });
    expect(readAudit(paths).map((e) => e.seq)).toEqual([1, 2, 3, -1, 4]);
    expect(verifyAudit(paths)).toMatchObject({ ok: true, entries: 4, warnings: [expect.stringContaining('torn write')] });
    appendAudit(record('storage db create main later'), paths);
    expect(verifyAudit(paths)).toMatchObject({ ok: true, entries: 5 });
  });

  it('a junk line slipped into the middle fails verify (no entry recorded it as torn)', () => {
    const paths = freshLog(4);
    const all = lines(paths.log);
    all.splice(2, 0, 'not an entry');
    fs.writeFileSync(paths.log, `${all.join('\n')}\n`);
    expect(verifyAudit(paths)).toMatchObject({ ok: false, problem: { line: 3 } });
  });

  it('when only the head cannot be written, the entry is kept and the warning says just that; verify accepts the lagging head', () => {
    const paths = freshLog(2);
    const head = fs.readFileSync(paths.head);
    fs.rmSync(paths.head);
    fs.mkdirSync(paths.head); // renaming the new head over a directory fails, as a full disk would
    const warnings: string[] = [];
    appendAudit(record('storage db create main x'), paths, { onWarning: (message) => warnings.push(message) });
    expect(warnings).toEqual([expect.stringMatching(/^audit entry 3 was written to .*, but its head record .* could not be updated/)]);
    expect(readAudit(paths)).toHaveLength(3);
    fs.rmSync(paths.head, { recursive: true });
    fs.writeFileSync(paths.head, head);
    expect(verifyAudit(paths)).toMatchObject({ ok: true, entries: 3, warnings: [expect.stringContaining('behind the log')] });
  });
});

describe('audit forwarding to syslog', () => {
  it('is off unless asked; with STORAGE_AUDIT_SYSLOG=SOCKET each entry goes to that datagram socket as the JSON line the log holds', async () => {
    expect(syslogTarget({})).toBeUndefined();
    expect(syslogTarget({ STORAGE_AUDIT_SYSLOG: '1' })).toBe('/dev/log');
    const listener = await listenDatagrams();
    try {
      const paths = freshLog(1);
      const entry = appendAudit(record('storage secrets rotate main --confirm main'), paths, { env: { STORAGE_AUDIT_SYSLOG: listener.socket } });
      const message = await listener.next();
      expect(message).toMatch(/^<37>.* storage-audit: /); // facility auth, severity notice
      expect(JSON.parse(message.slice(message.indexOf('storage-audit: ') + 'storage-audit: '.length))).toEqual(entry);
    } finally {
      listener.close();
    }
  });

  it('a socket that is not there is a warning: the entry is still written', () => {
    const paths = freshLog(1);
    const warnings: string[] = [];
    appendAudit(record('storage db create main y'), paths, {
      env: { STORAGE_AUDIT_SYSLOG: path.join(os.tmpdir(), 'no-such-socket') },
      onWarning: (m) => warnings.push(m),
    });
    expect(warnings).toEqual([expect.stringContaining('could not be forwarded to syslog')]);
    expect(readAudit(paths)).toHaveLength(2);
  });
});
