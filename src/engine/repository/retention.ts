// Which backups a retention policy keeps. Only complete backups count; the newest complete
// backup of each store is always kept; an empty policy is refused. A backup dated in the future
// (a clock was wrong when it was taken) is kept and never counted as the newest, so it cannot make
// real backups look old. Tagged backups are kept unless the policy says otherwise. Pure, so
// `--dry-run` and a real run compute exactly the same set.
import { StorageError } from '../errors.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  /** Keep every backup this many ms younger than the store's newest one. */
  keepWithinMs?: number;
  /**
   * Tagged backups are kept by default (a tag is a deliberate mark, like restic's --keep-tag for
   * every tag); true lets the policy judge them like any other backup.
   */
  pruneTagged?: boolean;
}

/** How far ahead of this host's clock a backup's start may be before it counts as dated in the future. */
export const FUTURE_SKEW_MS = 5 * 60_000;

export function isFutureDated(startedAt: string, now: number): boolean {
  return Date.parse(startedAt) > now + FUTURE_SKEW_MS;
}

export interface RetentionCandidate {
  id: string;
  store: string;
  startedAt: string;
  tags?: string[];
  /**
   * The series the policy counts it in (default: its store). A tenant's backups are a series of
   * their own: they hold one tenant, so they neither stand in for a backup of the store nor are
   * pushed out by the store's newer backups.
   */
  series?: string;
}

export interface RetentionDecision {
  keep: Array<{ id: string; store: string; reasons: string[] }>;
  remove: Array<{ id: string; store: string }>;
}

export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return ![policy.keepLast, policy.keepHourly, policy.keepDaily, policy.keepWeekly, policy.keepMonthly, policy.keepWithinMs].some(
    (value) => typeof value === 'number' && value > 0,
  );
}

function bucket(date: Date, unit: 'hour' | 'day' | 'week' | 'month'): string {
  const iso = date.toISOString();
  if (unit === 'hour') return iso.slice(0, 13);
  if (unit === 'day') return iso.slice(0, 10);
  if (unit === 'month') return iso.slice(0, 7);
  // ISO week: the Thursday of the date's week decides the year.
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  return `${day.getUTCFullYear()}-W${Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7)}`;
}

/** `now` (this host's clock) is what "in the future" is measured against; without it no backup counts as future-dated. */
export function applyRetention(candidates: RetentionCandidate[], policy: RetentionPolicy, now?: number): RetentionDecision {
  if (isEmptyPolicy(policy)) {
    throw new StorageError('USAGE', 'The retention policy is empty: it would keep nothing.', {
      hint: 'Give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-within, or set backup.retention in the config.',
    });
  }
  const decision: RetentionDecision = { keep: [], remove: [] };
  const byStore = new Map<string, RetentionCandidate[]>();
  for (const candidate of candidates) {
    const series = candidate.series ?? candidate.store;
    byStore.set(series, [...(byStore.get(series) ?? []), candidate]);
  }
  for (const all of byStore.values()) {
    const store = all[0].store;
    const future = now === undefined ? [] : all.filter((candidate) => isFutureDated(candidate.startedAt, now));
    for (const candidate of future) decision.keep.push({ id: candidate.id, store, reasons: ['dated in the future'] });
    const list = all.filter((candidate) => !future.includes(candidate));
    if (list.length === 0) continue;
    const sorted = [...list].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || b.id.localeCompare(a.id));
    const reasons = new Map<string, string[]>(sorted.map((candidate) => [candidate.id, []]));
    const add = (id: string, reason: string) => reasons.get(id)!.push(reason);
    add(sorted[0].id, 'newest');
    if (!policy.pruneTagged) for (const candidate of sorted) if (candidate.tags?.length) add(candidate.id, `tagged ${candidate.tags.join(' ')}`);
    sorted.slice(0, policy.keepLast ?? 0).forEach((candidate) => add(candidate.id, 'last'));
    const units = [
      ['hour', policy.keepHourly],
      ['day', policy.keepDaily],
      ['week', policy.keepWeekly],
      ['month', policy.keepMonthly],
    ] as const;
    for (const [unit, count] of units) {
      if (!count) continue;
      const seen = new Set<string>();
      for (const candidate of sorted) {
        const key = bucket(new Date(candidate.startedAt), unit);
        if (seen.has(key)) continue;
        if (seen.size >= count) break;
        seen.add(key);
        add(candidate.id, `${unit}ly`.replace('dayly', 'daily'));
      }
    }
    if (policy.keepWithinMs) {
      const newest = Date.parse(sorted[0].startedAt);
      for (const candidate of sorted) if (newest - Date.parse(candidate.startedAt) <= policy.keepWithinMs) add(candidate.id, 'within');
    }
    for (const candidate of sorted) {
      const why = reasons.get(candidate.id)!;
      if (why.length > 0) decision.keep.push({ id: candidate.id, store, reasons: [...new Set(why)] });
      else decision.remove.push({ id: candidate.id, store });
    }
  }
  return decision;
}
