// The audit log: one JSON line per mutating command (who, where, when, what, on which stores,
// how it ended). Each entry holds the hash of the one before, so an edited, removed or reordered
// entry breaks the chain; the newest hash is also kept apart from the log, so a cut-off tail is
// caught too. Appends take an exclusive lock, so concurrent cron jobs never interleave entries.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { userPaths } from '../config/paths.js';
import { StorageError } from '../errors.js';
import { redact } from '../redact.js';
import { writeFileAtomic } from '../backup/files.js';
import { sleepSync } from '../resilience/clock.js';

export interface AuditRecord {
  command: string;
  stores: string[];
  outcome: 'ok' | 'failed' | 'partial' | 'refused' | 'interrupted';
  exitCode: number;
  durationMs: number;
}

export interface AuditEntry extends AuditRecord {
  seq: number;
  time: string;
  user: string;
  host: string;
  pid: number;
  prev: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);
const LOCK_WAIT_MS = 15_000;

export interface AuditPaths {
  log: string;
  head: string;
  lock: string;
}

/**
 * By default the log lives in the user data dir and its head in the user config dir, apart from
 * it, so removing the log's tail and its head takes two places. A directory given explicitly
 * (argument or $STORAGE_AUDIT_DIR) holds both.
 */
export function auditPaths(dir: string | undefined = process.env.STORAGE_AUDIT_DIR): AuditPaths {
  if (dir) return { log: path.join(dir, 'audit.log'), head: path.join(dir, 'head.json'), lock: path.join(dir, 'audit.lock') };
  const data = path.join(userPaths().data, 'audit');
  return { log: path.join(data, 'audit.log'), head: path.join(userPaths().config, 'audit-head.json'), lock: path.join(data, 'audit.lock') };
}

function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const ordered = ['seq', 'time', 'user', 'host', 'pid', 'command', 'stores', 'outcome', 'exitCode', 'durationMs', 'prev'].map((key) => [
    key,
    entry[key as keyof typeof entry],
  ]);
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex');
}

function withLock<T>(paths: AuditPaths, work: () => T): T {
  fs.mkdirSync(path.dirname(paths.lock), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(paths.lock, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than the wait is from a killed process: take it over.
      const age = Date.now() - (fs.statSync(paths.lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_WAIT_MS) fs.rmSync(paths.lock, { force: true });
      else if (Date.now() > deadline) throw new StorageError('LOCKED', 'The audit log is locked by another process.', { hint: 'Try again; safe to retry.' });
      else sleepSync(2 + Math.random() * 5);
    }
  }
  try {
    return work();
  } finally {
    fs.rmSync(paths.lock, { force: true });
  }
}

function lastLine(file: string): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    let start = Math.max(0, size - 64 * 1024);
    for (;;) {
      const buffer = Buffer.alloc(size - start);
      fs.readSync(fd, buffer, 0, buffer.length, start);
      const lines = buffer.toString('utf8').split('\n').filter(Boolean);
      if (lines.length > 1 || start === 0) return lines.at(-1);
      start = Math.max(0, start - 1024 * 1024);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends one entry to the chain. */
export function appendAudit(record: AuditRecord, paths: AuditPaths = auditPaths()): AuditEntry {
  return withLock(paths, () => {
    const last = lastLine(paths.log);
    const previous = last ? (JSON.parse(last) as AuditEntry) : undefined;
    const base: Omit<AuditEntry, 'hash'> = {
      seq: (previous?.seq ?? 0) + 1,
      time: new Date().toISOString(),
      user: os.userInfo().username,
      host: os.hostname(),
      pid: process.pid,
      command: redact(record.command),
      stores: record.stores,
      outcome: record.outcome,
      exitCode: record.exitCode,
      durationMs: Math.round(record.durationMs),
      prev: previous?.hash ?? GENESIS,
    };
    const entry: AuditEntry = { ...base, hash: entryHash(base) };
    const fd = fs.openSync(paths.log, 'a', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(entry)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    writeFileAtomic(paths.head, JSON.stringify({ seq: entry.seq, hash: entry.hash }));
    return entry;
  });
}

export function readAudit(paths: AuditPaths = auditPaths()): AuditEntry[] {
  if (!fs.existsSync(paths.log)) return [];
  return fs
    .readFileSync(paths.log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line, index) => {
      try {
        return JSON.parse(line) as AuditEntry;
      } catch {
        return { seq: -1, hash: '', prev: '', command: `(line ${index + 1} is not JSON)` } as AuditEntry;
      }
    });
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** The first entry that fails, and why. */
  problem?: { line: number; seq: number; reason: string };
}

export function verifyAudit(paths: AuditPaths = auditPaths()): AuditVerification {
  const entries = readAudit(paths);
  let prev = GENESIS;
  for (const [index, entry] of entries.entries()) {
    const fail = (reason: string): AuditVerification => ({ ok: false, entries: entries.length, problem: { line: index + 1, seq: entry.seq, reason } });
    if (entry.seq === -1) return fail('the line is not a JSON entry');
    const { hash, ...rest } = entry;
    if (entryHash(rest) !== hash) return fail('its content does not match its hash (edited)');
    if (entry.prev !== prev) return fail('it does not follow the entry before it (an entry was removed or reordered)');
    if (entry.seq !== index + 1) return fail(`its sequence number is ${entry.seq}, expected ${index + 1} (removed or reordered)`);
    prev = hash;
  }
  if (fs.existsSync(paths.head)) {
    const head = JSON.parse(fs.readFileSync(paths.head, 'utf8')) as { seq: number; hash: string };
    if (head.hash !== prev) {
      return {
        ok: false,
        entries: entries.length,
        problem: {
          line: entries.length + 1,
          seq: head.seq,
          reason: `the log ends at entry ${entries.length}, but entry ${head.seq} was written (the tail was cut off or replaced)`,
        },
      };
    }
  } else if (entries.length > 0) {
    return { ok: false, entries: entries.length, problem: { line: 1, seq: 1, reason: 'the head record is missing' } };
  }
  return { ok: true, entries: entries.length };
}
