// More of the store lock's rules (src/engine/store-lock.ts): an unreadable lock file, a lock from
// before the host restarted, what release and the heartbeat touch (only the holder's own lock),
// and who counts as the live holder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

afterEach(() => vi.useRealTimers());

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
