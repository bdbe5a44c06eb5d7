import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreLock, staleReason } from '../../src/engine/store-lock.js';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'storage-lock-'));

describe('store locks', () => {
  it('a second holder is refused with exit 75, naming the holder', () => {
    const locks = dir();
    const first = StoreLock.acquire(locks, 'main', 'storage backup create main');
    try {
      let error: { code?: string; exitCode?: number; message?: string } = {};
      try {
        StoreLock.acquire(locks, 'main', 'storage backup create main');
      } catch (caught) {
        error = caught as typeof error;
      }
      expect(error.code).toBe('LOCKED');
      expect(error.exitCode).toBe(75);
      expect(error.message).toContain(`pid ${process.pid}`);
    } finally {
      first.release();
    }
    StoreLock.acquire(locks, 'main', 'again').release();
  });

  it('breaks a lock whose holder process is gone, with a warning', () => {
    const locks = dir();
    const now = new Date().toISOString();
    fs.writeFileSync(
      path.join(locks, 'main.lock'),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), command: 'killed run', startedAt: now, heartbeatAt: now }),
    );
    const warnings: string[] = [];
    const lock = StoreLock.acquire(locks, 'main', 'next run', (message) => warnings.push(message));
    expect(warnings.join()).toMatch(/stale lock.*killed run.*is gone/);
    lock.release();
  });

  it('treats a lock from another host as live until its heartbeat stops', () => {
    const fresh = { pid: 1, host: 'elsewhere', command: 'x', startedAt: '', heartbeatAt: new Date().toISOString() };
    expect(staleReason(fresh)).toBeUndefined();
    expect(staleReason({ ...fresh, heartbeatAt: new Date(Date.now() - 10 * 60_000).toISOString() })).toMatch(/heartbeat stopped/);
  });

  it('a lock whose holder is alive on this host is never stale, however old its heartbeat looks (a clock ahead)', () => {
    const locks = dir();
    const longAgo = new Date(Date.now() - 303_000).toISOString();
    const holder = { pid: process.pid, host: os.hostname(), command: 'storage backup create main', startedAt: longAgo, heartbeatAt: longAgo };
    expect(staleReason(holder)).toBeUndefined();
    fs.writeFileSync(path.join(locks, 'main.lock'), JSON.stringify(holder));
    expect(() => StoreLock.acquire(locks, 'main', 'second run')).toThrow(/locked by storage backup create main/);
    expect(JSON.parse(fs.readFileSync(path.join(locks, 'main.lock'), 'utf8')).command).toBe('storage backup create main');
  });

  it('a reused pid is not taken for the holder: another process start time makes the lock stale', () => {
    const now = new Date().toISOString();
    const holder = { pid: process.pid, host: os.hostname(), command: 'killed run', startedAt: now, heartbeatAt: now };
    // Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot.
    const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    expect(staleReason({ ...holder, processStart: started })).toBeUndefined();
    expect(staleReason({ ...holder, processStart: '1' })).toMatch(/pid now belongs to another process/);
  });

  it('a lock from another host is broken only once this host has watched its heartbeat stand still, not on its timestamp', () => {
    const locks = dir();
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const holder = { pid: 1, host: 'elsewhere', command: 'storage backup create main', startedAt: old, heartbeatAt: old, beats: 7 };
    fs.writeFileSync(path.join(locks, 'main.lock'), JSON.stringify(holder));
    // First sight: the heartbeat's wall-clock time alone (10 minutes old here) proves nothing across hosts.
    expect(() => StoreLock.acquire(locks, 'main', 'next run')).toThrow(/locked by storage backup create main/);
    // A beat since then keeps it alive.
    fs.writeFileSync(path.join(locks, 'main.lock'), JSON.stringify({ ...holder, beats: 8 }));
    expect(() => StoreLock.acquire(locks, 'main', 'next run')).toThrow(/locked/);
    // Standing still for longer than STALE_AFTER_MS on this host's monotonic clock: broken.
    const seen = path.join(locks, `main.lock.seen-by-${os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    const observation = JSON.parse(fs.readFileSync(seen, 'utf8'));
    fs.writeFileSync(seen, JSON.stringify({ ...observation, seenAtMs: observation.seenAtMs - 130_000 }));
    const warnings: string[] = [];
    const lock = StoreLock.acquire(locks, 'main', 'next run', (message) => warnings.push(message));
    expect(warnings.join()).toMatch(/heartbeat has not moved for 13\ds/);
    lock.release();
    expect(fs.readdirSync(locks)).toEqual([]);
  });
});
