// One backup, restore or prune per store at a time. The lock file says who holds it; a lock
// whose holder is provably gone (same host, process not running) or whose heartbeat stopped
// is broken with a warning, so a killed cron run never blocks the next night's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from '../cleanup.js';
import { StorageError } from '../errors.js';
import { writeFileAtomic } from './files.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  heartbeatAt: string;
}

export const HEARTBEAT_MS = 10_000;
export const STALE_AFTER_MS = 120_000;

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Why a held lock may be broken, or undefined when its holder may still be working. */
export function staleReason(holder: LockHolder | undefined, now = Date.now()): string | undefined {
  if (!holder) return 'the lock file is unreadable';
  if (holder.host === os.hostname() && !processAlive(holder.pid)) return `process ${holder.pid} on ${holder.host} is gone`;
  const age = now - Date.parse(holder.heartbeatAt);
  if (!(age < STALE_AFTER_MS)) return `its heartbeat stopped ${Math.round(age / 1000)}s ago`;
  return undefined;
}

export class StoreLock {
  private timer?: NodeJS.Timeout;
  /** An interrupted run (SIGINT, SIGTERM) releases the lock too, so the next run need not break it. */
  private unregister: () => void = () => undefined;

  private constructor(
    readonly file: string,
    private holder: LockHolder,
  ) {}

  static acquire(dir: string, store: string, command: string, onWarning: (message: string) => void = () => undefined): StoreLock {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${store}.lock`);
    const now = new Date().toISOString();
    const holder: LockHolder = { pid: process.pid, host: os.hostname(), command, startedAt: now, heartbeatAt: now };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx', 0o600);
        fs.writeSync(fd, JSON.stringify(holder));
        fs.closeSync(fd);
        const lock = new StoreLock(file, holder);
        lock.timer = setInterval(() => lock.beat(), HEARTBEAT_MS);
        lock.timer.unref();
        lock.unregister = onCleanup(`the lock on store "${store}"`, () => lock.release());
        return lock;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const current = readHolder(file);
      const reason = staleReason(current);
      if (!reason) {
        throw new StorageError(
          'LOCKED',
          `Store "${store}" is locked by ${current!.command} (pid ${current!.pid} on ${current!.host}, since ${current!.startedAt}).`,
          {
            hint: 'Another run is working on this store; try again when it finishes. Safe to retry later (exit 75).',
            details: { holder: current },
          },
        );
      }
      onWarning(`Breaking a stale lock on store "${store}" (${current ? `${current.command}, pid ${current.pid}` : 'unknown holder'}): ${reason}.`);
      fs.rmSync(file, { force: true });
    }
    throw new StorageError('LOCKED', `Could not take the lock on store "${store}".`, { hint: 'Try again in a moment.' });
  }

  /** Who holds the store's lock now, if someone does and is still working (a stale lock counts as free). */
  static liveHolder(dir: string, store: string): LockHolder | undefined {
    const file = path.join(dir, `${store}.lock`);
    if (!fs.existsSync(file)) return undefined;
    const holder = readHolder(file);
    return staleReason(holder) ? undefined : holder;
  }

  private beat(): void {
    const current = readHolder(this.file);
    if (!current || current.pid !== this.holder.pid || current.startedAt !== this.holder.startedAt) return;
    this.holder = { ...this.holder, heartbeatAt: new Date().toISOString() };
    try {
      writeFileAtomic(this.file, JSON.stringify(this.holder));
    } catch {
      // A missed heartbeat only makes the lock look older; the next one catches up.
    }
  }

  release(): void {
    this.unregister();
    if (this.timer) clearInterval(this.timer);
    const current = readHolder(this.file);
    if (current && current.pid === this.holder.pid && current.startedAt === this.holder.startedAt) fs.rmSync(this.file, { force: true });
  }
}
