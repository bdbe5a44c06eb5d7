// How sync plans and differences read at a terminal.
import type { ConflictList } from '../../engine/sync/pending-conflicts.js';
import type { Difference, SyncPlan, SyncStatus } from '../../engine/sync/service.js';
import type { SyncFollowResult } from '../../engine/sync/follow.js';
import { renderTable } from '../output.js';

export function differenceText(job: string, d: Difference): string {
  const lines = [`${job}: ${d.insert} missing at the target, ${d.update} differing, ${d.extra} only at the target, ${d.same} equal.`];
  if (d.ranges) lines.push(rangesText(d.ranges));
  if (d.samples.length)
    lines.push(
      renderTable(
        ['key', 'difference'],
        d.samples.map((s) => [s.key, s.kind]),
      ),
    );
  return lines.join('\n');
}

/** "2 of 256 key ranges differ (hashed by PostgreSQL on the source, here on the target)". */
export function rangesText(ranges: NonNullable<Difference['ranges']>): string {
  const by = (who: 'engine' | 'client') => (who === 'engine' ? 'the engine' : 'this process');
  return `${ranges.differing} of ${ranges.total} key ranges differ (source hashed by ${by(ranges.hashedBy.source)}, target by ${by(ranges.hashedBy.target)}).`;
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
      ...(plan.difference.ranges ? [rangesText(plan.difference.ranges)] : []),
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

export function followText(result: SyncFollowResult): string {
  const lag = result.lagMs ? `, apply lag p50 ${result.lagMs.p50} ms, p99 ${result.lagMs.p99} ms` : '';
  return `Followed ${result.job} (${result.method}): ${result.upserts} upserts, ${result.deletes} deletes in ${result.batches} batches${lag}; at ${result.position ?? 'the copy'}${result.feed ? `, slot ${result.feed} ${result.feedDropped ? 'dropped' : 'kept'}` : ''}.`;
}

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The state column of `sync status`: a plain run's checkpoint, or a follow's position and lag. */
export function syncStateText(status: SyncStatus, now = Date.now()): string {
  const checkpoint = status.checkpoint;
  const follow = checkpoint?.follow;
  const parts: string[] = [];
  if (!checkpoint) parts.push('never run');
  else if (checkpoint.state === 'running') parts.push(`stopped after ${checkpoint.rows} rows`);
  else if (follow?.state === 'following' && status.feed?.active !== false)
    parts.push(
      `following (${follow.method}), ${Math.max(0, Math.round((now - Date.parse(follow.currentAt)) / 1000))}s behind, at ${follow.position ?? 'the copy'}`,
    );
  else if (follow)
    parts.push(`follow stopped at ${follow.position ?? (follow.method === 'watermark' ? 'its watermark' : 'the copy')} (a new --follow copies again first)`);
  else parts.push('done');
  if (status.feed && !status.feed.active)
    parts.push(
      `slot ${status.feed.name} left behind, holding ${megabytes(status.feed.retainedBytes)} of WAL: --follow resumes from it, \`storage sync reset ${status.job}\` drops it`,
    );
  else if (status.feed?.active) parts.push(`slot ${status.feed.name} holds ${megabytes(status.feed.retainedBytes)}`);
  if (status.feedError) parts.push(`slot unknown: ${status.feedError}`);
  return parts.join('; ');
}
