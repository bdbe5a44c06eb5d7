// The audit log (src/engine/audit/log.ts) at the edges its other tests leave open, each asserting
// what the log file holds after an append, or exactly what verify reports: format 1 entries with
// details, JSON lines that are not entries, an empty log or one holding only torn lines, a tail
// chunk that starts inside a line, a key file that cannot be read or holds no usable key, forged
// or renumbered entries, and heads behind the log across the format 1 → 2 boundary.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendAudit, auditPaths, readAudit, verifyAudit, type AuditEntry, type AuditPaths } from '../../src/engine/audit/log.js';
import { StorageError } from '../../src/engine/errors.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-audit-mutants-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
const fresh = () => auditPaths(fs.mkdtempSync(path.join(home, 'log-')), {});
const record = { command: 'storage db create main d', stores: ['main'], outcome: 'ok' as const, exitCode: 0, durationMs: 5 };
const append = (paths: AuditPaths, details?: Record<string, unknown>) => appendAudit({ ...record, ...(details ? { details } : {}) }, paths, { env: {} });
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const GENESIS = '0'.repeat(64);
const logLines = (paths: AuditPaths) => fs.readFileSync(paths.log, 'utf8').split('\n').filter(Boolean);
const writeLines = (paths: AuditPaths, lines: string[]) => fs.writeFileSync(paths.log, `${lines.join('\n')}\n`);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The format 1 hash as the tool wrote it: SHA-256 over a fixed field list, `details` only when present. */
function unkeyedHash(entry: Record<string, unknown>): string {
  const fields = ['seq', 'time', 'user', 'host', 'pid', 'command', 'stores', 'outcome', 'exitCode', 'durationMs', 'prev'];
  const ordered: unknown[] = fields.map((key) => [key, entry[key]]);
  if (entry.details !== undefined) ordered.push(['details', entry.details]);
  return sha256(JSON.stringify(ordered));
}

function unkeyedEntry(seq: number, prev: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = { seq, time: '2024-01-01T00:00:00.000Z', user: 'op', host: 'h', pid: 1, ...record, prev, ...extra };
  return { ...base, hash: unkeyedHash(base) };
}

/** A format 1 log (as written before the chain was keyed) and its head; `details` per entry number. */
function legacyLog(count: number, details: Record<number, unknown> = {}): { paths: AuditPaths; entries: Array<Record<string, unknown>> } {
  const paths = fresh();
  const entries: Array<Record<string, unknown>> = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= count; seq++) {
    const entry = unkeyedEntry(seq, prev, details[seq] === undefined ? {} : { details: details[seq] });
    entries.push(entry);
    prev = entry.hash as string;
  }
  writeLines(
    paths,
    entries.map((entry) => JSON.stringify(entry)),
  );
  fs.writeFileSync(paths.head, JSON.stringify({ seq: count, hash: prev }));
  return { paths, entries };
}

describe('format 1 entries', () => {
  it('details of a format 1 entry are under its hash: intact it verifies; edited (hash left) it fails at that entry', () => {
    const { paths } = legacyLog(3, { 2: { pruned: ['a', 'b'] } });
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 3, unkeyed: 3 });
    const lines = logLines(paths);
    lines[1] = lines[1].replace('["a","b"]', '["a"]');
    writeLines(paths, lines);
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 1,
      problem: { line: 2, seq: 2, reason: 'its content does not match its hash (edited)' },
    });
  });

  it('a renumbered format 1 entry (hash recomputed) fails at it, naming the number it should have', () => {
    const { paths, entries } = legacyLog(4);
    const lines = logLines(paths);
    lines[2] = JSON.stringify(unkeyedEntry(7, entries[2].prev as string));
    writeLines(paths, lines);
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 2,
      problem: { line: 3, seq: 7, reason: 'its sequence number is 7, expected 3 (removed or reordered)' },
    });
  });

  it('a junk line before a format 1 entry fails even if that entry names it as skipped (format 1 entries record no torn lines)', () => {
    const { paths, entries } = legacyLog(3);
    const lines = logLines(paths);
    // `skipped` is outside the format 1 hash, so anyone can add it.
    lines[2] = JSON.stringify({ ...entries[2], skipped: [sha256('junk')] });
    lines.splice(2, 0, 'junk');
    writeLines(paths, lines);
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 2,
      problem: { line: 3, seq: 3, reason: 'the line is not a JSON entry, and the entry after it does not record it as a torn write' },
    });
  });

  it('a head behind the log at a keyed entry after format 1 ones is a warning; at a format 1 entry (what follows it forgeable) a failure', () => {
    const { paths, entries } = legacyLog(3);
    const fourth = append(paths);
    append(paths);
    fs.writeFileSync(paths.head, JSON.stringify({ seq: 4, hash: fourth.hash }));
    expect(verifyAudit(paths)).toEqual({
      ok: true,
      entries: 5,
      unkeyed: 3,
      warnings: ['the head record is at entry 4, behind the log (a write of it failed)'],
    });
    fs.writeFileSync(paths.head, JSON.stringify({ seq: 2, hash: entries[1].hash }));
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 5,
      problem: { line: 6, seq: 2, reason: 'the log ends at entry 5, but entry 2 was written (the tail was cut off or replaced)' },
    });
    fs.writeFileSync(paths.head, JSON.stringify({ seq: 0, hash: GENESIS }));
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 5,
      problem: { line: 6, seq: 0, reason: 'the log ends at entry 5, but entry 0 was written (the tail was cut off or replaced)' },
    });
  });

  it('an unkeyed entry after keyed ones fails even when the key file’s keyedFrom was moved past it', () => {
    const paths = fresh();
    append(paths);
    const second = append(paths);
    const forged = unkeyedEntry(3, second.hash);
    fs.appendFileSync(paths.log, `${JSON.stringify(forged)}\n`);
    fs.writeFileSync(paths.head, JSON.stringify({ seq: 3, hash: forged.hash }));
    const key = JSON.parse(fs.readFileSync(paths.key, 'utf8'));
    fs.writeFileSync(paths.key, JSON.stringify({ ...key, keyedFrom: 10, seq: 3, hash: forged.hash }));
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 2,
      problem: {
        line: 3,
        seq: 3,
        reason: 'it is an unkeyed entry where the log was already keyed (forged, or the chain was recomputed without the key)',
      },
    });
  });
});

describe('what an append writes', () => {
  it('a details field left undefined is not part of the entry or its hash: the log verifies', () => {
    const paths = fresh();
    const entry = append(paths, { kept: 1, gone: undefined });
    expect(readAudit(paths)[0].details).toEqual({ kept: 1 });
    expect(readAudit(paths)[0].hash).toBe(entry.hash);
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 1 });
  });

  it('an empty log file: the first entry is its only line, with nothing skipped', () => {
    const paths = fresh();
    fs.writeFileSync(paths.log, '');
    const entry = append(paths);
    expect(entry).toMatchObject({ seq: 1, prev: GENESIS });
    expect('skipped' in entry).toBe(false);
    expect(fs.readFileSync(paths.log, 'utf8')).toBe(`${JSON.stringify(entry)}\n`);
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 1 });
  });

  it('a log of torn lines only: the first entry starts the chain, names them in order, and ends a cut-off last line first', () => {
    const unterminated = fresh();
    fs.writeFileSync(unterminated.log, 'junk-a\n{"seq": 1, "cut');
    const first = append(unterminated);
    expect(first).toMatchObject({ seq: 1, prev: GENESIS, skipped: [sha256('junk-a'), sha256('{"seq": 1, "cut')] });
    expect(fs.readFileSync(unterminated.log, 'utf8')).toBe(`junk-a\n{"seq": 1, "cut\n${JSON.stringify(first)}\n`);
    expect(verifyAudit(unterminated)).toEqual({
      ok: true,
      entries: 1,
      warnings: ['lines 1, 2: a torn write (cut off by a crash), recorded by entry 1'],
    });

    const terminated = fresh();
    fs.writeFileSync(terminated.log, 'junk-a\n');
    const only = append(terminated);
    expect(only).toMatchObject({ seq: 1, prev: GENESIS, skipped: [sha256('junk-a')] });
    expect(fs.readFileSync(terminated.log, 'utf8')).toBe(`junk-a\n${JSON.stringify(only)}\n`);
  });

  it('JSON lines that are not entries (no numeric seq, no string hash, null, an array) are torn lines: read as such, named in order by the next entry', () => {
    const paths = fresh();
    const first = append(paths);
    const junk = ['{"seq":2}', '{"hash":"x"}', '{"seq":"2","hash":"x"}', 'null', '[]'];
    fs.appendFileSync(paths.log, `${junk.join('\n')}\n`);
    expect(readAudit(paths).map((entry) => entry.seq)).toEqual([1, -1, -1, -1, -1, -1]);
    const next = append(paths);
    expect(next).toMatchObject({ seq: 2, prev: first.hash, skipped: junk.map(sha256) });
    expect(verifyAudit(paths)).toEqual({
      ok: true,
      entries: 2,
      warnings: ['lines 2, 3, 4, 5, 6: a torn write (cut off by a crash), recorded by entry 2'],
    });
  });

  it('the tail is read from inside a line: an entry-shaped end of a torn line there is not taken for the last entry', () => {
    const paths = fresh();
    const first = append(paths);
    const inner = JSON.stringify({ seq: 99, hash: 'f'.repeat(64) });
    const cut = `x${inner}`;
    // Sized so the last 64 KiB of the file start exactly at `inner`.
    const torn = 'y'.repeat(65_535 - inner.length);
    fs.appendFileSync(paths.log, `${cut}\n${torn}`);
    expect(fs.statSync(paths.log).size - 64 * 1024).toBe(Buffer.byteLength(`${JSON.stringify(first)}\nx`));
    const next = append(paths);
    expect(next).toMatchObject({ seq: 2, prev: first.hash, skipped: [sha256(cut), sha256(torn)] });
    expect(verifyAudit(paths)).toMatchObject({ ok: true, entries: 2 });
  });

  it('appending and verifying leaves no file open', () => {
    const paths = fresh();
    append(paths);
    const open = () => fs.readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 10; i++) append(paths);
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 11 });
    expect(open()).toBe(before);
  });

  it('a single torn line recorded by the next entry is one line in the warning; removed afterwards, verify says lines were removed', () => {
    const paths = fresh();
    append(paths);
    append(paths);
    fs.appendFileSync(paths.log, '{"seq":3,"ti');
    append(paths);
    expect(verifyAudit(paths)).toEqual({ ok: true, entries: 3, warnings: ['line 3: a torn write (cut off by a crash), recorded by entry 3'] });
    const lines = logLines(paths);
    lines.splice(2, 1);
    writeLines(paths, lines);
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 2,
      problem: { line: 3, seq: 3, reason: 'it records torn lines before it that are not there (lines were removed)' },
    });
  });
});

describe('the head record', () => {
  it('a head record that lost its hash, naming an entry past the log, is a failure, not a head behind', () => {
    const paths = fresh();
    append(paths);
    append(paths);
    append(paths);
    fs.writeFileSync(paths.head, JSON.stringify({ seq: 5 }));
    expect(verifyAudit(paths)).toEqual({
      ok: false,
      entries: 3,
      problem: { line: 4, seq: 5, reason: 'the log ends at entry 3, but entry 5 was written (the tail was cut off or replaced)' },
    });
  });
});

describe('the key file', () => {
  it('no log, no head, no key: verify passes with nothing in it', () => {
    expect(verifyAudit(fresh())).toEqual({ ok: true, entries: 0 });
  });

  it('a key file that cannot be read (a directory): verify reports the read error itself, not a missing key', () => {
    const paths = fresh();
    append(paths);
    fs.rmSync(paths.key);
    fs.mkdirSync(paths.key);
    expect(verifyAudit(paths)).toEqual({ ok: false, entries: 0, problem: { line: 0, seq: 0, reason: expect.stringContaining('EISDIR') } });
  });

  it('a key that is not a base64 string (an array of 32 numbers) is a damaged key file: verify says so, an append refuses with a hint and writes nothing', () => {
    const paths = fresh();
    append(paths);
    const log = fs.readFileSync(paths.log, 'utf8');
    const key = JSON.parse(fs.readFileSync(paths.key, 'utf8'));
    fs.writeFileSync(paths.key, JSON.stringify({ ...key, key: Array.from({ length: 32 }, (_, i) => i) }));
    expect(verifyAudit(paths)).toEqual({ ok: false, entries: 0, problem: { line: 0, seq: 0, reason: `The audit key file ${paths.key} is damaged.` } });
    let thrown: unknown;
    try {
      append(paths);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StorageError);
    expect(thrown).toMatchObject({
      code: 'BAD_DATA',
      message: `The audit key file ${paths.key} is damaged.`,
      hint: 'Restore it from a backup; without it the keyed entries of the audit log cannot be verified.',
    });
    expect(fs.readFileSync(paths.log, 'utf8')).toBe(log);
  });
});

describe('the key record after the entry', () => {
  it('a key file that can be read but not rewritten: the entry stands, a warning says the key did not record it, and verify finds the key behind', () => {
    const paths = fresh();
    append(paths);
    // A name so long that the temporary file beside it cannot be made: the key reads, its rewrite fails.
    const key = path.join(path.dirname(paths.key), 'k'.repeat(240));
    fs.renameSync(paths.key, key);
    const longKey = { ...paths, key };
    const warnings: string[] = [];
    const entry = appendAudit(record, longKey, { env: {}, onWarning: (message) => warnings.push(message) });
    expect(readAudit(longKey).map((e) => e.seq)).toEqual([1, 2]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `^audit entry 2 was written to ${escape(paths.log)}, but the audit key file ${escape(key)} could not record it \\(.*ENAMETOOLONG.*\\); the next command that writes it catches up\\.$`,
      ),
    );
    expect(JSON.parse(fs.readFileSync(key, 'utf8'))).toMatchObject({ seq: 1 });
    expect(verifyAudit(longKey)).toEqual({ ok: true, entries: 2, warnings: ['the audit key records entry 1, behind the log (a write of it failed)'] });
    expect(entry.seq).toBe(2);
  });
});

describe('syslog forwarding failures', () => {
  it('an unreachable socket: the warning gives logger’s own message, trimmed, not Node’s', () => {
    const paths = fresh();
    const socket = path.join(home, 'no-such-socket');
    const warnings: string[] = [];
    appendAudit(record, paths, { env: { STORAGE_AUDIT_SYSLOG: socket }, onWarning: (message) => warnings.push(message) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^audit entry 1 was written, but could not be forwarded to syslog at ${escape(socket)}: logger: [^\\n]*\\S$`));
  });

  it('no logger on PATH (nothing on stderr): the warning gives the spawn error', () => {
    const paths = fresh();
    const socket = path.join(home, 'no-such-socket');
    const emptyBin = fs.mkdtempSync(path.join(home, 'bin-'));
    const warnings: string[] = [];
    const saved = process.env.PATH;
    process.env.PATH = emptyBin;
    let entry: AuditEntry;
    try {
      entry = appendAudit(record, paths, { env: { STORAGE_AUDIT_SYSLOG: socket }, onWarning: (message) => warnings.push(message) });
    } finally {
      process.env.PATH = saved;
    }
    expect(readAudit(paths)).toEqual([entry]);
    expect(warnings).toEqual([`audit entry 1 was written, but could not be forwarded to syslog at ${socket}: spawnSync logger ENOENT`]);
  });

  it('logger runs with stdin from /dev/null and without the tool’s STORAGE_* variables (a stand-in logger reports what it got)', () => {
    const paths = fresh();
    const socket = path.join(home, 'no-such-socket');
    const bin = fs.mkdtempSync(path.join(home, 'bin-'));
    fs.writeFileSync(path.join(bin, 'logger'), '#!/bin/sh\necho "stdin=$(readlink /proc/self/fd/0) storage=$(env | grep -c \'^STORAGE_\')" >&2\nexit 1\n', {
      mode: 0o755,
    });
    const warnings: string[] = [];
    const saved = { path: process.env.PATH, probe: process.env.STORAGE_AUDIT_PROBE };
    process.env.PATH = `${bin}:${saved.path}`;
    process.env.STORAGE_AUDIT_PROBE = 'not for logger';
    try {
      appendAudit(record, paths, { env: { STORAGE_AUDIT_SYSLOG: socket }, onWarning: (message) => warnings.push(message) });
    } finally {
      process.env.PATH = saved.path;
      if (saved.probe === undefined) delete process.env.STORAGE_AUDIT_PROBE;
      else process.env.STORAGE_AUDIT_PROBE = saved.probe;
    }
    expect(warnings).toEqual([`audit entry 1 was written, but could not be forwarded to syslog at ${socket}: stdin=/dev/null storage=0`]);
  });
});

describe('a log over 1 MiB', () => {
  it('the next entry follows the last one, found in the last 64 KiB of a log over 1 MiB', () => {
    const paths = fresh();
    const first = append(paths);
    const tail = fs.readFileSync(paths.log, 'utf8');
    fs.writeFileSync(paths.log, `${'x'.repeat(1024 * 1024 + 4096)}\n${tail}`);
    const next = append(paths);
    expect(next).toMatchObject({ seq: first.seq + 1, prev: first.hash });
    expect(logLines(paths).at(-1)).toBe(JSON.stringify(next));
  });
});
