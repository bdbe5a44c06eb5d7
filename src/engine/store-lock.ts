// One backup, restore or prune per store at a time. The lock file says who holds it. A lock is
// broken only when its holder is provably gone:
//   - on this host, the holder's process is not running (or its pid now belongs to another
//     process, or the host restarted since): a live pid is never stale, whatever the clocks say;
//   - on another host, this host watched the holder's heartbeat counter stand still for
//     STALE_AFTER_MS of its own monotonic clock. Wall-clock heartbeat times are only a hint across
//     hosts (clocks drift), so a lock from another host is never broken on first sight.
// A killed cron run never blocks the next night's on the same host.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from './cleanup.js';
import { StorageError } from './errors.js';
import { ensurePrivateDir } from './system/private-dir.js';
import { randomSuffix, writeFileAtomic } from './system/files.js';
import { processAlive } from './system/processes.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  heartbeatAt: string;
  /** Heartbeats so far: what another host watches (a counter, not a clock reading). */
  beats?: number;
  /** The holder process's start time (clock ticks after boot, from /proc/<pid>/stat), so a reused pid is not taken for it. */
  processStart?: string;
  /** The host's boot id: a pid from before a restart is not the same process. */
  bootId?: string;
}

export const HEARTBEAT_MS = 10_000;
export const STALE_AFTER_MS = 120_000;
/** An unreadable lock this young may be one an older version is still writing. */
const UNREADABLE_GRACE_MS = 5_000;
/** How far in the future a just-written lock file's time may be and still count as young. */
const FUTURE_SLACK_MS = 1_000;

function readProc(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** When a process started, in clock ticks after boot (Linux); undefined where /proc cannot tell. */
export function processStartOf(pid: number): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22, starttime
}

export function currentBootId(): string | undefined {
  return readProc('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
}

/** Milliseconds on this host's monotonic clock (shared by all its processes; unaffected by clock changes). */
function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof holder?.pid === 'number' && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** Why a lock held on this host is stale, or undefined when its holder is still running. */
function sameHostStaleReason(holder: LockHolder): string | undefined {
  const bootId = currentBootId();
  if (holder.bootId && bootId && holder.bootId !== bootId) return `${holder.host} restarted since process ${holder.pid} took it`;
  if (!processAlive(holder.pid)) return `process ${holder.pid} on ${holder.host} is gone`;
  const start = processStartOf(holder.pid);
  if (holder.processStart && start && holder.processStart !== start)
    return `process ${holder.pid} on ${holder.host} ended; its pid now belongs to another process`;
  return undefined;
}

/**
 * Why a held lock looks stale, or undefined when its holder may still be working. On this host
 * the answer is certain; for another host's lock it is a hint from its wall-clock heartbeat,
 * good enough to show a backup as running or not, never enough to break the lock.
 */
export function staleReason(holder: LockHolder | undefined, now = Date.now()): string | undefined {
  if (!holder) return 'the lock file is unreadable';
  if (holder.host === os.hostname()) return sameHostStaleReason(holder);
  const age = now - Date.parse(holder.heartbeatAt);
  if (!(age < STALE_AFTER_MS)) return `its heartbeat stopped ${Math.round(age / 1000)}s ago (by this host's clock)`;
  return undefined;
}

interface Observation {
  lock: string;
  beat: string;
  bootId?: string;
  seenAtMs: number;
}

const lockKey = (holder: LockHolder) => `${holder.host}/${holder.pid}/${holder.startedAt}`;
const beatMark = (holder: LockHolder) => `${holder.beats ?? '-'}/${holder.heartbeatAt}`;
const safeHost = () => os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_');

export class StoreLock {
  private timer?: NodeJS.Timeout;
  /** An interrupted run (SIGINT, SIGTERM) releases the lock too, so the next run need not break it. */
  private unregister: () => void = () => undefined;

  private constructor(
    readonly file: string,
    private holder: LockHolder,
  ) {}

  static acquire(dir: string, store: string, command: string, onWarning: (message: string) => void = () => undefined): StoreLock {
    ensurePrivateDir(dir);
    const file = path.join(dir, `${store}.lock`);
    const now = new Date().toISOString();
    const holder: LockHolder = {
      pid: process.pid,
      host: os.hostname(),
      command,
      startedAt: now,
      heartbeatAt: now,
      beats: 0,
      ...(processStartOf(process.pid) ? { processStart: processStartOf(process.pid) } : {}),
      ...(currentBootId() ? { bootId: currentBootId() } : {}),
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      if (StoreLock.create(file, holder)) {
        StoreLock.forgetObservations(dir, store);
        const lock = new StoreLock(file, holder);
        lock.timer = setInterval(() => lock.beat(), HEARTBEAT_MS);
        lock.timer.unref();
        lock.unregister = onCleanup(`the lock on store "${store}"`, () => lock.release());
        return lock;
      }
      const current = readHolder(file);
      const verdict = StoreLock.judge(dir, store, file, current);
      if (verdict.live) {
        throw new StorageError(
          'LOCKED',
          current
            ? `Store "${store}" is locked by ${current.command} (pid ${current.pid} on ${current.host}, since ${current.startedAt}).`
            : `Store "${store}" is locked (its lock file is being written).`,
          {
            hint: verdict.hint ?? 'Another run is working on this store; try again when it finishes. Safe to retry later (exit 75).',
            details: { holder: current },
          },
        );
      }
      // Someone may have broken it and taken it meanwhile: only remove the holder we judged.
      const again = readHolder(file);
      if (current && again && lockKey(again) !== lockKey(current)) continue;
      onWarning(`Breaking a stale lock on store "${store}" (${current ? `${current.command}, pid ${current.pid}` : 'unknown holder'}): ${verdict.reason}.`);
      fs.rmSync(file, { force: true });
    }
    throw new StorageError('LOCKED', `Could not take the lock on store "${store}".`, { hint: 'Try again in a moment.' });
  }

  /** Writes the holder to a temp file and links it into place: the lock file is never seen half-written. */
  private static create(file: string, holder: LockHolder): boolean {
    const temp = `${file}.${process.pid}.${randomSuffix()}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(holder), { mode: 0o600 });
    try {
      fs.linkSync(temp, file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return false;
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }

  /** Whether the lock's holder may still be working; when not, why. */
  private static judge(dir: string, store: string, file: string, holder: LockHolder | undefined): { live: boolean; reason?: string; hint?: string } {
    if (!holder) {
      const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      // mtimeMs has a fraction of a millisecond Date.now() lacks, so a file written this instant can
      // look up to a millisecond (more with a coarse file clock) in the future: still young.
      return age > -FUTURE_SLACK_MS && age < UNREADABLE_GRACE_MS ? { live: true } : { live: false, reason: 'the lock file is unreadable' };
    }
    if (holder.host === os.hostname()) {
      const reason = sameHostStaleReason(holder);
      return reason ? { live: false, reason } : { live: true };
    }
    // Another host: break only once this host has watched its heartbeat stand still long enough.
    const observations = path.join(dir, `${store}.lock.seen-by-${safeHost()}`);
    let seen: Observation | undefined;
    try {
      seen = JSON.parse(fs.readFileSync(observations, 'utf8')) as Observation;
    } catch {
      seen = undefined;
    }
    const nowMs = monotonicMs();
    const bootId = currentBootId();
    if (seen && seen.lock === lockKey(holder) && seen.beat === beatMark(holder) && seen.bootId === bootId) {
      const still = nowMs - seen.seenAtMs;
      if (still >= STALE_AFTER_MS)
        return { live: false, reason: `its heartbeat has not moved for ${Math.round(still / 1000)}s, watched from ${os.hostname()}` };
    } else {
      writeFileAtomic(observations, JSON.stringify({ lock: lockKey(holder), beat: beatMark(holder), bootId, seenAtMs: nowMs } satisfies Observation));
    }
    return {
      live: true,
      hint: `Another run on ${holder.host} is working on this store (safe to retry later, exit 75). If that host is down, run again in ${STALE_AFTER_MS / 60_000} minutes: a lock whose heartbeat this host has seen stand still that long is broken.`,
    };
  }

  private static forgetObservations(dir: string, store: string): void {
    for (const name of fs.readdirSync(dir)) if (name.startsWith(`${store}.lock.seen-by-`)) fs.rmSync(path.join(dir, name), { force: true });
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
    this.holder = { ...this.holder, heartbeatAt: new Date().toISOString(), beats: (this.holder.beats ?? 0) + 1 };
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
