// Conflicts: a row changed at the target since the last sync and changed at the source too. A job
// whose policy is not source-wins keeps, per row, the hashes of the two versions it last
// reconciled (its baseline, at the target beside the checkpoint), so a run can tell which side
// changed: only the source → the source's version is written; only the target → the target's
// change is kept; both → the policy decides (target-wins keeps the target, newest-wins compares a
// column, manual records both versions for `sync conflicts resolve` and leaves the target alone).
import { createHash } from 'node:crypto';
import type { SyncColumn, SyncRecord, SyncRow } from '../engines/spec.js';
import { compareKeys, decodeValue, encodeValue, keyOf, keyText, rowText, shownValue } from './values.js';

export type ConflictPolicy = { policy: 'source-wins' } | { policy: 'target-wins' } | { policy: 'manual' } | { policy: 'newest-wins'; column: string };

export function policyText(policy: ConflictPolicy): string {
  return policy.policy === 'newest-wins' ? `newest-wins by ${policy.column}` : policy.policy;
}

export function rowHash(row: SyncRow, columns: SyncColumn[]): string {
  return createHash('sha256').update(rowText(row, columns)).digest('base64url').slice(0, 22);
}

interface Baseline {
  source: string;
  target: string;
}

const baselineText = (baseline: Baseline) => `${baseline.source} ${baseline.target}`;

function parseBaseline(text: string | undefined): Baseline | undefined {
  if (!text) return undefined;
  const [source, target] = text.split(' ');
  return { source, target };
}

/** A pending conflict as kept at the target: both versions, with their value kinds. */
export interface ConflictRecord {
  detectedAt: string;
  source: Record<string, unknown>;
  target: Record<string, unknown>;
}

export function encodeRow(row: SyncRow, columns: SyncColumn[]): Record<string, unknown> {
  return Object.fromEntries(columns.map((column) => [column.name, encodeValue(row[column.name] ?? null)]));
}

export function decodeRow(encoded: Record<string, unknown>): SyncRow {
  return Object.fromEntries(Object.entries(encoded).map(([name, value]) => [name, decodeValue(value)]));
}

export interface Reconciled {
  /** Source rows to write (the rest of the batch is left as the target has it). */
  write: SyncRow[];
  records: SyncRecord[];
  /** Rows changed on both sides. */
  conflicts: number;
  /** Of those, kept as the target has them (target-wins, newest-wins, manual). */
  keptTarget: number;
  /** Rows changed only at the target, kept. */
  targetOnly: number;
  /** Of the conflicts, recorded for `sync conflicts resolve` (manual). */
  pending: number;
}

/**
 * Decides, for each source row of a batch, whether it is written, given the target's version of
 * each row (by key text), the baselines and the pending conflicts of those keys.
 */
export function reconcile(
  job: string,
  rows: SyncRow[],
  columns: SyncColumn[],
  key: string[],
  policy: ConflictPolicy,
  targets: Map<string, SyncRow>,
  baselines: Map<string, string>,
  pending: Map<string, string>,
  now: string,
): Reconciled {
  const out: Reconciled = { write: [], records: [], conflicts: 0, keptTarget: 0, targetOnly: 0, pending: 0 };
  const settle = (id: string, baseline: Baseline, previous: Baseline | undefined) => {
    if (!previous || baselineText(previous) !== baselineText(baseline)) out.records.push({ job, kind: 'baseline', key: id, value: baselineText(baseline) });
    if (pending.has(id)) out.records.push({ job, kind: 'conflict', key: id, value: null });
  };
  for (const row of rows) {
    const id = keyText(keyOf(row, key));
    const target = targets.get(id);
    const previous = parseBaseline(baselines.get(id));
    const sourceHash = rowHash(row, columns);
    if (!target) {
      out.write.push(row);
      settle(id, { source: sourceHash, target: sourceHash }, previous);
      continue;
    }
    const targetHash = rowHash(target, columns);
    if (sourceHash === targetHash) {
      settle(id, { source: sourceHash, target: sourceHash }, previous);
      continue;
    }
    const targetChanged = !previous || previous.target !== targetHash;
    const sourceChanged = !previous || previous.source !== sourceHash;
    // Neither side moved since they were reconciled (a kept target version): nothing to do.
    if (!targetChanged && !sourceChanged) continue;
    if (!targetChanged) {
      out.write.push(row);
      settle(id, { source: sourceHash, target: sourceHash }, previous);
      continue;
    }
    if (!sourceChanged) {
      out.targetOnly++;
      continue;
    }
    out.conflicts++;
    const takeSource =
      policy.policy === 'source-wins' || (policy.policy === 'newest-wins' && compareKeys([row[policy.column] ?? null], [target[policy.column] ?? null]) >= 0);
    if (takeSource) {
      out.write.push(row);
      settle(id, { source: sourceHash, target: sourceHash }, previous);
    } else if (policy.policy === 'manual') {
      out.pending++;
      out.keptTarget++;
      const record: ConflictRecord = { detectedAt: now, source: encodeRow(row, columns), target: encodeRow(target, columns) };
      out.records.push({ job, kind: 'conflict', key: id, value: JSON.stringify(record) });
    } else {
      out.keptTarget++;
      settle(id, { source: sourceHash, target: targetHash }, previous);
    }
  }
  return out;
}

/** What `sync conflicts resolve` writes for one pending conflict: the source's version (and a baseline of it), or only a baseline that accepts the target's. */
export function resolution(
  job: string,
  id: string,
  record: ConflictRecord,
  columns: SyncColumn[],
  take: 'source' | 'target',
): { write: SyncRow[]; records: SyncRecord[] } {
  const source = decodeRow(record.source);
  const sourceHash = rowHash(source, columns);
  const targetHash = take === 'source' ? sourceHash : rowHash(decodeRow(record.target), columns);
  return {
    write: take === 'source' ? [source] : [],
    records: [
      { job, kind: 'baseline', key: id, value: baselineText({ source: sourceHash, target: targetHash }) },
      { job, kind: 'conflict', key: id, value: null },
    ],
  };
}

/** A conflict's key as shown to the operator and accepted by `resolve` (the key values, comma-separated). */
export function shownKey(row: SyncRow, key: string[]): string {
  return keyOf(row, key).map(shownValue).join(', ');
}
