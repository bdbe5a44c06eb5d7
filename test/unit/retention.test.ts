import { describe, expect, it } from 'vitest';
import { FUTURE_SKEW_MS, applyRetention, isFutureDated, type RetentionCandidate, type RetentionPolicy } from '../../src/engine/repository/retention.js';

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('retention', () => {
  it('refuses an empty policy', () => {
    expect(() => applyRetention([{ id: 'a', store: 's', startedAt: '2026-01-01T00:00:00Z' }], {})).toThrow(/empty/);
    expect(() => applyRetention([], { keepLast: 0 })).toThrow(/empty/);
    expect(() => applyRetention([], {})).toThrow(expect.objectContaining({ code: 'USAGE', hint: expect.stringMatching(/--keep-last/) }));
  });

  it('keeps the newest per day for keep-daily, and the last N for keep-last', () => {
    const candidates: RetentionCandidate[] = [
      { id: 'd1-a', store: 's', startedAt: '2026-01-01T01:00:00Z' },
      { id: 'd1-b', store: 's', startedAt: '2026-01-01T23:00:00Z' },
      { id: 'd2-a', store: 's', startedAt: '2026-01-02T05:00:00Z' },
      { id: 'd3-a', store: 's', startedAt: '2026-01-03T05:00:00Z' },
    ];
    const daily = applyRetention(candidates, { keepDaily: 2 });
    expect(daily.keep.map((k) => k.id).sort()).toEqual(['d2-a', 'd3-a']);
    const last = applyRetention(candidates, { keepLast: 3 });
    expect(last.remove.map((r) => r.id)).toEqual(['d1-a']);
  });

  it('property: over random histories the newest backup of every store survives and every decision is total', () => {
    const random = seeded(42);
    for (let round = 0; round < 300; round++) {
      const stores = ['a', 'b', 'c'].slice(0, 1 + Math.floor(random() * 3));
      const candidates: RetentionCandidate[] = [];
      const count = Math.floor(random() * 30);
      for (let i = 0; i < count; i++) {
        // Equal timestamps and out-of-order creation on purpose.
        const at = Date.UTC(2026, 0, 1) + Math.floor(random() * 60) * 3_600_000 * (random() < 0.2 ? 0 : 1) * Math.floor(random() * 20);
        candidates.push({
          id: `id-${String(i).padStart(3, '0')}-${Math.floor(random() * 1000)}`,
          store: stores[Math.floor(random() * stores.length)],
          startedAt: new Date(at).toISOString(),
        });
      }
      const policy: RetentionPolicy = {
        keepLast: Math.floor(random() * 3),
        keepDaily: Math.floor(random() * 3),
        keepWeekly: random() < 0.5 ? 1 : 0,
        keepWithinMs: random() < 0.3 ? 3_600_000 * 5 : undefined,
      };
      if (!Object.values(policy).some((v) => typeof v === 'number' && v > 0)) policy.keepLast = 1;
      const decision = applyRetention(candidates, policy);
      const kept = new Set(decision.keep.map((k) => k.id));
      const removed = new Set(decision.remove.map((r) => r.id));
      expect(kept.size + removed.size).toBe(candidates.length);
      for (const id of kept) expect(removed.has(id)).toBe(false);
      for (const store of stores) {
        const mine = candidates.filter((c) => c.store === store);
        if (mine.length === 0) continue;
        const newest = [...mine].sort((x, y) => Date.parse(y.startedAt) - Date.parse(x.startedAt) || y.id.localeCompare(x.id))[0];
        expect(kept.has(newest.id), `round ${round}: newest of ${store} kept`).toBe(true);
      }
      if (policy.keepLast) {
        for (const store of stores) {
          const mine = candidates.filter((c) => c.store === store);
          expect(decision.keep.filter((k) => k.store === store).length).toBeGreaterThanOrEqual(Math.min(policy.keepLast, mine.length));
        }
      }
      // Deterministic: the same input gives the same decision (what --dry-run relies on).
      expect(applyRetention(candidates, policy)).toEqual(decision);
    }
  });

  it('a backup dated a year in the future is kept but never counted as the newest: keepWithin keeps the real backups', () => {
    const now = Date.parse('2026-11-27T12:00:00Z');
    const candidates: RetentionCandidate[] = [
      { id: 'skewed', store: 's', startedAt: '2027-11-27T12:00:00Z' },
      { id: 'real-1', store: 's', startedAt: '2026-11-26T12:00:00Z' },
      { id: 'real-2', store: 's', startedAt: '2026-11-27T11:00:00Z' },
    ];
    const decision = applyRetention(candidates, { keepWithinMs: 7 * 86_400_000 }, now);
    expect(decision.remove).toEqual([]);
    expect(decision.keep).toEqual(
      expect.arrayContaining([
        { id: 'skewed', store: 's', reasons: ['dated in the future'] },
        { id: 'real-2', store: 's', reasons: ['newest', 'within'] },
        { id: 'real-1', store: 's', reasons: ['within'] },
      ]),
    );
  });

  it('tagged backups are kept on top of the policy, unless the policy prunes tagged backups too', () => {
    const candidates: RetentionCandidate[] = [
      { id: 'a', store: 's', startedAt: '2026-01-01T00:00:00Z', tags: ['before-upgrade'] },
      { id: 'b', store: 's', startedAt: '2026-01-02T00:00:00Z' },
      { id: 'c', store: 's', startedAt: '2026-01-03T00:00:00Z' },
    ];
    const kept = applyRetention(candidates, { keepLast: 1 });
    expect(kept.remove.map((r) => r.id)).toEqual(['b']);
    expect(kept.keep.find((k) => k.id === 'a')?.reasons).toEqual(['tagged before-upgrade']);
    expect(applyRetention(candidates, { keepLast: 1, pruneTagged: true }).remove.map((r) => r.id)).toEqual(['b', 'a']);
  });

  it("counts a tenant's backups as a series of their own: they neither stand in for the store's backups nor lose to them", () => {
    const candidates: RetentionCandidate[] = [
      { id: 'store-1', store: 's', startedAt: '2026-01-01T01:00:00Z' },
      { id: 'store-2', store: 's', startedAt: '2026-01-02T01:00:00Z' },
      { id: 'acme-1', store: 's', startedAt: '2026-01-01T02:00:00Z', series: 's tenant acme' },
      { id: 'acme-2', store: 's', startedAt: '2026-01-03T02:00:00Z', series: 's tenant acme' },
      { id: 'bolt-1', store: 's', startedAt: '2026-01-01T03:00:00Z', series: 's tenant bolt' },
    ];
    const decision = applyRetention(candidates, { keepLast: 1 });
    expect(decision.keep.map((k) => k.id).sort()).toEqual(['acme-2', 'bolt-1', 'store-2']);
    expect(decision.remove.map((r) => r.id).sort()).toEqual(['acme-1', 'store-1']);
    expect(decision.keep.every((k) => k.store === 's')).toBe(true);
  });
});

describe('retention buckets and bounds (what a mutation run showed was unchecked)', () => {
  const at = (id: string, startedAt: string, extra: Partial<RetentionCandidate> = {}): RetentionCandidate => ({ id, store: 's', startedAt, ...extra });
  const kept = (decision: ReturnType<typeof applyRetention>) => Object.fromEntries(decision.keep.map((k) => [k.id, k.reasons]));
  const removed = (decision: ReturnType<typeof applyRetention>) => decision.remove.map((r) => r.id).sort();

  it('keep-hourly keeps the newest backup of each of the last N hours', () => {
    const decision = applyRetention(
      [at('h10a', '2026-03-01T10:05:00Z'), at('h10b', '2026-03-01T10:40:00Z'), at('h11', '2026-03-01T11:10:00Z'), at('h12', '2026-03-01T12:30:00Z')],
      { keepHourly: 2 },
    );
    expect(kept(decision)).toEqual({ h12: ['newest', 'hourly'], h11: ['hourly'] });
    expect(removed(decision)).toEqual(['h10a', 'h10b']);
  });

  it('keep-monthly keeps the newest backup of each of the last N months', () => {
    const decision = applyRetention(
      [at('j1', '2026-01-05T00:00:00Z'), at('j2', '2026-01-20T00:00:00Z'), at('f', '2026-02-03T00:00:00Z'), at('m', '2026-03-01T00:00:00Z')],
      { keepMonthly: 2 },
    );
    expect(kept(decision)).toEqual({ m: ['newest', 'monthly'], f: ['monthly'] });
    expect(removed(decision)).toEqual(['j1', 'j2']);
  });

  it('keep-weekly keeps the newest backup of each ISO week (Monday to Sunday), across a year end with a week 53', () => {
    // One backup a day at noon, 2026-12-14 (Mon) .. 2027-01-13 (Wed); 2026 has an ISO week 53 (Dec 28 .. Jan 3).
    const candidates: RetentionCandidate[] = [];
    for (let day = 0; day <= 30; day++) candidates.push(at(`d${day}`, new Date(Date.UTC(2026, 11, 14 + day, 12)).toISOString()));
    const decision = applyRetention(candidates, { keepWeekly: 10 });
    const weekly = decision.keep.filter((k) => k.reasons.includes('weekly')).map((k) => candidates.find((c) => c.id === k.id)!.startedAt.slice(0, 10));
    expect(weekly.sort()).toEqual(['2026-12-20', '2026-12-27', '2027-01-03', '2027-01-10', '2027-01-13']);
    expect(decision.keep.length + decision.remove.length).toBe(31);
    // The week limit counts weeks, not backups.
    expect(
      applyRetention(candidates, { keepWeekly: 2 })
        .keep.map((k) => k.id)
        .sort(),
    ).toEqual(['d27', 'd30']);
  });

  it('keep-within keeps a backup exactly that old, not one a millisecond older', () => {
    const decision = applyRetention([at('new', '2026-03-01T12:00:00.000Z'), at('edge', '2026-03-01T11:00:00.000Z'), at('older', '2026-03-01T10:59:59.999Z')], {
      keepWithinMs: 3_600_000,
    });
    expect(kept(decision)).toEqual({ new: ['newest', 'within'], edge: ['within'] });
    expect(removed(decision)).toEqual(['older']);
  });

  it('of two backups started at the same instant the greater id counts as the newest', () => {
    const decision = applyRetention([at('a', '2026-03-01T12:00:00Z'), at('b', '2026-03-01T12:00:00Z')], { keepLast: 1 });
    expect(kept(decision)).toEqual({ b: ['newest', 'last'] });
    expect(removed(decision)).toEqual(['a']);
  });

  it('only a backup more than the allowed skew ahead counts as dated in the future; a store whose only backup is, keeps it', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(isFutureDated(new Date(now + FUTURE_SKEW_MS).toISOString(), now)).toBe(false);
    expect(isFutureDated(new Date(now + FUTURE_SKEW_MS + 1).toISOString(), now)).toBe(true);
    expect(isFutureDated(new Date(now + 60_000).toISOString(), now)).toBe(false);
    const decision = applyRetention(
      [at('soon', new Date(now + 60_000).toISOString()), at('real', '2026-03-01T11:00:00Z'), at('far', '2027-01-01T00:00:00Z', { store: 't' })],
      { keepLast: 1 },
      now,
    );
    expect(kept(decision)).toEqual({ soon: ['newest', 'last'], far: ['dated in the future'] });
    expect(removed(decision)).toEqual(['real']);
  });

  it('an empty tag list is no tag; a negative count is no policy', () => {
    const decision = applyRetention([at('a', '2026-03-01T10:00:00Z', { tags: [] }), at('b', '2026-03-01T11:00:00Z')], { keepLast: 1 });
    expect(removed(decision)).toEqual(['a']);
    expect(() => applyRetention([at('a', '2026-03-01T10:00:00Z')], { keepLast: -1, keepDaily: 0 })).toThrow(/empty/);
  });
});

describe('retention buckets hold several backups', () => {
  it('two backups in one hour, day or month among the newest count once for that bucket', () => {
    const at = (id: string, startedAt: string): RetentionCandidate => ({ id, store: 's', startedAt });
    const ids = (policy: RetentionPolicy, list: RetentionCandidate[]) =>
      applyRetention(list, policy)
        .keep.map((k) => k.id)
        .sort();
    expect(
      ids({ keepHourly: 2 }, [
        at('a', '2026-03-01T12:40:00Z'),
        at('b', '2026-03-01T12:10:00Z'),
        at('c', '2026-03-01T11:10:00Z'),
        at('d', '2026-03-01T10:10:00Z'),
      ]),
    ).toEqual(['a', 'c']);
    expect(
      ids({ keepDaily: 2 }, [
        at('a', '2026-03-02T12:00:00Z'),
        at('b', '2026-03-02T08:00:00Z'),
        at('c', '2026-03-01T12:00:00Z'),
        at('d', '2026-02-28T12:00:00Z'),
      ]),
    ).toEqual(['a', 'c']);
    expect(
      ids({ keepMonthly: 2 }, [
        at('a', '2026-03-20T00:00:00Z'),
        at('b', '2026-03-02T00:00:00Z'),
        at('c', '2026-02-20T00:00:00Z'),
        at('d', '2026-01-20T00:00:00Z'),
      ]),
    ).toEqual(['a', 'c']);
  });
});
