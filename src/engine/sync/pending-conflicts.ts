// `sync conflicts list` and `resolve`: the rows a manual-policy job found changed on both sides,
// with both versions, and the operator's choice of one. Taking the source writes its version (and
// a baseline of it) in one transaction at the target; taking the target writes only a baseline
// that accepts the target's version, so later runs leave it alone until the source changes again.
import { withStoreLock } from '../fleet-lock.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { decodeRow, policyText, resolution, shownKey, type ConflictRecord } from './conflicts.js';
import type { SyncJob } from './jobs.js';
import { prepare } from './service.js';
import { canonicalText, shownValue } from './values.js';

export interface PendingConflict {
  /** The key values, comma-separated: what `resolve` takes. */
  key: string;
  detectedAt: string;
  /** The columns whose values differ, each side's value as shown. */
  differences: Array<{ column: string; source: string; target: string }>;
  source: Record<string, string>;
  target: Record<string, string>;
}

export interface ConflictList {
  job: string;
  policy: string;
  conflicts: PendingConflict[];
}

interface Loaded {
  id: string;
  record: ConflictRecord;
  shown: PendingConflict;
}

async function loadConflicts(fleet: Fleet, job: SyncJob) {
  const prepared = await prepare(fleet, job);
  const { target, key } = prepared;
  const raw = await target.impl.readRecords(target.provider, job.name, 'conflict');
  const loaded: Loaded[] = [];
  for (const [id, value] of raw) {
    const record = JSON.parse(value) as ConflictRecord;
    const source = decodeRow(record.source);
    const there = decodeRow(record.target);
    const shownRow = (row: typeof source) => Object.fromEntries(prepared.shape.columns.map((c) => [c.name, shownValue(row[c.name] ?? null)]));
    loaded.push({
      id,
      record,
      shown: {
        key: shownKey(source, key),
        detectedAt: record.detectedAt,
        differences: prepared.shape.columns
          .filter((c) => canonicalText(source[c.name] ?? null) !== canonicalText(there[c.name] ?? null))
          .map((c) => ({ column: c.name, source: shownValue(source[c.name] ?? null), target: shownValue(there[c.name] ?? null) })),
        source: shownRow(source),
        target: shownRow(there),
      },
    });
  }
  return { prepared, loaded };
}

export async function listConflicts(fleet: Fleet, job: SyncJob): Promise<ConflictList> {
  const { loaded } = await loadConflicts(fleet, job);
  return { job: job.name, policy: policyText(job.conflict), conflicts: loaded.map((entry) => entry.shown) };
}

export interface ConflictResolution {
  job: string;
  took: 'source' | 'target';
  resolved: string[];
}

/** Resolves the conflicts with these keys (every pending one when none are given). Holds the target store's lock, like a run. */
export async function resolveConflicts(
  fleet: Fleet,
  job: SyncJob,
  keys: string[],
  take: 'source' | 'target',
  options: { command?: string; warn?: (message: string) => void } = {},
): Promise<ConflictResolution> {
  return withStoreLock(
    fleet,
    job.to.store,
    options.command ?? 'storage sync conflicts resolve',
    (message) => options.warn?.(message),
    async () => {
      const { prepared, loaded } = await loadConflicts(fleet, job);
      const chosen = keys.length ? loaded.filter((entry) => keys.includes(entry.shown.key)) : loaded;
      const unknown = keys.filter((wanted) => !loaded.some((entry) => entry.shown.key === wanted));
      if (unknown.length)
        throw new StorageError('NOT_FOUND', `No pending conflict of "${job.name}" has the key ${unknown.map((k) => `"${k}"`).join(', ')}.`, {
          hint: `\`storage sync conflicts list ${job.name}\` shows the pending ones and their keys. Nothing was changed.`,
        });
      const columns = prepared.shape.columns;
      const write = [];
      const records = [];
      for (const entry of chosen) {
        const done = resolution(job.name, entry.id, entry.record, columns, take);
        write.push(...done.write);
        records.push(...done.records);
      }
      if (records.length)
        await prepared.target.impl.apply(prepared.target.provider, {
          table: prepared.target.table,
          columns,
          key: prepared.key,
          mode: 'upsert',
          rows: write,
          records,
          fresh: false,
        });
      return { job: job.name, took: take, resolved: chosen.map((entry) => entry.shown.key) };
    },
  );
}
