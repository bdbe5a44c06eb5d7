// What a prune did, as a table: every backup deleted (or, with --dry-run, that would be), every
// one kept and why, damaged ones kept, and stores left alone.
import type { PrunePlan } from '../../engine/backup/prune.js';
import { renderTable } from '../output.js';

export function pruneRows(plan: PrunePlan, options: { keptToo: boolean }): unknown[][] {
  const verb = plan.dryRun ? 'would delete' : 'deleted';
  return [
    ...plan.remove.map((r) => [r.id, r.store, verb, 'not kept by the policy']),
    ...plan.sweep.map((s) => [s.id, s.store, verb, `${s.status} leftover`]),
    ...plan.damaged.map((d) => [d.id, d.store, d.deleted ? verb : 'KEPT: damaged', d.problem]),
    ...plan.orphans.filter((o) => o.skipped).map((o) => ['-', o.store, 'skipped', `not in the config (${o.backups} backups)`]),
    ...(options.keptToo ? plan.keep.map((k) => [k.id, k.store, 'keep', k.reasons.join(', ')]) : []),
  ];
}

export function renderPrune(plan: PrunePlan, options: { keptToo: boolean }): string | undefined {
  const rows = pruneRows(plan, options);
  return rows.length ? renderTable(['backup', 'store', 'action', 'why'], rows) : undefined;
}

/** After `backup create --prune`: what the policy deleted in the stores just backed up (and what it had to keep). */
export function pruneSummary(plan: PrunePlan, stores: string[]): string {
  const deleted = pruneRows(plan, { keptToo: false }).filter((row) => row[2] === 'deleted').length;
  const head = deleted
    ? `Pruned ${deleted} backup${deleted === 1 ? '' : 's'} (backup.retention):`
    : `Pruned nothing: backup.retention keeps every backup of ${stores.join(', ')}.`;
  const table = renderPrune(plan, { keptToo: false });
  return table ? `${head}\n${table}` : head;
}
