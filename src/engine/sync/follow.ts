// `sync run --follow`: the normal copy, then changes applied until the caller's AbortSignal (the
// CLI aborts it on SIGINT/SIGTERM). A source with a change feed (PostgreSQL: logical decoding
// through a slot made before the copy, so nothing committed meanwhile is missed) gives inserts,
// updates and deletes; other sources are polled by the job's watermark column (no deletes). Each
// batch commits at the target with its checkpoint, and only then is the feed told it may forget it.
import { withStoreLock } from '../fleet-lock.js';
import { onCleanup } from '../cleanup.js';
import type { SyncChange, SyncCheckpoint, SyncFeedReader, SyncFollowPoint, SyncRow, SyncValue } from '../engines/spec.js';
import { StorageError } from '../errors.js';
import { policyText } from './conflicts.js';
import type { Fleet } from '../fleet.js';
import { silentProgress, type Progress } from '../progress.js';
import type { SyncJob } from './jobs.js';
import { prepare, runLocked, type Prepared, type SyncRunResult } from './service.js';
import { compareKeys, keyOf, keyText } from './values.js';
import { shellQuote } from '../system/shell.js';

export interface FollowOptions {
  resume?: boolean;
  batchSize?: number;
  command?: string;
  /** Ends the follow: the batch under way is finished and checkpointed first. */
  signal?: AbortSignal;
  /** Watermark polling: how often the source is read (ms). */
  pollMs?: number;
  /** How often a summary line is noted on the progress (ms). */
  reportMs?: number;
}

export interface SyncFollowResult {
  job: string;
  method: 'logical' | 'watermark';
  /** The copy made before following (null when a killed follow was resumed from its slot). */
  copy: SyncRunResult | null;
  feed: string | null;
  /** Whether the feed was dropped at the end (logical: the slot). */
  feedDropped: boolean;
  batches: number;
  upserts: number;
  deletes: number;
  /** The last source position applied (PostgreSQL LSN), or the watermark. */
  position: string | null;
  /** Apply lag per batch: the target's commit minus the source's commit of the batch's last transaction (logical only). */
  lagMs: { p50: number; p99: number; max: number } | null;
  durationMs: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] : 0;
}

/** The last change per key wins: a batch's upserts and deletes then touch disjoint keys. */
function collapse(changes: SyncChange[]): SyncChange[] {
  const last = new Map<string, SyncChange>();
  for (const change of changes) {
    const text = keyText(change.key);
    last.delete(text);
    last.set(text, change);
  }
  return [...last.values()];
}

export async function followSync(fleet: Fleet, job: SyncJob, options: FollowOptions = {}, progress: Progress = silentProgress): Promise<SyncFollowResult> {
  return withStoreLock(
    fleet,
    job.to.store,
    options.command ?? 'storage sync run --follow',
    (message) => progress.warn(message),
    () => followLocked(fleet, job, options, progress),
  );
}

async function followLocked(fleet: Fleet, job: SyncJob, options: FollowOptions, progress: Progress): Promise<SyncFollowResult> {
  const started = Date.now();
  if (job.mode === 'append')
    throw new StorageError('USAGE', `Sync job "${job.name}" is in append mode; follow mode applies updates and deletes.`, {
      hint: 'Follow an upsert or mirror job (mode: upsert).',
    });
  if (job.conflict.policy !== 'source-wins')
    throw new StorageError(
      'USAGE',
      `Sync job "${job.name}" decides conflicts by ${policyText(job.conflict)}; follow mode applies each source change as it comes (source-wins).`,
      {
        hint: 'Run the job without --follow (each run checks for rows changed on both sides), or follow a job whose conflict policy is source-wins.',
      },
    );
  const prepared = await prepare(fleet, job);
  const follow = prepared.source.impl.follow;
  const method = follow ? 'logical' : 'watermark';
  if (follow) {
    if (!prepared.target.impl.followDeletes)
      throw new StorageError('UNSUPPORTED', `Follow mode cannot apply deletes into ${prepared.target.label} yet ("${prepared.target.store}").`, {
        hint: 'Follow into a PostgreSQL or SQLite target, or run `storage sync run` without --follow on a schedule.',
      });
    await follow.check(prepared.source.provider, prepared.source.table, prepared.key);
  } else if (!job.watermark)
    throw new StorageError(
      'USAGE',
      `${prepared.source.label} has no change feed, so "${job.name}" is followed by polling its watermark column, and the job has none.`,
      {
        hint: 'Give the job a watermark (watermark: updated_at: a column every insert and update sets). Deletes at the source are not seen this way.',
      },
    );
  const signal = options.signal ?? new AbortController().signal;
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort, { once: true });
  try {
    return method === 'logical'
      ? await followLogical(fleet, job, prepared, options, progress, stop, started)
      : await followWatermark(fleet, job, prepared, options, progress, stop, started);
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

/** Writes a batch (or nothing, to say the target is current) with its checkpoint, in one transaction where the engine has them. */
async function commit(prepared: Prepared, checkpoint: SyncCheckpoint, rows: SyncRow[], deletes: SyncValue[][]): Promise<void> {
  checkpoint.updatedAt = new Date().toISOString();
  const impl = prepared.target.impl;
  await (impl.applyChanges ?? impl.apply).call(impl, prepared.target.provider, {
    table: prepared.target.table,
    columns: prepared.shape.columns,
    key: prepared.key,
    mode: 'upsert',
    rows,
    checkpoint: { ...checkpoint, follow: { ...checkpoint.follow! } },
    fresh: false,
    ...(deletes.length ? { deletes } : {}),
  });
}

async function followLogical(
  fleet: Fleet,
  job: SyncJob,
  prepared: Prepared,
  options: FollowOptions,
  progress: Progress,
  stop: AbortController,
  started: number,
): Promise<SyncFollowResult> {
  const follow = prepared.source.impl.follow!;
  const { provider } = prepared.source;
  const feed = follow.feedName(job.name);
  const existing = await follow.feedState(provider, job.name);
  const previous = await prepared.target.impl.readCheckpoint(prepared.target.provider, job.name);
  let copy: SyncRunResult | null = null;
  if (existing?.active)
    throw new StorageError('LOCKED', `The slot ${feed} is being read by another process (a follow of "${job.name}" elsewhere?).`, {
      hint: 'Stop the other follow first; try again later (exit 75).',
    });
  const killedWhileFollowing = existing && previous?.state === 'done' && previous.follow?.feed === feed && previous.follow.state === 'following';
  if (killedWhileFollowing) {
    progress.warn(`resuming from slot ${feed}, left by a follow that stopped without cleaning up (applied up to ${previous!.follow!.position ?? 'the copy'})`);
  } else {
    if (existing && previous?.state !== 'running') {
      // A slot this tool made whose follow the target does not remember (reset, or a new target): start clean.
      progress.warn(`dropping slot ${feed}, which no checkpoint at the target accounts for; copying again`);
      await follow.dropFeed(provider, job.name);
    }
    if (!existing || previous?.state !== 'running') {
      if (previous?.state === 'running') {
        // The rows copied before a stop without a slot may have changed since: copy all again (upserts make it harmless).
        progress.warn(`the copy that stopped after ${previous.rows} rows had no slot; copying from the start`);
        await prepared.target.impl.writeCheckpoint(prepared.target.provider, { ...previous, state: 'done', lastKey: null });
      }
      const done = progress.step(`create replication slot ${feed} on ${prepared.source.store}`);
      await follow.openFeed(provider, job.name);
      done();
    }
    // Changes committed from here on are kept by the slot: the copy's snapshot and the stream overlap, never leave a gap.
    copy = await runLocked(
      fleet,
      job,
      { resume: options.resume || (existing !== undefined && previous?.state === 'running'), batchSize: options.batchSize },
      progress,
    );
  }
  const base = (await prepared.target.impl.readCheckpoint(prepared.target.provider, job.name)) ?? previous;
  const now = new Date().toISOString();
  const checkpoint: SyncCheckpoint = {
    job: job.name,
    lastKey: null,
    watermark: base?.watermark ?? null,
    rows: base?.rows ?? 0,
    state: 'done',
    startedAt: base?.startedAt ?? now,
    updatedAt: now,
    follow: {
      method: 'logical',
      feed,
      position: killedWhileFollowing ? previous!.follow!.position : undefined,
      sourceCommittedAt: killedWhileFollowing ? (previous!.follow!.sourceCommittedAt ?? null) : null,
      currentAt: now,
      state: 'following',
      changes: killedWhileFollowing ? previous!.follow!.changes : 0,
    },
  };
  const reader = await follow.reader(provider, job.name, prepared.source.table, prepared.shape, prepared.key);
  const stats = { batches: 0, upserts: 0, deletes: 0, lags: [] as number[] };
  let finished: Promise<void> = Promise.resolve();
  let markFinished: () => void = () => undefined;
  finished = new Promise((resolve) => (markFinished = resolve));
  // An interrupted run (SIGINT, SIGTERM) waits here for the batch under way, its checkpoint and the slot's removal.
  const unregister = onCleanup(`the follow of "${job.name}" (the batch under way finished and checkpointed, slot ${feed} dropped)`, async () => {
    stop.abort();
    await finished;
  });
  let dropped = false;
  try {
    await commit(prepared, checkpoint, [], []);
    const step = progress.step(
      `follow ${prepared.source.store}:${prepared.source.table} → ${prepared.target.store}:${prepared.target.table} by ${follow.method} until stopped`,
    );
    let lastReport = Date.now();
    let reported = 0;
    let lastWrite = Date.now();
    while (!stop.signal.aborted) {
      const readAt = new Date().toISOString();
      const batch = await reader.read(options.batchSize ?? job.batchSize, 200);
      if (batch && batch.changes.length === 0) {
        // Only other tables' transactions (the slot sees the whole database): nothing to write, but the
        // slot may move on. Writing a checkpoint for them would feed back when the target is the same database.
        await reader.confirm(batch.position);
      } else if (batch) {
        const { rows, deletes } = await resolveChanges(prepared, reader, batch.changes, stats);
        checkpoint.follow!.position = batch.position;
        checkpoint.follow!.sourceCommittedAt = batch.committedAt;
        checkpoint.follow!.currentAt = readAt;
        checkpoint.follow!.changes += batch.changes.length;
        await commit(prepared, checkpoint, rows, deletes);
        await reader.confirm(batch.position);
        stats.batches++;
        if (batch.committedAt) stats.lags.push(Date.now() - Date.parse(batch.committedAt));
        lastWrite = Date.now();
      } else if (Date.now() - lastWrite >= 1000) {
        // Nothing came: the target is current; saying so keeps `sync status` and validate's sync.lag true.
        checkpoint.follow!.currentAt = readAt;
        await commit(prepared, checkpoint, [], []);
        lastWrite = Date.now();
      }
      if (Date.now() - lastReport >= (options.reportMs ?? 10_000)) {
        const applied = checkpoint.follow!.changes - reported;
        reported = checkpoint.follow!.changes;
        progress.note?.(`applied ${applied} changes in ${((Date.now() - lastReport) / 1000).toFixed(0)}s (at ${checkpoint.follow!.position ?? 'the copy'})`);
        lastReport = Date.now();
      }
    }
    checkpoint.follow!.state = 'stopped';
    await commit(prepared, checkpoint, [], []);
    await reader.close();
    dropped = await follow.dropFeed(provider, job.name);
    step(`${checkpoint.follow!.changes} changes, slot ${feed} dropped`);
  } catch (error) {
    await reader.close().catch(() => undefined);
    if (error instanceof StorageError && !error.hint?.includes('slot'))
      throw new StorageError(error.code, error.message, {
        hint: `${error.hint ? `${error.hint} ` : ''}The slot ${feed} is kept (it holds the source's WAL): run the same command again to resume, or \`storage sync reset ${shellQuote(job.name)}\` to drop it.`,
        cause: error,
        details: error.details,
      });
    throw error;
  } finally {
    unregister();
    markFinished();
  }
  const lags = [...stats.lags].sort((a, b) => a - b);
  return {
    job: job.name,
    method: 'logical',
    copy,
    feed,
    feedDropped: dropped,
    batches: stats.batches,
    upserts: stats.upserts,
    deletes: stats.deletes,
    position: checkpoint.follow!.position ?? null,
    lagMs: lags.length ? { p50: percentile(lags, 0.5), p99: percentile(lags, 0.99), max: lags.at(-1)! } : null,
    durationMs: Date.now() - started,
  };
}

/** A batch's changes as the rows to upsert and the keys to delete (rows the feed did not carry whole are read again). */
async function resolveChanges(
  prepared: Prepared,
  reader: SyncFeedReader,
  changes: SyncChange[],
  stats: { upserts: number; deletes: number },
): Promise<{ rows: SyncRow[]; deletes: SyncValue[][] }> {
  const final = collapse(changes);
  const rows: SyncRow[] = [];
  const deletes: SyncValue[][] = [];
  const refetch: SyncValue[][] = [];
  for (const change of final) {
    if (change.kind === 'delete') deletes.push(change.key);
    else if (change.row) rows.push(change.row);
    else refetch.push(change.key);
  }
  if (refetch.length) {
    // The row as it is now: a later change in the stream brings it to its final state anyway.
    const found = await reader.fetch(refetch);
    const seen = new Set(found.map((row) => keyText(keyOf(row, prepared.key))));
    rows.push(...found);
    for (const key of refetch) if (!seen.has(keyText(key))) deletes.push(key);
  }
  stats.upserts += rows.length;
  stats.deletes += deletes.length;
  return { rows, deletes };
}

async function followWatermark(
  fleet: Fleet,
  job: SyncJob,
  prepared: Prepared,
  options: FollowOptions,
  progress: Progress,
  stop: AbortController,
  started: number,
): Promise<SyncFollowResult> {
  const copy = await runLocked(fleet, job, { resume: options.resume, batchSize: options.batchSize }, progress);
  const base = (await prepared.target.impl.readCheckpoint(prepared.target.provider, job.name))!;
  const column = prepared.shape.columns.find((c) => c.name === job.watermark)!;
  const point: SyncFollowPoint = { method: 'watermark', currentAt: new Date().toISOString(), state: 'following', changes: 0 };
  const checkpoint: SyncCheckpoint = { ...base, lastKey: null, state: 'done', follow: point };
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const unregister = onCleanup(`the follow of "${job.name}" (the batch under way finished and checkpointed)`, async () => {
    stop.abort();
    await done;
  });
  let batches = 0;
  let upserts = 0;
  try {
    const step = progress.step(
      `follow ${prepared.source.store}:${prepared.source.table} → ${prepared.target.store}:${prepared.target.table} by polling ${column.name} until stopped (deletes are not seen)`,
    );
    let lastReport = Date.now();
    let reported = 0;
    while (!stop.signal.aborted) {
      const readAt = new Date().toISOString();
      const reader = await prepared.source.impl.openReader(prepared.source.provider, prepared.source.table);
      try {
        for await (const rows of reader.batches({
          columns: prepared.shape.columns,
          key: prepared.key,
          after: null,
          batchSize: options.batchSize ?? job.batchSize,
          ...(checkpoint.watermark !== null ? { watermark: { column: column.name, since: checkpoint.watermark } } : {}),
        })) {
          // Rows at exactly the last watermark are read again (a clock's tick may hold more than one): they are applied again, harmlessly, but not counted.
          const since = checkpoint.watermark;
          const fresh = since === null ? rows.length : rows.filter((row) => row[column.name] === null || compareKeys([row[column.name]], [since]) > 0).length;
          for (const row of rows) {
            const value = row[column.name];
            if (value !== null && (checkpoint.watermark === null || compareKeys([value], [checkpoint.watermark]) > 0)) checkpoint.watermark = value;
          }
          point.changes += fresh;
          upserts += fresh;
          checkpoint.rows += fresh;
          await commit(prepared, checkpoint, rows, []);
          batches++;
          if (stop.signal.aborted) break;
        }
      } finally {
        await reader.close();
      }
      point.currentAt = readAt;
      await commit(prepared, checkpoint, [], []);
      if (Date.now() - lastReport >= (options.reportMs ?? 10_000)) {
        progress.note?.(`applied ${point.changes - reported} changed rows in ${((Date.now() - lastReport) / 1000).toFixed(0)}s`);
        reported = point.changes;
        lastReport = Date.now();
      }
      await sleep(options.pollMs ?? 1000, stop.signal);
    }
    point.state = 'stopped';
    await commit(prepared, checkpoint, [], []);
    step(`${point.changes} changed rows`);
  } finally {
    unregister();
    finished();
  }
  return {
    job: job.name,
    method: 'watermark',
    copy,
    feed: null,
    feedDropped: false,
    batches,
    upserts,
    deletes: 0,
    position: checkpoint.watermark === null ? null : String(checkpoint.watermark),
    lagMs: null,
    durationMs: Date.now() - started,
  };
}
