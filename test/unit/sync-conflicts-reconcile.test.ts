// The conflict decision for each source row, given the target's version and the job's baseline:
// the table an operator relies on (README, Sync: conflicts).
import { describe, expect, it } from 'vitest';
import type { SyncColumn, SyncRow } from '../../src/engine/engines/spec.js';
import { reconcile, resolution, rowHash, type ConflictPolicy } from '../../src/engine/sync/conflicts.js';
import { keyText } from '../../src/engine/sync/values.js';

const columns: SyncColumn[] = [
  { name: 'id', type: 'integer', nullable: false, native: 'integer' },
  { name: 'v', type: 'text', nullable: true, native: 'text' },
  { name: 'at', type: 'text', nullable: true, native: 'text' },
];
const row = (v: string, at = '2026-01-01'): SyncRow => ({ id: 1n, v, at });
const id = keyText([1n]);
const baseline = (source: SyncRow, target: SyncRow) => new Map([[id, `${rowHash(source, columns)} ${rowHash(target, columns)}`]]);

function decide(policy: ConflictPolicy, source: SyncRow, target: SyncRow | undefined, base?: Map<string, string>, pending = new Map<string, string>()) {
  return reconcile('job', [source], columns, ['id'], policy, target ? new Map([[id, target]]) : new Map(), base ?? new Map(), pending, 'now');
}

describe('reconcile', () => {
  const old = row('old');
  it('a row the target lacks is written, with a baseline of it', () => {
    const out = decide({ policy: 'manual' }, row('new'), undefined);
    expect(out.write).toEqual([row('new')]);
    expect(out.records).toEqual([{ job: 'job', kind: 'baseline', key: id, value: `${rowHash(row('new'), columns)} ${rowHash(row('new'), columns)}` }]);
  });

  it('equal sides write nothing; an unchanged baseline is not rewritten', () => {
    expect(decide({ policy: 'manual' }, old, old, baseline(old, old))).toMatchObject({ write: [], records: [], conflicts: 0 });
  });

  it('changed only at the source: written; only at the target: kept; neither since a kept version: nothing', () => {
    expect(decide({ policy: 'manual' }, row('s'), old, baseline(old, old))).toMatchObject({ write: [row('s')], conflicts: 0 });
    expect(decide({ policy: 'manual' }, old, row('t'), baseline(old, old))).toMatchObject({ write: [], conflicts: 0, targetOnly: 1 });
    expect(decide({ policy: 'manual' }, row('s'), row('t'), baseline(row('s'), row('t')))).toMatchObject({
      write: [],
      records: [],
      conflicts: 0,
      targetOnly: 0,
    });
  });

  it('changed on both sides: each policy', () => {
    const both = (policy: ConflictPolicy, s = row('s'), t = row('t')) => decide(policy, s, t, baseline(old, old));
    expect(both({ policy: 'source-wins' })).toMatchObject({ write: [row('s')], conflicts: 1, keptTarget: 0 });
    const kept = both({ policy: 'target-wins' });
    expect(kept).toMatchObject({ write: [], conflicts: 1, keptTarget: 1, pending: 0 });
    expect(kept.records).toEqual([{ job: 'job', kind: 'baseline', key: id, value: `${rowHash(row('s'), columns)} ${rowHash(row('t'), columns)}` }]);
    const manual = both({ policy: 'manual' });
    expect(manual).toMatchObject({ write: [], conflicts: 1, pending: 1 });
    expect(manual.records).toHaveLength(1);
    expect(manual.records[0]).toMatchObject({ kind: 'conflict', key: id });
    expect(JSON.parse(manual.records[0].value!)).toMatchObject({ source: { v: 's' }, target: { v: 't' } });
    expect(both({ policy: 'newest-wins', column: 'at' }, row('s', '2026-02-01'), row('t', '2026-03-01'))).toMatchObject({ write: [], keptTarget: 1 });
    expect(both({ policy: 'newest-wins', column: 'at' }, row('s', '2026-03-01'), row('t', '2026-02-01')).write).toEqual([row('s', '2026-03-01')]);
    expect(both({ policy: 'newest-wins', column: 'at' }, row('s', '2026-03-01'), row('t', '2026-03-01')).write).toHaveLength(1); // a tie: the source
  });

  it('no baseline and a different target row is a conflict (nothing says which side is newer)', () => {
    expect(decide({ policy: 'manual' }, row('s'), row('t'))).toMatchObject({ conflicts: 1, pending: 1 });
  });

  it('a pending conflict that settles is removed', () => {
    const pending = new Map([[id, '{}']]);
    const out = decide({ policy: 'manual' }, row('same'), row('same'), baseline(old, old), pending);
    expect(out.records).toContainEqual({ job: 'job', kind: 'conflict', key: id, value: null });
  });

  it('resolution: taking the source writes it; taking the target writes only a baseline accepting it', () => {
    const record = { detectedAt: 'now', source: { id: { i: '1' }, v: 's', at: 'a' }, target: { id: { i: '1' }, v: 't', at: 'a' } };
    const source = resolution('job', id, record, columns, 'source');
    expect(source.write).toEqual([{ id: 1n, v: 's', at: 'a' }]);
    const target = resolution('job', id, record, columns, 'target');
    expect(target.write).toEqual([]);
    expect(target.records[0].value).toBe(`${rowHash({ id: 1n, v: 's', at: 'a' }, columns)} ${rowHash({ id: 1n, v: 't', at: 'a' }, columns)}`);
    expect(target.records[1]).toEqual({ job: 'job', kind: 'conflict', key: id, value: null });
  });
});
