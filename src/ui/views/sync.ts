// How sync plans and differences read at a terminal.
import type { ConflictList } from '../../engine/sync/pending-conflicts.js';
import type { Difference, SyncPlan } from '../../engine/sync/service.js';
import { renderTable } from '../output.js';

export function differenceText(job: string, d: Difference): string {
  const lines = [`${job}: ${d.insert} missing at the target, ${d.update} differing, ${d.extra} only at the target, ${d.same} equal.`];
  if (d.samples.length)
    lines.push(
      renderTable(
        ['key', 'difference'],
        d.samples.map((s) => [s.key, s.kind]),
      ),
    );
  return lines.join('\n');
}

export function syncPlanText(plan: SyncPlan): string {
  const columns = plan.source.columns.map((c) => {
    const there = plan.target.columns?.find((t) => t.name === c.name);
    return [
      c.name,
      `${c.type} (${c.native})`,
      there ? `${there.type} (${there.native})` : plan.target.exists ? 'missing' : '(created)',
      plan.source.key.includes(c.name) ? 'key' : '',
    ];
  });
  const lines = [
    `${plan.job}: ${plan.source.store}:${plan.source.table} (${plan.source.engine}, ${plan.source.rows} rows) → ${plan.target.store}:${plan.target.table} (${plan.target.engine}, ${plan.target.exists ? `${plan.target.rows ?? '?'} rows` : 'will be created'}), mode ${plan.mode}`,
    renderTable(['column', 'source', 'target', ''], columns),
  ];
  if (plan.drift.length) lines.push(`Drift (a run would refuse): ${plan.drift.map((d) => `${d.column}: ${d.problem}`).join('; ')}`);
  else
    lines.push(
      `A run would insert ${plan.wouldInsert}, update ${plan.wouldUpdate}, delete ${plan.wouldDelete} (${plan.difference.same} rows already equal). Read from ${plan.source.consistency}.`,
    );
  return lines.join('\n');
}

export function conflictsText(list: ConflictList): string {
  if (list.conflicts.length === 0) return `${list.job}: no conflicts pending (policy ${list.policy}).`;
  const rows = list.conflicts.flatMap((conflict) =>
    conflict.differences.map((d, i) => [i === 0 ? conflict.key : '', d.column, d.source, d.target, i === 0 ? conflict.detectedAt : '']),
  );
  return [
    `${list.job}: ${list.conflicts.length} row(s) changed on both sides (policy ${list.policy}); the target keeps its version until resolved.`,
    renderTable(['key', 'column', 'source', 'target', 'detected'], rows),
    `Resolve: storage sync conflicts resolve ${list.job} KEY… --take source|target`,
  ].join('\n');
}
