import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreLock, staleReason } from '../../src/engine/backup/lock.js';

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
});
