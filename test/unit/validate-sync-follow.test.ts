// validate's sync suite on follow-mode checkpoints: a live follow's lag is how long ago the
// target was last known current; a slot a killed follow left behind is a warning naming the fix.
import { describe, expect, it } from 'vitest';
import type { SyncCheckpoint } from '../../src/engine/engines/spec.js';
import type { SyncStatus } from '../../src/engine/sync/service.js';
import { judgeLag, judgeState } from '../../src/engine/validate/checks/sync-jobs.js';

const now = Date.parse('2026-01-01T12:00:00Z');
const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

function status(follow: Partial<NonNullable<SyncCheckpoint['follow']>> | undefined, feed?: SyncStatus['feed']): SyncStatus {
  return {
    job: 'orders',
    conflictsPending: 0,
    from: 'src:orders',
    to: 'dst:orders',
    checkpoint: {
      job: 'orders',
      lastKey: null,
      watermark: null,
      rows: 10,
      state: 'done',
      startedAt: ago(3600),
      updatedAt: ago(3600),
      ...(follow ? { follow: { method: 'logical', state: 'following', currentAt: ago(2), changes: 5, ...follow } } : {}),
    },
    lastRun: null,
    lastVerify: null,
    ...(feed !== undefined ? { feed } : {}),
  };
}

describe('validate sync checks on follow mode', () => {
  it('sync.lag: a live follow passes while the target was current within maxLag, and fails when it stopped being', () => {
    expect(judgeLag(status({}, { name: 's', active: true, method: 'logical' }), '30s', now)).toMatchObject({
      status: 'pass',
      reason: expect.stringContaining('following'),
    });
    expect(judgeLag(status({ currentAt: ago(90) }), '30s', now)).toMatchObject({ status: 'fail', reason: expect.stringContaining('over maxLag 30s') });
  });

  it('sync.state: a slot nobody reads is a warning naming how to resume or drop it', () => {
    const left = judgeState(status({}, { name: 'storage_sync_orders_x', active: false, retainedBytes: 2048, method: 'logical' }));
    expect(left).toMatchObject({ status: 'warn', reason: expect.stringContaining('storage_sync_orders_x') });
    expect(left.hint).toContain('storage sync reset orders');
    expect(judgeState(status({}, { name: 's', active: true, method: 'logical' }))).toMatchObject({
      status: 'pass',
      reason: expect.stringContaining('following'),
    });
  });
});
