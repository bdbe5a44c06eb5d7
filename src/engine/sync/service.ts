// The sync topic: plan (no writes), run (key-ordered batches from one snapshot, each committed
// with its checkpoint at the target, so a killed run resumes without loss or duplicates), verify
// (key ranges hashed on both sides, server-side where the engine can; differing ranges compared row by
// row in canonical form) and status. The engines' parts are their `sync`
// capability; nothing here knows which engine answers.
import { withStoreLock } from '../fleet-lock.js';
import fs from 'node:fs';
import path from 'node:path';
import { userPaths } from '../config/paths.js';
import type {
  SyncCapability,
  SyncCheckpoint,
  SyncColumn,
  SyncKeySet,
  SyncRangeHash,
  SyncReader,
  SyncRow,
  SyncTableShape,
  SyncTextBatch,
  SyncValue,
} from '../engines/spec.js';
import type { Provider } from '../engines/provider.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { silentProgress, type Progress } from '../progress.js';
import { fsyncFile } from '../system/files.js';
import { ensurePrivateDir } from '../system/private-dir.js';
import { policyText, reconcile, type Reconciled } from './conflicts.js';
import type { SyncJob } from './jobs.js';
import { dropFeedOf, feedStatusOf, type FeedStatus } from './feed.js';
import { compareKeys, earlierBy, keyOf, keyText, rangeHash, rowHashText, rowText, shownValue } from './values.js';

export interface Side {
  store: string;
  table: string;
  label: string;
  impl: SyncCapability;
  provider: Provider;
}

async function sideOf(fleet: Fleet, at: { store: string; table: string }): Promise<Side> {
  const { store, spec, impl, provider } = await fleet.capability(at.store, 'sync');
  return { store: store.name, table: at.table, label: spec.label, impl, provider };
}

export interface Drift {
  column: string;
  problem: string;
}

/** What stops a run: columns the target lacks or holds as another type, a key that differs. */
function driftOf(source: SyncTableShape, target: SyncTableShape | undefined, key: string[]): Drift[] {
  if (!target) return [];
  const drift: Drift[] = [];
  for (const column of source.columns) {
    const there = target.columns.find((c) => c.name === column.name);
    if (!there) drift.push({ column: column.name, problem: `missing at the target (source ${column.type})` });
    else if (there.type !== column.type)
      drift.push({ column: column.name, problem: `source ${column.type} (${column.native}), target ${there.type} (${there.native})` });
  }
  for (const column of target.columns)
    if (!source.columns.some((c) => c.name === column.name) && !column.nullable)
      drift.push({ column: column.name, problem: 'only at the target, and NOT NULL: inserts would fail' });
  if (target.key.length && target.key.join(',') !== key.join(','))
    drift.push({ column: key.join(','), problem: `the target's key is (${target.key.join(', ')}), the job's is (${key.join(', ')})` });
  return drift;
}

export interface Prepared {
  source: Side;
  target: Side;
  shape: SyncTableShape;
  targetShape?: SyncTableShape;
  key: string[];
  drift: Drift[];
}

export async function prepare(fleet: Fleet, job: SyncJob): Promise<Prepared> {
  const source = await sideOf(fleet, job.from);
  const target = await sideOf(fleet, job.to);
  const shape = await source.impl.describe(source.provider, source.table);
  if (!shape)
    throw new StorageError('NOT_FOUND', `Store "${source.store}" has no table "${source.table}".`, {
      hint: "Check the job's from.table (a schema is optional: public.orders).",
    });
  const key = job.key ?? shape.key;
  if (key.length === 0)
    throw new StorageError('USAGE', `${source.table} on "${source.store}" has no primary key, so rows cannot be matched.`, {
      hint: 'Give the job a key (key: [col, …] or --key col).',
    });
  const newest = job.conflict.policy === 'newest-wins' ? [job.conflict.column] : [];
  for (const name of [...key, ...(job.watermark ? [job.watermark] : []), ...newest])
    if (!shape.columns.some((c) => c.name === name))
      throw new StorageError('USAGE', `${source.table} has no column "${name}".`, { hint: "Check the job's key, watermark and conflict column." });
  const targetShape = await target.impl.describe(target.provider, target.table);
  return { source, target, shape, targetShape, key, drift: driftOf(shape, targetShape, key) };
}

function columnsOf(prepared: Prepared): SyncColumn[] {
  return prepared.shape.columns;
}

/** Rows of one side in key order, a batch at a time: only a batch boundary waits on the engine. */
class Cursor {
  private batch: SyncRow[] = [];
  private at = 0;
  private done = false;
  private readonly batches: AsyncIterator<SyncRow[]> | undefined;

  /** Rows after `after` up to and including `until` (null: from the start, to the end). */
  constructor(
    reader: SyncReader | undefined,
    columns: SyncColumn[],
    private readonly key: string[],
    batchSize = 20_000,
    after: SyncValue[] | null = null,
    private readonly until: SyncValue[] | null = null,
  ) {
    this.batches = reader?.batches({ columns, key, after, batchSize })[Symbol.asyncIterator]();
    if (!this.batches) this.done = true;
  }

  /** The current row, or undefined at the end (call `fill` first). */
  get row(): SyncRow | undefined {
    return this.at < this.batch.length ? this.batch[this.at] : undefined;
  }

  async fill(): Promise<void> {
    while (!this.done && this.at >= this.batch.length) {
      const next = await this.batches!.next();
      if (next.done) this.done = true;
      else {
        this.batch = next.value;
        this.at = 0;
        if (this.until) {
          // Past the range's end: keep the rows up to it and stop reading.
          const last = this.batch.findIndex((row) => compareKeys(keyOf(row, this.key), this.until!) > 0);
          if (last >= 0) {
            this.batch = this.batch.slice(0, last);
            this.done = true;
          }
        }
      }
    }
    if (this.done && this.batches) await this.batches.return?.();
  }

  advance(): void {
    this.at++;
  }
}

export interface Difference {
  insert: number;
  update: number;
  /** Rows only at the target: deleted by a mirror run, kept otherwise. */
  extra: number;
  same: number;
  /** The first differing keys, with what differs. */
  samples: Array<{ key: string; kind: 'missing at the target' | 'differs' | 'only at the target' }>;
  /**
   * The key ranges both sides hashed (absent when there was no target to compare with): how many,
   * how many differed (compared row by row), and who hashed each side: the engine (server-side) or this process.
   */
  ranges?: { total: number; differing: number; hashedBy: { source: 'engine' | 'client'; target: 'engine' | 'client' } };
}

function emptyDifference(): Difference {
  return { insert: 0, update: 0, extra: 0, same: 0, samples: [] };
}

/** Rows of both sides in key order (within a range, when given), compared row by row in canonical form, added to `diff`. */
async function compareRows(
  prepared: Prepared,
  sourceReader: SyncReader,
  targetReader: SyncReader | undefined,
  columns: SyncColumn[],
  diff: Difference,
  range: { after: SyncValue[] | null; until: SyncValue[] | null; batchSize: number } = { after: null, until: null, batchSize: 20_000 },
): Promise<void> {
  const note = (kind: Difference['samples'][number]['kind'], key: SyncValue[]) => {
    if (diff.samples.length < 20) diff.samples.push({ key: key.map(shownValue).join(', '), kind });
  };
  // Rows are read with every source column (a value that cannot be mapped is an error naming its column and key).
  const a = new Cursor(sourceReader, columnsOf(prepared), prepared.key, range.batchSize, range.after, range.until);
  const b = new Cursor(targetReader, columns, prepared.key, range.batchSize, range.after, range.until);
  for (;;) {
    if (a.row === undefined && b.row === undefined) await Promise.all([a.fill(), b.fill()]);
    else if (a.row === undefined) await a.fill();
    else if (b.row === undefined) await b.fill();
    const left = a.row;
    const right = b.row;
    if (!left && !right) break;
    const order = !left ? 1 : !right ? -1 : compareKeys(keyOf(left, prepared.key), keyOf(right, prepared.key));
    if (order < 0) {
      diff.insert++;
      note('missing at the target', keyOf(left!, prepared.key));
      a.advance();
    } else if (order > 0) {
      diff.extra++;
      note('only at the target', keyOf(right!, prepared.key));
      b.advance();
    } else {
      if (rowText(left!, columns) === rowText(right!, columns)) diff.same++;
      else {
        diff.update++;
        note('differs', keyOf(left!, prepared.key));
      }
      a.advance();
      b.advance();
    }
  }
}

/** About this many key ranges: few enough that hashing them costs little more than one scan, small enough that a differing one is quick to compare row by row. */
const RANGES = 256;
const MIN_RANGE_ROWS = 1_000;

/** The keys that split the source into ranges: the engine reads them where it can, else this process from the key columns. */
async function boundariesOf(reader: SyncReader, columns: SyncColumn[], key: string[], every: number): Promise<SyncValue[][]> {
  if (reader.boundaries) return reader.boundaries({ columns, key, every });
  const keyColumns = key.map((name) => columns.find((c) => c.name === name)!);
  const boundaries: SyncValue[][] = [];
  let seen = 0;
  for await (const batch of reader.batches({ columns: keyColumns, key, after: null, batchSize: 20_000 }))
    for (const row of batch) if (++seen % every === 0) boundaries.push(keyOf(row, key));
  return boundaries;
}

/** One side's range hashes: by the engine (server-side) when it can produce the hash form, else from canonical rows read here. */
async function hashSide(
  reader: SyncReader,
  columns: SyncColumn[],
  key: string[],
  boundaries: SyncValue[][],
  readRows: boolean,
): Promise<{ hashes: SyncRangeHash[]; by: 'engine' | 'client' }> {
  if (!readRows && reader.hashRanges) {
    const hashes = await reader.hashRanges({ columns, key, boundaries });
    if (hashes) return { hashes, by: 'engine' };
  }
  const hashes: SyncRangeHash[] = [];
  let texts: string[] = [];
  const close = () => {
    hashes.push({ rows: texts.length, hash: rangeHash(texts) });
    texts = [];
  };
  for await (const batch of reader.batches({ columns, key, after: null, batchSize: 20_000 })) {
    for (const row of batch) {
      const rowKey = keyOf(row, key);
      while (hashes.length < boundaries.length && compareKeys(rowKey, boundaries[hashes.length]) > 0) close();
      texts.push(rowHashText(row, columns));
    }
    // Let the other side's queries go on (an embedded engine reads on the event loop).
    await new Promise((resolve) => setImmediate(resolve));
  }
  while (hashes.length <= boundaries.length) close();
  return { hashes, by: 'client' };
}

/**
 * Both sides split into the same key ranges (boundaries from the source), each range hashed on
 * both sides at once (server-side where the engine can), then only the ranges whose hashes or
 * counts differ compared row by row. `proveSource` hashes the source from canonical rows read
 * here, so every source value is shown to map (plan does this).
 */
async function compare(prepared: Prepared, sourceReader: SyncReader, targetReader: SyncReader | undefined, proveSource = false): Promise<Difference> {
  const columns = columnsOf(prepared);
  const diff = emptyDifference();
  if (!targetReader) {
    await compareRows(prepared, sourceReader, undefined, columns, diff);
    return diff;
  }
  const targetColumns = prepared.targetShape ? columns.filter((c) => prepared.targetShape!.columns.some((t) => t.name === c.name)) : columns;
  const rows = await sourceReader.count();
  const every = Math.max(MIN_RANGE_ROWS, Math.ceil(rows / RANGES));
  const boundaries = await boundariesOf(sourceReader, columns, prepared.key, every);
  const [source, target] = await Promise.all([
    hashSide(sourceReader, targetColumns, prepared.key, boundaries, proveSource),
    hashSide(targetReader, targetColumns, prepared.key, boundaries, false),
  ]);
  let differing = 0;
  for (let i = 0; i <= boundaries.length; i++) {
    const a = source.hashes[i];
    const b = target.hashes[i];
    if (a.rows === b.rows && a.hash === b.hash) {
      diff.same += a.rows;
      continue;
    }
    differing++;
    await compareRows(prepared, sourceReader, targetReader, targetColumns, diff, {
      after: i > 0 ? boundaries[i - 1] : null,
      until: i < boundaries.length ? boundaries[i] : null,
      batchSize: Math.min(every + 1, 20_000),
    });
  }
  diff.ranges = { total: boundaries.length + 1, differing, hashedBy: { source: source.by, target: target.by } };
  return diff;
}

export interface SyncPlan {
  job: string;
  mode: SyncJob['mode'];
  source: { store: string; engine: string; table: string; rows: number; columns: SyncColumn[]; key: string[]; consistency: string };
  target: { store: string; engine: string; table: string; exists: boolean; rows: number | null; columns: SyncColumn[] | null };
  drift: Drift[];
  difference: Difference;
  /** What a run would do now. */
  wouldInsert: number;
  wouldUpdate: number;
  wouldDelete: number;
}

export async function planSync(fleet: Fleet, job: SyncJob): Promise<SyncPlan> {
  const prepared = await prepare(fleet, job);
  const sourceReader = await prepared.source.impl.openReader(prepared.source.provider, prepared.source.table);
  const targetReader =
    prepared.targetShape && prepared.drift.length === 0 ? await prepared.target.impl.openReader(prepared.target.provider, prepared.target.table) : undefined;
  try {
    const sourceRows = await sourceReader.count();
    const targetRows = targetReader ? await targetReader.count() : prepared.targetShape ? null : 0;
    // Reading every source row proves each value maps (a value that cannot is an error naming its column and key).
    const difference = await compare(prepared, sourceReader, targetReader, true);
    return {
      job: job.name,
      mode: job.mode,
      source: {
        store: prepared.source.store,
        engine: prepared.source.label,
        table: prepared.source.table,
        rows: sourceRows,
        columns: prepared.shape.columns,
        key: prepared.key,
        consistency: sourceReader.consistency,
      },
      target: {
        store: prepared.target.store,
        engine: prepared.target.label,
        table: prepared.target.table,
        exists: Boolean(prepared.targetShape),
        rows: targetRows,
        columns: prepared.targetShape?.columns ?? null,
      },
      drift: prepared.drift,
      difference,
      wouldInsert: difference.insert,
      wouldUpdate: job.mode === 'append' ? 0 : difference.update,
      wouldDelete: job.mode === 'mirror' ? difference.extra : 0,
    };
  } finally {
    await sourceReader.close();
    await targetReader?.close();
  }
}

/** The text-line bulk load into an empty table: two batches load at once, each committing after the one before (see SyncTextApply). */
async function loadLines(
  lines: AsyncIterable<SyncTextBatch>,
  target: Side,
  columns: SyncColumn[],
  checkpoint: SyncCheckpoint,
): Promise<{ rows: number; batches: number }> {
  let writing: Promise<void> | undefined;
  let older: Promise<void> | undefined;
  let rows = 0;
  let batches = 0;
  try {
    for await (const batch of lines) {
      checkpoint.lastKey = batch.lastKey;
      checkpoint.rows += batch.rows;
      checkpoint.updatedAt = new Date().toISOString();
      if (older) await older;
      const write = target.impl.applyText!(target.provider, {
        table: target.table,
        columns,
        text: batch.text,
        rows: batch.rows,
        checkpoint: { ...checkpoint },
        previous: writing,
        lane: (batches % 2) as 0 | 1,
      });
      write.catch(() => undefined); // awaited two batches on, or below
      older = writing;
      writing = write;
      rows += batch.rows;
      batches++;
    }
  } finally {
    // Nothing is left loading when the load ends, however it ends.
    await Promise.allSettled([older, writing]);
  }
  await older;
  await writing;
  return { rows, batches };
}

/**
 * The source's keys as a merge: `has` is asked in ascending key order and reads the source's keys
 * only as far as the key asked about. Keys out of order on either side stop the delete (a wrong
 * answer would delete a row the source has).
 */
class SourceKeys implements SyncKeySet {
  private readonly batches: AsyncIterator<SyncRow[]>;
  private batch: SyncRow[] = [];
  private at = 0;
  private done = false;
  private current: SyncValue[] | undefined;
  private asked: SyncValue[] | undefined;

  constructor(
    reader: SyncReader,
    keyColumns: SyncColumn[],
    private readonly key: string[],
  ) {
    this.batches = reader.batches({ columns: keyColumns, key, after: null, batchSize: 10_000 })[Symbol.asyncIterator]();
  }

  private async next(): Promise<SyncValue[] | undefined> {
    while (this.at >= this.batch.length) {
      if (this.done) return undefined;
      const next = await this.batches.next();
      if (next.done) {
        this.done = true;
        return undefined;
      }
      this.batch = next.value;
      this.at = 0;
    }
    const key = keyOf(this.batch[this.at++], this.key);
    if (this.current && compareKeys(key, this.current) <= 0)
      throw new StorageError(
        'FAILED',
        `The source's keys came out of order (${key.map(shownValue).join(', ')} after ${this.current.map(shownValue).join(', ')}); nothing more was deleted.`,
      );
    return key;
  }

  async has(key: SyncValue[]): Promise<boolean> {
    if (this.asked && compareKeys(key, this.asked) <= 0)
      throw new StorageError(
        'FAILED',
        `The target's keys came out of order (${key.map(shownValue).join(', ')} after ${this.asked.map(shownValue).join(', ')}); nothing more was deleted.`,
      );
    this.asked = key;
    if (this.current === undefined && !this.done) this.current = await this.next();
    while (this.current && compareKeys(this.current, key) < 0) this.current = await this.next();
    return this.current !== undefined && compareKeys(this.current, key) === 0;
  }
}

export interface SyncRunResult {
  job: string;
  rows: number;
  batches: number;
  deleted: number;
  resumedFrom: string | null;
  incrementalFrom: string | null;
  durationMs: number;
  rowsPerSecond: number;
  consistency: string;
  createdTarget: boolean;
  /** Rows changed on both sides, and what the job's policy did with them (null under source-wins, which keeps no baselines). */
  conflicts: ConflictTally | null;
}

export interface ConflictTally {
  policy: string;
  /** Rows changed on both sides since the last run. */
  detected: number;
  /** Conflicting rows left as the target has them. */
  keptTarget: number;
  /** Recorded for `sync conflicts resolve` (manual). */
  pending: number;
  /** Rows changed only at the target: kept. */
  targetOnly: number;
}

function runsFile(): string {
  return process.env.STORAGE_SYNC_STATE ?? path.join(userPaths().state, 'sync-runs.jsonl');
}

function recordRun(result: (SyncRunResult & { at: string; outcome: string }) | VerifyRecord): void {
  const file = runsFile();
  ensurePrivateDir(path.dirname(file));
  fs.appendFileSync(file, `${JSON.stringify(result)}\n`, { mode: 0o600 });
  fsyncFile(file);
}

/**
 * One run at a time writes into a store (the lock backups, restores and failovers take): two runs
 * of one job would interleave their checkpoints, and a restore would replace what a run writes.
 */
export async function runSync(
  fleet: Fleet,
  job: SyncJob,
  options: { resume?: boolean; batchSize?: number; command?: string } = {},
  progress: Progress = silentProgress,
): Promise<SyncRunResult> {
  return withStoreLock(
    fleet,
    job.to.store,
    options.command ?? 'storage sync run',
    (message) => progress.warn(message),
    () => runLocked(fleet, job, options, progress),
  );
}

/** A run for a caller that already holds the target's lock (follow mode copies first, then follows under the same lock). */
export async function runLocked(fleet: Fleet, job: SyncJob, options: { resume?: boolean; batchSize?: number }, progress: Progress): Promise<SyncRunResult> {
  const started = Date.now();
  const prepared = await prepare(fleet, job);
  const { source, target, key } = prepared;
  const columns = columnsOf(prepared);
  if (prepared.drift.length > 0)
    throw new StorageError('REFUSED', `The target's table does not match the source: ${prepared.drift.map((d) => `${d.column}: ${d.problem}`).join('; ')}.`, {
      hint: `See \`storage sync plan ${job.name}\`; change the target table (or the job), then run again. Nothing was written.`,
      details: { drift: prepared.drift },
    });
  let createdTarget = false;
  if (!prepared.targetShape) {
    const done = progress.step(`create ${target.table} on ${target.store}`);
    await target.impl.createTable(target.provider, target.table, { columns, key });
    createdTarget = true;
    done();
  }
  const previous = await target.impl.readCheckpoint(target.provider, job.name);
  if (previous?.state === 'running' && !options.resume)
    throw new StorageError(
      'REFUSED',
      `An earlier run of "${job.name}" stopped after ${previous.rows} rows (last key ${previous.lastKey?.map(shownValue).join(', ') ?? 'none'}).`,
      {
        hint: `Add --resume to continue it where it stopped (nothing is copied twice), or \`storage sync reset ${job.name}\` to start over.`,
      },
    );
  const resuming = options.resume && previous?.state === 'running' ? previous : undefined;
  const since = job.watermark && previous?.state === 'done' && previous.watermark !== null ? previous.watermark : undefined;
  const checkpoint: SyncCheckpoint = {
    job: job.name,
    lastKey: resuming?.lastKey ?? null,
    watermark: resuming?.watermark ?? previous?.watermark ?? null,
    rows: resuming?.rows ?? 0,
    state: 'running',
    startedAt: resuming?.startedAt ?? new Date(started).toISOString(),
    updatedAt: new Date().toISOString(),
  };
  // An empty target takes the first run's rows by bulk load (PostgreSQL: COPY straight into the table).
  let fresh = createdTarget;
  if (!fresh && !resuming) {
    const peek = await target.impl.openReader(target.provider, target.table);
    try {
      fresh = (await peek.count()) === 0;
    } finally {
      await peek.close();
    }
  }
  const reader = await source.impl.openReader(source.provider, source.table);
  let batches = 0;
  let deleted = 0;
  let writing: Promise<void> | undefined;
  let copied = 0;
  // Under any policy but source-wins each batch is checked against the target's versions and the job's baselines.
  const tally: ConflictTally | null =
    job.conflict.policy === 'source-wins' || job.mode === 'append'
      ? null
      : { policy: policyText(job.conflict), detected: 0, keptTarget: 0, pending: 0, targetOnly: 0 };
  try {
    const step = progress.step(`copy ${source.store}:${source.table} → ${target.store}:${target.table}`);
    const batchSize = options.batchSize ?? job.batchSize;
    const watermarkColumn = job.watermark ? columns.find((c) => c.name === job.watermark) : undefined;
    // Into an empty table, rows the source encodes as text lines go straight to the target's bulk load (no row objects).
    const lines =
      fresh && !tally && job.mode !== 'append' && !watermarkColumn && target.impl.applyText
        ? reader.textBatches?.({ columns, key, after: checkpoint.lastKey, batchSize })
        : undefined;
    if (lines) ({ rows: copied, batches } = await loadLines(lines, target, columns, checkpoint));
    for await (const batch of lines
      ? []
      : reader.batches({
          columns,
          key,
          after: checkpoint.lastKey,
          batchSize,
          ...(watermarkColumn && since !== undefined
            ? { watermark: { column: watermarkColumn.name, since: earlierBy(since, watermarkColumn.type, job.watermarkOverlapMs) } }
            : {}),
        })) {
      checkpoint.lastKey = keyOf(batch[batch.length - 1], key);
      if (watermarkColumn)
        for (const row of batch) {
          const value = row[watermarkColumn.name];
          if (value !== null && (checkpoint.watermark === null || compareKeys([value], [checkpoint.watermark]) > 0)) checkpoint.watermark = value;
        }
      checkpoint.rows += batch.length;
      checkpoint.updatedAt = new Date().toISOString();
      const settled = tally ? await reconcileBatch(prepared, job, batch, fresh, tally) : undefined;
      // One batch is written while the next is read; writes stay in order, each with its own checkpoint.
      if (writing) await writing;
      writing = target.impl.apply(target.provider, {
        table: target.table,
        columns,
        key,
        mode: job.mode === 'append' ? 'append' : 'upsert',
        rows: settled ? settled.write : batch,
        ...(settled ? { records: settled.records } : {}),
        checkpoint: { ...checkpoint },
        fresh,
      });
      writing.catch(() => undefined); // awaited on the next batch or after the last
      copied += batch.length;
      batches++;
    }
    if (writing) await writing;
    step(`${copied} rows`);
    if (tally?.pending)
      progress.warn(
        `${tally.pending} rows changed on both sides since the last run were left as the target has them: \`storage sync conflicts list ${job.name}\` shows both versions.`,
      );
    if (job.mode === 'mirror') {
      const done = progress.step(`delete what ${source.store}:${source.table} lacks`);
      // The source's keys stream in key order beside the target's: memory stays flat however many rows.
      const keyColumns = key.map((name) => columns.find((c) => c.name === name)!);
      deleted = await target.impl.deleteMissing(target.provider, target.table, key, new SourceKeys(reader, keyColumns, key));
      done(`${deleted} deleted`);
    }
    checkpoint.state = 'done';
    checkpoint.lastKey = null;
    checkpoint.updatedAt = new Date().toISOString();
    await target.impl.writeCheckpoint(target.provider, checkpoint);
  } finally {
    await reader.close();
  }
  const durationMs = Date.now() - started;
  const result: SyncRunResult = {
    job: job.name,
    rows: copied,
    batches,
    deleted,
    resumedFrom: resuming ? (resuming.lastKey?.map(shownValue).join(', ') ?? null) : null,
    incrementalFrom: since !== undefined ? shownValue(since) : null,
    durationMs,
    rowsPerSecond: durationMs > 0 ? Math.round((copied / durationMs) * 1000) : copied,
    consistency: reader.consistency,
    createdTarget,
    conflicts: tally,
  };
  recordRun({ ...result, at: new Date(started).toISOString(), outcome: 'ok' });
  return result;
}

/** One source batch against the target's versions of its rows, the baselines and the pending conflicts of its keys. */
async function reconcileBatch(prepared: Prepared, job: SyncJob, batch: SyncRow[], fresh: boolean, tally: ConflictTally): Promise<Reconciled> {
  const { target, key } = prepared;
  const columns = columnsOf(prepared);
  const keys = batch.map((row) => keyOf(row, key));
  const ids = keys.map(keyText);
  const targets = new Map<string, SyncRow>();
  // A target that was empty when the run began holds no version of these rows (the run's own batches have other keys).
  if (!fresh) for (const row of await target.impl.rowsByKey(target.provider, target.table, columns, key, keys)) targets.set(keyText(keyOf(row, key)), row);
  const baselines = await target.impl.readRecords(target.provider, job.name, 'baseline', ids);
  const pending = await target.impl.readRecords(target.provider, job.name, 'conflict', ids);
  const settled = reconcile(job.name, batch, columns, key, job.conflict, targets, baselines, pending, new Date().toISOString());
  tally.detected += settled.conflicts;
  tally.keptTarget += settled.keptTarget;
  tally.pending += settled.pending;
  tally.targetOnly += settled.targetOnly;
  return settled;
}

/** A `sync verify` outcome, kept beside the runs (the validate suite reads the last one). */
export interface VerifyRecord {
  kind: 'verify';
  job: string;
  at: string;
  equal: boolean;
  insert: number;
  update: number;
  extra: number;
}

export interface SyncVerdict {
  job: string;
  equal: boolean;
  difference: Difference;
}

export async function verifySync(fleet: Fleet, job: SyncJob): Promise<SyncVerdict> {
  const prepared = await prepare(fleet, job);
  if (!prepared.targetShape)
    throw new StorageError('NOT_FOUND', `Store "${prepared.target.store}" has no table "${prepared.target.table}" yet.`, {
      hint: `Run \`storage sync run ${job.name}\` first.`,
    });
  if (prepared.drift.length > 0)
    throw new StorageError('REFUSED', `The tables differ in shape: ${prepared.drift.map((d) => `${d.column}: ${d.problem}`).join('; ')}.`, {
      hint: `See \`storage sync plan ${job.name}\`.`,
    });
  const sourceReader = await prepared.source.impl.openReader(prepared.source.provider, prepared.source.table);
  const targetReader = await prepared.target.impl.openReader(prepared.target.provider, prepared.target.table);
  try {
    const difference = await compare(prepared, sourceReader, targetReader);
    // Rows only at the target differ only in mirror mode (upsert and append keep them by design).
    const equal = difference.insert === 0 && difference.update === 0 && (job.mode !== 'mirror' || difference.extra === 0);
    recordRun({
      kind: 'verify',
      job: job.name,
      at: new Date().toISOString(),
      equal,
      insert: difference.insert,
      update: difference.update,
      extra: difference.extra,
    });
    return { job: job.name, equal, difference };
  } finally {
    await sourceReader.close();
    await targetReader.close();
  }
}

export interface SyncStatus {
  job: string;
  from: string;
  to: string;
  checkpoint: SyncCheckpoint | null;
  lastRun: (SyncRunResult & { at: string }) | null;
  lastVerify: VerifyRecord | null;
  /** Rows changed on both sides waiting for `sync conflicts resolve` (manual policy). */
  conflictsPending: number;
  /** Follow mode: the job's change feed at the source (a PostgreSQL slot; null when there is none); absent for sources without feeds. */
  feed?: FeedStatus['feed'];
  feedError?: string;
}

export async function syncStatus(fleet: Fleet, jobs: SyncJob[]): Promise<SyncStatus[]> {
  const runs = fs.existsSync(runsFile())
    ? fs
        .readFileSync(runsFile(), 'utf8')
        .split('\n')
        .filter(Boolean)
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as (SyncRunResult & { at: string; kind?: undefined }) | VerifyRecord];
          } catch {
            return [];
          }
        })
    : [];
  const statuses: SyncStatus[] = [];
  for (const job of jobs) {
    const target = await sideOf(fleet, job.to);
    statuses.push({
      job: job.name,
      from: `${job.from.store}:${job.from.table}`,
      to: `${job.to.store}:${job.to.table}`,
      checkpoint: (await target.impl.readCheckpoint(target.provider, job.name)) ?? null,
      lastRun: (runs.filter((run) => run.job === job.name && run.kind !== 'verify').at(-1) as (SyncRunResult & { at: string }) | undefined) ?? null,
      lastVerify: (runs.filter((run) => run.job === job.name && run.kind === 'verify').at(-1) as VerifyRecord | undefined) ?? null,
      conflictsPending: (await target.impl.readRecords(target.provider, job.name, 'conflict')).size,
      ...(await feedStatusOf(fleet, job)),
    });
  }
  return statuses;
}

/** Forgets where a cut-short run stopped: the next run starts from the beginning (upserts make that safe). */
export async function resetSync(fleet: Fleet, job: SyncJob): Promise<{ feedDropped: string | null }> {
  const target = await sideOf(fleet, job.to);
  // A slot a killed follow left holds the source's WAL; the next follow starts with a copy anyway.
  const feedDropped = await dropFeedOf(fleet, job);
  const now = new Date().toISOString();
  await target.impl.writeCheckpoint(target.provider, { job: job.name, lastKey: null, watermark: null, rows: 0, state: 'done', startedAt: now, updatedAt: now });
  return { feedDropped };
}
