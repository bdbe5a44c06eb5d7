// More of the store lock's rules (src/engine/store-lock.ts): an unreadable lock file, a lock from
// before the host restarted, what release and the heartbeat touch (only the holder's own lock),
// and who counts as the live holder; what happens when another run changes the lock file between
// two looks (simulated by wrapping fs calls: another process cannot be paused at that instant), the
// exact limits of the grace and stale times, and the interrupt handler.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pendingCleanups, runCleanups } from '../../src/engine/cleanup.js';
import { StorageError } from '../../src/engine/errors.js';
import { HEARTBEAT_MS, StoreLock, currentBootId, processStartOf, staleReason } from '../../src/engine/store-lock.js';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'storage-lock-'));
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

function locked(work: () => unknown): StorageError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected LOCKED');
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('store lock holders', () => {
  it('the lock file names this process, its start time and the boot; mode 0600 in a 0700 dir; release removes it', () => {
    const locks = path.join(dir(), 'locks');
    const lock = StoreLock.acquire(locks, 'main', 'storage backup create main');
    const holder = read(path.join(locks, 'main.lock'));
    expect(holder).toMatchObject({ pid: process.pid, host: os.hostname(), command: 'storage backup create main', beats: 0 });
    expect(holder.startedAt).toBe(holder.heartbeatAt);
    expect(holder.processStart).toBe(processStartOf(process.pid));
    expect(holder.bootId).toBe(currentBootId());
    expect(holder.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fs.statSync(path.join(locks, 'main.lock')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(locks).mode & 0o777).toBe(0o700);
    expect(StoreLock.liveHolder(locks, 'main')).toEqual(holder);
    expect(StoreLock.liveHolder(locks, 'other')).toBeUndefined();
    expect(fs.readdirSync(locks)).toEqual(['main.lock']);
    lock.release();
    expect(fs.readdirSync(locks)).toEqual([]);
    expect(StoreLock.liveHolder(locks, 'main')).toBeUndefined();
    // A second release, or a release after someone else took the lock, removes nothing of theirs.
    const next = StoreLock.acquire(locks, 'main', 'next');
    lock.release();
    expect(read(path.join(locks, 'main.lock')).command).toBe('next');
    next.release();
  });

  it('the heartbeat advances the holder’s own lock every HEARTBEAT_MS, and leaves a lock that is no longer its own alone', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    const lock = StoreLock.acquire(locks, 'main', 'run');
    const first = read(file);
    vi.advanceTimersByTime(HEARTBEAT_MS);
    const second = read(file);
    expect(second.beats).toBe(1);
    expect(Date.parse(second.heartbeatAt)).toBe(Date.parse(first.heartbeatAt) + HEARTBEAT_MS);
    expect(second.startedAt).toBe(first.startedAt);
    vi.advanceTimersByTime(HEARTBEAT_MS * 2);
    expect(read(file).beats).toBe(3);
    // Someone broke it and took it: the heartbeat does not write over theirs.
    const theirs = { ...first, pid: process.pid + 1, command: 'theirs' };
    fs.writeFileSync(file, JSON.stringify(theirs));
    vi.advanceTimersByTime(HEARTBEAT_MS);
    expect(read(file)).toEqual(theirs);
    fs.writeFileSync(file, JSON.stringify({ ...first, startedAt: '2000-01-01T00:00:00.000Z' }));
    vi.advanceTimersByTime(HEARTBEAT_MS);
    expect(read(file).beats).toBe(0);
    lock.release();
    // Not ours: release leaves it.
    expect(fs.existsSync(file)).toBe(true);
    fs.rmSync(file);
    vi.advanceTimersByTime(HEARTBEAT_MS);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('an unreadable lock file: live while young (being written), broken with a warning once older than the grace', () => {
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    fs.writeFileSync(file, '{"pid": 12');
    const young = locked(() => StoreLock.acquire(locks, 'main', 'run'));
    expect(young.code).toBe('LOCKED');
    expect(young.exitCode).toBe(75);
    expect(young.message).toBe('Store "main" is locked (its lock file is being written).');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"pid": 12');
    // Written this instant: its mtime can lie a fraction of a millisecond past Date.now() (it has
    // sub-millisecond precision); such a file is being written, not stale.
    const justNow = (Date.now() + 200) / 1000;
    fs.utimesSync(file, justNow, justNow);
    expect(locked(() => StoreLock.acquire(locks, 'main', 'run')).message).toContain('being written');
    const old = new Date(Date.now() - 6_000);
    fs.utimesSync(file, old, old);
    const warnings: string[] = [];
    const lock = StoreLock.acquire(locks, 'main', 'run', (message) => warnings.push(message));
    expect(warnings).toEqual(['Breaking a stale lock on store "main" (unknown holder): the lock file is unreadable.']);
    expect(read(file).command).toBe('run');
    lock.release();
    // A lock file of another shape is unreadable too.
    fs.writeFileSync(file, JSON.stringify({ pid: '1', host: 'x' }));
    fs.utimesSync(file, old, old);
    StoreLock.acquire(locks, 'main', 'again').release();
    fs.writeFileSync(file, JSON.stringify({ pid: 1 }));
    expect(locked(() => StoreLock.acquire(locks, 'main', 'again')).message).toContain('being written');
    expect(staleReason(undefined)).toBe('the lock file is unreadable');
  });

  it('a lock taken before this host restarted is stale even when its pid is alive again', () => {
    const now = new Date().toISOString();
    const holder = { pid: process.pid, host: os.hostname(), command: 'before reboot', startedAt: now, heartbeatAt: now };
    expect(staleReason({ ...holder, bootId: currentBootId() })).toBeUndefined();
    expect(staleReason({ ...holder, bootId: 'another-boot' })).toBe(`${os.hostname()} restarted since process ${process.pid} took it`);
    const locks = dir();
    fs.writeFileSync(path.join(locks, 'main.lock'), JSON.stringify({ ...holder, bootId: 'another-boot' }));
    expect(StoreLock.liveHolder(locks, 'main')).toBeUndefined();
    const warnings: string[] = [];
    StoreLock.acquire(locks, 'main', 'after reboot', (message) => warnings.push(message)).release();
    expect(warnings[0]).toContain(`before reboot, pid ${process.pid}): ${os.hostname()} restarted since`);
  });

  it('another host’s lock: the refusal says so and when it may be broken; taking a lock forgets what was watched', () => {
    const locks = dir();
    const now = new Date().toISOString();
    const holder = { pid: 1, host: 'elsewhere', command: 'storage backup create main', startedAt: now, heartbeatAt: now, beats: 1 };
    fs.writeFileSync(path.join(locks, 'main.lock'), JSON.stringify(holder));
    const error = locked(() => StoreLock.acquire(locks, 'main', 'run'));
    expect(error.message).toBe(`Store "main" is locked by storage backup create main (pid 1 on elsewhere, since ${now}).`);
    expect(error.hint).toContain('run again in 2 minutes');
    expect(error.details).toEqual({ holder });
    expect(StoreLock.liveHolder(locks, 'main')).toEqual(holder);
    const seen = fs.readdirSync(locks).filter((name) => name.includes('seen-by-'));
    expect(seen).toHaveLength(1);
    // The same beat seen again without enough time passing: still live, the first sighting kept.
    const first = fs.readFileSync(path.join(locks, seen[0]), 'utf8');
    locked(() => StoreLock.acquire(locks, 'main', 'run'));
    expect(fs.readFileSync(path.join(locks, seen[0]), 'utf8')).toBe(first);
    fs.rmSync(path.join(locks, 'main.lock'));
    StoreLock.acquire(locks, 'main', 'run').release();
    expect(fs.readdirSync(locks)).toEqual([]);
    // A heartbeat exactly at the limit counts as stopped.
    const at = Date.parse(now) + 120_000;
    expect(staleReason(holder, at)).toBe("its heartbeat stopped 120s ago (by this host's clock)");
    expect(staleReason(holder, at - 1)).toBeUndefined();
  });

  it('processStartOf reads field 22 of /proc/<pid>/stat; a pid that does not exist has none', () => {
    const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    expect(processStartOf(process.pid)).toBe(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    expect(processStartOf(2 ** 22 + 12345)).toBeUndefined();
  });
});

const deadPid = 2 ** 22 + 12345;
const seenFile = (locks: string) => path.join(locks, `main.lock.seen-by-${os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}`);

/** Runs `work` with every read of `file` followed by `after(readCount)` (another run acting right after our read). */
function afterEachRead<T>(file: string, after: (reads: number) => void, work: () => T): T {
  const real = fs.readFileSync;
  let reads = 0;
  vi.spyOn(fs, 'readFileSync').mockImplementation(((target: fs.PathOrFileDescriptor, options?: unknown) => {
    const result = (real as (t: fs.PathOrFileDescriptor, o?: unknown) => string | Buffer)(target, options);
    if (target === file) after(++reads);
    return result;
  }) as typeof fs.readFileSync);
  return work();
}

describe('store lock: another run acting between two looks', () => {
  it('a stale lock replaced by another run’s lock while it was judged is not removed; after two such rounds the run gives up with LOCKED', () => {
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    const holder = (n: number) => ({
      pid: deadPid,
      host: os.hostname(),
      command: `run ${n}`,
      startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
      heartbeatAt: '',
    });
    fs.writeFileSync(file, JSON.stringify(holder(0)));
    const warnings: string[] = [];
    let replaced = 0;
    const error = afterEachRead(
      file,
      (reads) => {
        // Right after each of our reads, another run breaks the lock and takes it (as dead as the last, so each is judged stale).
        if (reads <= 10) fs.writeFileSync(file, JSON.stringify(holder(++replaced)));
      },
      () => locked(() => StoreLock.acquire(locks, 'main', 'run', (message) => warnings.push(message))),
    );
    expect(error.code).toBe('LOCKED');
    expect(error.message).toBe('Could not take the lock on store "main".');
    expect(error.hint).toBe('Try again in a moment.');
    expect(warnings).toEqual([]);
    // Two rounds, each reading the holder twice: the last lock written is left for its owner.
    expect(replaced).toBe(4);
    expect(read(file).command).toBe('run 4');
  });

  it('a lock file that becomes readable between the two looks is judged by the first (unreadable and old): broken, then taken', () => {
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    fs.writeFileSync(file, '{"pid": 1');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    const warnings: string[] = [];
    const lock = afterEachRead(
      file,
      (reads) => {
        if (reads !== 1) return;
        fs.writeFileSync(file, JSON.stringify({ pid: deadPid, host: os.hostname(), command: 'late', startedAt: '', heartbeatAt: '' }));
        fs.utimesSync(file, old, old);
      },
      () => StoreLock.acquire(locks, 'main', 'run', (message) => warnings.push(message)),
    );
    expect(warnings).toEqual(['Breaking a stale lock on store "main" (unknown holder): the lock file is unreadable.']);
    expect(read(file).command).toBe('run');
    lock.release();
  });

  it('a lock released by its holder while we judged it (gone before we remove it): no error, the lock is taken', () => {
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    fs.writeFileSync(file, JSON.stringify({ pid: deadPid, host: os.hostname(), command: 'ending', startedAt: '', heartbeatAt: '' }));
    const lock = StoreLock.acquire(locks, 'main', 'run', () => fs.rmSync(file));
    expect(read(file).command).toBe('run');
    lock.release();
    expect(fs.readdirSync(locks)).toEqual([]);
  });

  it('a lock that vanishes between our failed link and our read of it: judged unreadable and absent, the lock is taken', () => {
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    fs.writeFileSync(file, JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'finishing', startedAt: '', heartbeatAt: '' }));
    const real = fs.readFileSync;
    let first = true;
    vi.spyOn(fs, 'readFileSync').mockImplementation(((target: fs.PathOrFileDescriptor, options?: unknown) => {
      if (target === file && first) {
        first = false;
        fs.rmSync(file);
      }
      return (real as (t: fs.PathOrFileDescriptor, o?: unknown) => string | Buffer)(target, options);
    }) as typeof fs.readFileSync);
    const warnings: string[] = [];
    const lock = StoreLock.acquire(locks, 'main', 'run', (message) => warnings.push(message));
    expect(read(file).command).toBe('run');
    expect(warnings).toEqual(['Breaking a stale lock on store "main" (unknown holder): the lock file is unreadable.']);
    lock.release();
  });

  it('a file system that refuses the hard link: that error, not a lock judged stale; no file left', () => {
    const locks = dir();
    vi.spyOn(fs, 'linkSync').mockImplementation(() => {
      throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
    });
    const warnings: string[] = [];
    expect(() => StoreLock.acquire(locks, 'main', 'run', (message) => warnings.push(message))).toThrow('EPERM');
    expect(warnings).toEqual([]);
    expect(fs.readdirSync(locks)).toEqual([]);
  });
});

describe('store lock: exact limits', () => {
  it('an unreadable lock file: live from 1 s in the future (exclusive) to 5 s old (exclusive), stale outside', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = Date.UTC(2026, 5, 1, 12, 0, 0);
    vi.setSystemTime(now);
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    const at = (ms: number) => {
      fs.writeFileSync(file, '{"pid": 1');
      fs.utimesSync(file, (now + ms) / 1000, (now + ms) / 1000);
    };
    for (const [offset, live] of [
      [2_000, false],
      [1_000, false],
      [999, true],
      [0, true],
      [-4_999, true],
      [-5_000, false],
    ] as const) {
      at(offset);
      if (offset % 1000 === 0) expect(fs.statSync(file).mtimeMs).toBe(now + offset);
      if (live) expect(locked(() => StoreLock.acquire(locks, 'main', 'run')).message).toContain('being written');
      else StoreLock.acquire(locks, 'main', 'run').release();
    }
  });

  it('another host’s lock is broken after exactly STALE_AFTER_MS of its heartbeat standing still, watched on this host’s monotonic clock', () => {
    vi.useFakeTimers({ toFake: ['hrtime'] });
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    const holder = { pid: 1, host: 'elsewhere', command: 'remote', startedAt: '2026-01-01T00:00:00.000Z', heartbeatAt: '2026-01-01T00:00:00.000Z', beats: 3 };
    fs.writeFileSync(file, JSON.stringify(holder));
    locked(() => StoreLock.acquire(locks, 'main', 'run'));
    vi.advanceTimersByTime(119_999);
    locked(() => StoreLock.acquire(locks, 'main', 'run'));
    vi.advanceTimersByTime(1);
    const warnings: string[] = [];
    StoreLock.acquire(locks, 'main', 'run', (message) => warnings.push(message)).release();
    expect(warnings).toEqual([`Breaking a stale lock on store "main" (remote, pid 1): its heartbeat has not moved for 120s, watched from ${os.hostname()}.`]);
  });

  it('what was watched long ago counts only for the same lock, the same beat and the same boot of this host', () => {
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    const holder = { pid: 1, host: 'elsewhere', command: 'remote', startedAt: '2026-01-01T00:00:00.000Z', heartbeatAt: '2026-01-01T00:00:00.000Z', beats: 3 };
    fs.writeFileSync(file, JSON.stringify(holder));
    locked(() => StoreLock.acquire(locks, 'main', 'run'));
    const watched = JSON.parse(fs.readFileSync(seenFile(locks), 'utf8'));
    const longAgo = { ...watched, seenAtMs: watched.seenAtMs - 200_000 };
    const variants = [
      { ...longAgo, lock: `elsewhere/1/2025-12-31T00:00:00.000Z` }, // another lock (an earlier run's)
      { ...longAgo, beat: `2/${holder.heartbeatAt}` }, // a beat since
      { ...longAgo, bootId: 'an-earlier-boot' }, // this host restarted: its monotonic clock started again
    ];
    for (const seen of variants) {
      fs.writeFileSync(seenFile(locks), JSON.stringify(seen));
      locked(() => StoreLock.acquire(locks, 'main', 'run'));
      // Watched afresh from now.
      expect(JSON.parse(fs.readFileSync(seenFile(locks), 'utf8'))).toMatchObject({ lock: watched.lock, beat: watched.beat, bootId: watched.bootId });
    }
    // A beat counted (the counter moved) with the same wall-clock time still counts as a beat.
    fs.writeFileSync(seenFile(locks), JSON.stringify(longAgo));
    fs.writeFileSync(file, JSON.stringify({ ...holder, beats: 4 }));
    locked(() => StoreLock.acquire(locks, 'main', 'run'));
    fs.writeFileSync(seenFile(locks), JSON.stringify(longAgo));
    fs.writeFileSync(file, JSON.stringify(holder));
    const warnings: string[] = [];
    StoreLock.acquire(locks, 'main', 'run', (message) => warnings.push(message)).release();
    expect(warnings[0]).toMatch(/heartbeat has not moved for 2\d\ds/);
  });
});

describe('store lock: release and interruption', () => {
  it('release leaves a lock of another pid with the same start time, and stops the heartbeat', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const locks = dir();
    const file = path.join(locks, 'main.lock');
    const lock = StoreLock.acquire(locks, 'main', 'run');
    expect(vi.getTimerCount()).toBe(1);
    const theirs = { ...read(file), pid: process.pid + 1, command: 'theirs' };
    fs.writeFileSync(file, JSON.stringify(theirs));
    lock.release();
    expect(read(file)).toEqual(theirs);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an interrupted run’s cleanup releases the lock', async () => {
    const locks = dir();
    StoreLock.acquire(locks, 'main', 'run');
    expect(pendingCleanups()).toEqual(['the lock on store "main"']);
    expect(await runCleanups()).toEqual([]);
    expect(fs.readdirSync(locks)).toEqual([]);
  });
});
