// A short exclusive lock on one file (the vault, the audit log) between processes of this tool:
// a lock file created with O_EXCL that names its holder. A holder that is gone (its pid is dead
// on this host, or, from another host, the lock is older than any write takes) is taken over.
// Writers take it, re-read the file under it and write it back, so no update is ever lost.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from '../cleanup.js';
import { ensurePrivateDir } from './private-dir.js';
import { processAlive } from './processes.js';
import { StorageError } from '../errors.js';
import { sleepSync } from '../resilience/clock.js';

interface Holder {
  pid: number;
  host: string;
  started: string;
}

export interface FileLockOptions {
  /** What is locked, in the operator's words ("the secrets vault"), for messages. */
  what: string;
  /** How long to wait for another holder before giving up with LOCKED (75). */
  waitMs?: number;
  /** A lock from another host older than this is taken over (its holder cannot be asked). */
  staleMs?: number;
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

function isStale(file: string, staleMs: number): boolean {
  const holder = readHolder(file);
  const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
  // A lock file still being written (no holder yet) is fresh unless it is old.
  if (!holder) return age > staleMs;
  if (holder.host === os.hostname()) return !processAlive(holder.pid);
  return age > staleMs;
}

/** Runs `work` holding the lock file `lockFile`; waits for another holder, takes over a dead one. */
export function withFileLock<T>(lockFile: string, work: () => T, options: FileLockOptions): T {
  const waitMs = options.waitMs ?? 15_000;
  const staleMs = options.staleMs ?? 60_000;
  ensurePrivateDir(path.dirname(lockFile));
  const deadline = Date.now() + waitMs;
  const me: Holder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, 'wx', 0o600);
      try {
        fs.writeSync(fd, JSON.stringify(me));
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (isStale(lockFile, staleMs)) {
        // Re-checked just before removal, so a lock a live process has just taken is not removed.
        if (isStale(lockFile, staleMs)) fs.rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        const holder = readHolder(lockFile);
        throw new StorageError(
          'LOCKED',
          `${options.what} is locked by another process${holder ? ` (pid ${holder.pid} on ${holder.host} since ${holder.started})` : ''}.`,
          {
            hint: `Try again when it has finished; safe to retry. A lock left by a crash on another host is taken over after ${Math.round(staleMs / 1000)}s (${lockFile}).`,
          },
        );
      }
      sleepSync(2 + Math.random() * 8);
    }
  }
  const release = () => {
    // Only our own lock: one taken over from us (we were stopped too long) belongs to someone else now.
    const holder = readHolder(lockFile);
    if (holder && holder.pid === me.pid && holder.host === me.host && holder.started === me.started) fs.rmSync(lockFile, { force: true });
  };
  const unregister = onCleanup(`lock on ${options.what}`, release);
  try {
    return work();
  } finally {
    unregister();
    release();
  }
}
