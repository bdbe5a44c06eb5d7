// The audit log: one JSON line per mutating command (who, where, when, what, on which stores,
// how it ended). Each entry holds the hash of the one before, so an edited, removed or reordered
// entry breaks the chain. Since format 2 the hash is an HMAC keyed with the audit key, a file kept
// apart from the log (so the chain cannot be recomputed by someone who can edit the log but not
// read the key); the key file also records how far the log has been written, and the newest hash
// is kept in a head file apart from the log, so a cut-off tail, a log rolled back together with
// its head, or a deleted log is caught too. Appends take an exclusive lock, so concurrent cron
// jobs never interleave entries. Each entry can also be forwarded to syslog/journald, so a copy
// lives outside the user's files. The README's "Audit log" section states what this can prove.
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnv } from '../system/child-env.js';
import { userPaths } from '../config/paths.js';
import { StorageError } from '../errors.js';
import { withFileLock } from '../system/file-lock.js';
import { redact, redactDeep } from '../redact.js';
import { writeFileAtomic } from '../system/files.js';

export interface AuditRecord {
  command: string;
  stores: string[];
  outcome: 'ok' | 'failed' | 'partial' | 'refused' | 'interrupted';
  exitCode: number;
  durationMs: number;
  /** Extra facts about what the command did (e.g. the backups a prune deleted); optional. */
  details?: Record<string, unknown>;
}

export interface AuditEntry extends AuditRecord {
  seq: number;
  time: string;
  user: string;
  host: string;
  pid: number;
  prev: string;
  hash: string;
  /** 2: `hash` is an HMAC under the audit key. Absent: a format 1 entry, hashed without a key. */
  v?: 2;
  /** SHA-256 of each torn line (a write cut off by a crash) between this entry and the one before. */
  skipped?: string[];
}

const GENESIS = '0'.repeat(64);
const KEYED = 2;

export interface AuditPaths {
  log: string;
  head: string;
  lock: string;
  /** The audit key and the record of how far the log was written: never beside the log by default. */
  key: string;
}

/**
 * By default the log lives in the user data dir, and its head and key in the user config dir,
 * apart from it. A directory given explicitly (argument or $STORAGE_AUDIT_DIR) holds all of them
 * unless $STORAGE_AUDIT_KEY_FILE puts the key elsewhere (recommended: somewhere the log's readers
 * and its backups do not reach).
 */
export function auditPaths(dir: string | undefined = process.env.STORAGE_AUDIT_DIR, env: NodeJS.ProcessEnv = process.env): AuditPaths {
  const keyFile = env.STORAGE_AUDIT_KEY_FILE ? path.resolve(env.STORAGE_AUDIT_KEY_FILE) : undefined;
  if (dir)
    return {
      log: path.join(dir, 'audit.log'),
      head: path.join(dir, 'head.json'),
      lock: path.join(dir, 'audit.lock'),
      key: keyFile ?? path.join(dir, 'audit.key'),
    };
  const data = path.join(userPaths().data, 'audit');
  return {
    log: path.join(data, 'audit.log'),
    head: path.join(userPaths().config, 'audit-head.json'),
    lock: path.join(data, 'audit.lock'),
    key: keyFile ?? path.join(userPaths().config, 'audit.key'),
  };
}

/** The audit key file: the HMAC key, from which entry keying started, and how far the log was written. */
interface AuditKeyState {
  v: 1;
  key: string;
  created: string;
  /** The first entry written with the key; every entry from here on must be keyed. */
  keyedFrom: number;
  /** The newest entry written (a high-water mark the log and its head cannot be rolled back past). */
  seq: number;
  hash: string;
}

/** Format 1 (unkeyed) entries: SHA-256 over a fixed list of fields. */
function legacyHash(entry: Omit<AuditEntry, 'hash'>): string {
  const ordered = ['seq', 'time', 'user', 'host', 'pid', 'command', 'stores', 'outcome', 'exitCode', 'durationMs', 'prev'].map((key) => [
    key,
    entry[key as keyof typeof entry],
  ]);
  // Only when present, so entries written before details existed keep their hashes.
  if (entry.details !== undefined) ordered.push(['details', entry.details]);
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex');
}

/** JSON with keys sorted at every level, so a field added later (e.g. `details`) is covered too. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** Format 2 (keyed) entries: HMAC-SHA-256 under the audit key over every field but the hash itself. */
function keyedHash(key: Buffer, entry: Omit<AuditEntry, 'hash'>): string {
  return createHmac('sha256', key).update(canonical(entry)).digest('hex');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function readKeyState(file: string): AuditKeyState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const state = JSON.parse(text) as AuditKeyState;
    if (typeof state.key !== 'string' || Buffer.from(state.key, 'base64').length < 32) throw new Error('no key');
    return state;
  } catch {
    throw new StorageError('BAD_DATA', `The audit key file ${file} is damaged.`, {
      hint: 'Restore it from a backup; without it the keyed entries of the audit log cannot be verified.',
    });
  }
}

function writeKeyState(file: string, state: AuditKeyState): void {
  writeFileAtomic(file, `${JSON.stringify(state)}\n`, 0o600);
}

interface LogTail {
  last?: AuditEntry;
  /** Lines after the last entry that are not entries (torn writes). */
  fragments: string[];
  /** The file does not end with a newline (the last write was cut off). */
  unterminated: boolean;
}

function parseEntry(line: string): AuditEntry | undefined {
  try {
    const entry = JSON.parse(line) as AuditEntry;
    return entry && typeof entry === 'object' && typeof entry.seq === 'number' && typeof entry.hash === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** The last complete entry of the log, and whatever torn lines follow it. */
function readTail(file: string): LogTail {
  if (!fs.existsSync(file)) return { fragments: [], unterminated: false };
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return { fragments: [], unterminated: false };
    const lastByte = Buffer.alloc(1);
    fs.readSync(fd, lastByte, 0, 1, size - 1);
    let start = Math.max(0, size - 64 * 1024);
    for (;;) {
      const buffer = Buffer.alloc(size - start);
      fs.readSync(fd, buffer, 0, buffer.length, start);
      const lines = buffer.toString('utf8').split('\n');
      // The first line of a chunk that does not start the file may be cut: never judge it.
      const whole = start === 0 ? lines : lines.slice(1);
      const fragments: string[] = [];
      for (let index = whole.length - 1; index >= 0; index--) {
        const line = whole[index];
        if (!line) continue;
        const entry = parseEntry(line);
        if (entry) return { last: entry, fragments: fragments.reverse(), unterminated: lastByte[0] !== 0x0a };
        fragments.push(line);
      }
      if (start === 0) return { fragments: fragments.reverse(), unterminated: lastByte[0] !== 0x0a };
      start = Math.max(0, start - 1024 * 1024);
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface AppendOptions {
  /** Told when the entry was written but something after it was not (the head, the key record, syslog). */
  onWarning?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** Appends one entry to the chain. */
export function appendAudit(record: AuditRecord, paths: AuditPaths = auditPaths(), options: AppendOptions = {}): AuditEntry {
  const warn = options.onWarning ?? (() => undefined);
  const env = options.env ?? process.env;
  const entry = withFileLock(
    paths.lock,
    () => {
      const tail = readTail(paths.log);
      const previous = tail.last;
      let state = readKeyState(paths.key);
      if (!state) {
        if (previous?.v === KEYED)
          warn(
            `the audit key ${paths.key} is missing although the log ${paths.log} is keyed; a new key was made, so entries up to ${previous.seq} can no longer be verified. Keep the old log, head and key as evidence if this was not you.`,
          );
        // The first keyed entry: an existing unkeyed log is continued (its entries stay format 1).
        state = {
          v: 1,
          key: randomBytes(32).toString('base64'),
          created: new Date().toISOString(),
          keyedFrom: (previous?.seq ?? 0) + 1,
          seq: previous?.seq ?? 0,
          hash: previous?.hash ?? GENESIS,
        };
        writeKeyState(paths.key, state);
      }
      const key = Buffer.from(state.key, 'base64');
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
        ...(record.details ? { details: redactDeep(record.details) } : {}),
        prev: previous?.hash ?? GENESIS,
        v: KEYED,
        // Torn lines stay in the file (evidence); the entry after them names them, so verify knows them.
        ...(tail.fragments.length > 0 ? { skipped: tail.fragments.map(sha256) } : {}),
      };
      const written: AuditEntry = { ...base, hash: keyedHash(key, base) };
      const fd = fs.openSync(paths.log, 'a', 0o600);
      try {
        fs.writeSync(fd, `${tail.unterminated ? '\n' : ''}${JSON.stringify(written)}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      // The entry is written: from here on a failure is a warning that says exactly what was not.
      try {
        writeFileAtomic(paths.head, JSON.stringify({ seq: written.seq, hash: written.hash }));
      } catch (error) {
        warn(
          `audit entry ${written.seq} was written to ${paths.log}, but its head record ${paths.head} could not be updated (${(error as Error).message}); the next command that writes it catches up.`,
        );
      }
      try {
        writeKeyState(paths.key, { ...state, seq: written.seq, hash: written.hash });
      } catch (error) {
        warn(
          `audit entry ${written.seq} was written to ${paths.log}, but the audit key file ${paths.key} could not record it (${(error as Error).message}); the next command that writes it catches up.`,
        );
      }
      return written;
    },
    { what: `the audit log ${paths.log}` },
  );
  forwardToSyslog(entry, env, warn);
  return entry;
}

/** Where entries are forwarded, from $STORAGE_AUDIT_SYSLOG: off, the system log socket (/dev/log), or a socket path. */
export function syslogTarget(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const setting = env.STORAGE_AUDIT_SYSLOG?.trim();
  if (!setting || ['0', 'off', 'false', 'no'].includes(setting.toLowerCase())) return undefined;
  if (['1', 'on', 'true', 'yes', 'syslog', 'journald'].includes(setting.toLowerCase())) return '/dev/log';
  return path.resolve(setting);
}

/**
 * Sends the entry, as the JSON line the log holds, to syslog through `logger` (util-linux), which
 * speaks the local datagram socket Node cannot; on systemd hosts /dev/log is journald's.
 */
function forwardToSyslog(entry: AuditEntry, env: NodeJS.ProcessEnv, warn: (message: string) => void): void {
  const socket = syslogTarget(env);
  if (!socket) return;
  try {
    execFileSync('logger', ['--socket-errors=on', '-u', socket, '-t', 'storage-audit', '-p', 'auth.notice', '-S', '65536', '--', JSON.stringify(entry)], {
      env: childEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 5000,
    });
  } catch (error) {
    const detail = String((error as { stderr?: unknown }).stderr ?? '').trim() || (error as Error).message;
    warn(`audit entry ${entry.seq} was written, but could not be forwarded to syslog at ${socket}: ${detail}`);
  }
}

export function readAudit(paths: AuditPaths = auditPaths()): AuditEntry[] {
  if (!fs.existsSync(paths.log)) return [];
  return fs
    .readFileSync(paths.log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line, index) => parseEntry(line) ?? ({ seq: -1, hash: '', prev: '', command: `(line ${index + 1} is not JSON)` } as AuditEntry));
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** The first entry that fails, and why. */
  problem?: { line: number; seq: number; reason: string };
  /** Entries written before the log was keyed (format 1): their chain shows order and completeness, not who wrote them. */
  unkeyed?: number;
  /** Things that are not tampering but worth knowing (a lagging head, a torn last line). */
  warnings?: string[];
}

export function verifyAudit(paths: AuditPaths = auditPaths()): AuditVerification {
  const lines = fs.existsSync(paths.log) ? fs.readFileSync(paths.log, 'utf8').split('\n') : [];
  let state: AuditKeyState | undefined;
  try {
    state = readKeyState(paths.key);
  } catch (error) {
    return { ok: false, entries: 0, problem: { line: 0, seq: 0, reason: (error as Error).message } };
  }
  const key = state ? Buffer.from(state.key, 'base64') : undefined;
  const entries: AuditEntry[] = [];
  const warnings: string[] = [];
  let prev = GENESIS;
  let unkeyed = 0;
  let fragments: Array<{ line: number; hash: string }> = [];
  const fail = (line: number, seq: number, reason: string): AuditVerification => ({ ok: false, entries: entries.length, problem: { line, seq, reason } });
  for (const [index, line] of lines.entries()) {
    if (!line) continue;
    const entry = parseEntry(line);
    if (!entry) {
      fragments.push({ line: index + 1, hash: sha256(line) });
      continue;
    }
    const lineNo = index + 1;
    const { hash, ...rest } = entry;
    if (entry.v === KEYED) {
      if (!key) return fail(lineNo, entry.seq, `it is keyed, but the audit key ${paths.key} is missing (deleted, or the log was moved without it)`);
      if (keyedHash(key, rest) !== hash) return fail(lineNo, entry.seq, 'its content does not match its keyed hash (edited)');
    } else {
      if (entries.some((earlier) => earlier.v === KEYED) || (state && entry.seq >= state.keyedFrom))
        return fail(lineNo, entry.seq, 'it is an unkeyed entry where the log was already keyed (forged, or the chain was recomputed without the key)');
      if (legacyHash(rest) !== hash) return fail(lineNo, entry.seq, 'its content does not match its hash (edited)');
      unkeyed++;
    }
    if (entry.prev !== prev) return fail(lineNo, entry.seq, 'it does not follow the entry before it (an entry was removed or reordered)');
    if (entry.seq !== entries.length + 1)
      return fail(lineNo, entry.seq, `its sequence number is ${entry.seq}, expected ${entries.length + 1} (removed or reordered)`);
    if (fragments.length > 0) {
      const named = entry.v === KEYED ? (entry.skipped ?? []) : [];
      const unnamed = fragments.find((fragment) => !named.includes(fragment.hash));
      if (unnamed) return fail(unnamed.line, entry.seq, 'the line is not a JSON entry, and the entry after it does not record it as a torn write');
      warnings.push(
        `line${fragments.length === 1 ? '' : 's'} ${fragments.map((f) => f.line).join(', ')}: a torn write (cut off by a crash), recorded by entry ${entry.seq}`,
      );
      fragments = [];
    } else if (entry.skipped?.length) return fail(lineNo, entry.seq, 'it records torn lines before it that are not there (lines were removed)');
    entries.push(entry);
    prev = hash;
  }
  if (fragments.length > 0) warnings.push(`line ${fragments[0].line}: the last write was cut off (a crash while writing); the next entry will record it`);

  const last = entries.at(-1);
  // A head (or key record) behind the log is a failed write of it, not tampering, as long as what
  // follows it is keyed (cannot be forged without the key).
  const behindButSound = (seq: number, hash: string) =>
    seq < entries.length && entries[seq - 1]?.hash === hash && entries.slice(seq).every((e) => e.v === KEYED);

  let head: { seq: number; hash: string } | undefined;
  try {
    head = fs.existsSync(paths.head) ? (JSON.parse(fs.readFileSync(paths.head, 'utf8')) as { seq: number; hash: string }) : undefined;
  } catch {
    return fail(entries.length + 1, 0, `the head record ${paths.head} cannot be read`);
  }
  if (head) {
    if (head.hash !== prev) {
      if (behindButSound(head.seq, head.hash)) warnings.push(`the head record is at entry ${head.seq}, behind the log (a write of it failed)`);
      else
        return fail(
          entries.length + 1,
          head.seq,
          `the log ends at entry ${entries.length}, but entry ${head.seq} was written (the tail was cut off or replaced)`,
        );
    }
  } else if (entries.length > 0) {
    return { ok: false, entries: entries.length, problem: { line: 1, seq: 1, reason: 'the head record is missing' } };
  }
  if (state) {
    if (state.seq > entries.length || (state.seq === entries.length && state.hash !== prev)) {
      return fail(
        entries.length + 1,
        state.seq,
        entries.length === 0
          ? `the log is missing or empty, but the audit key records ${state.seq} entries written (the log was deleted)`
          : `the log ends at entry ${entries.length}, but the audit key records entry ${state.seq} written (the log and its head were rolled back or replaced)`,
      );
    }
    if (state.seq < entries.length && !behindButSound(state.seq, state.hash))
      return fail(entries.length, last?.seq ?? 0, `the audit key records entry ${state.seq} as the newest, which this log does not have (replaced)`);
    if (state.seq < entries.length && state.seq > 0) warnings.push(`the audit key records entry ${state.seq}, behind the log (a write of it failed)`);
  }
  return {
    ok: true,
    entries: entries.length,
    ...(unkeyed > 0 ? { unkeyed } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
