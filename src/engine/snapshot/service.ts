// Snapshot operations: fast same-server copies to take before a risky change, and to roll back to.
// They share the backup locks (a snapshot and a backup of one store never run at once).
import os from 'node:os';
import { onCleanup, runInterrupted } from '../cleanup.js';
import { requireConfirmation } from '../confirm.js';
import { derivedName, nameStamp, restoreStamp, type NamingEngine } from '../derived-names.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { StoreLock } from '../store-lock.js';
import { processAlive } from '../system/processes.js';
import { storeLocksDir } from '../fleet-lock.js';
import { sleepSync } from '../resilience/clock.js';
import { settleInterruptedBackupRestores } from '../backup/restore.js';
import { TOOL } from '../tool.js';
import { listJournal, type RestoreJournalEntry, type RestorePhase } from '../restore-journal.js';
import { SNAPSHOT_NAME, findSnapshot, listSnapshots, removeSnapshotRecord, saveSnapshot, type SnapshotRecord, type SnapshotRestoring } from './catalog.js';
import type { SnapshotCapability, TableStat } from '../engines/spec.js';

/** The copy a snapshot lives in: `<db>__snap_<name>`, shortened with a hash when the engine's name limit needs it. */
export function copyName(engine: NamingEngine, database: string, name: string): string {
  return derivedName(engine, database, `__snap_${name}`);
}

export interface CreateSnapshotRequest {
  store: string;
  database?: string;
  name?: string;
  force: boolean;
  command: string;
}

export async function createSnapshot(
  fleet: Fleet,
  request: CreateSnapshotRequest,
  warn: (message: string) => void = () => undefined,
): Promise<SnapshotRecord & { note?: string }> {
  const store = fleet.store(request.store);
  const name = request.name ?? nameStamp();
  if (!SNAPSHOT_NAME.test(name))
    throw new StorageError('USAGE', `"${name}" is not a valid snapshot name.`, {
      hint: 'Use up to 30 lower-case letters, digits and _, starting with a letter or digit.',
    });
  if (listSnapshots(store.name).some((record) => record.name === name)) {
    throw new StorageError('ALREADY_EXISTS', `Store "${store.name}" already has a snapshot named "${name}".`, {
      hint: 'Choose another --name, or delete the old one first.',
    });
  }
  const { spec, provider, impl: engine } = await fleet.capability(store.name, 'snapshot');
  const source = request.database ?? (await engine.defaultDatabase(provider));
  if (request.database !== undefined) provider.checkDatabaseName(request.database);
  const copy = copyName(spec, source, name);
  // A copy of nothing would be an empty "snapshot" (MongoDB) or a confusing failure half-way (SQLite).
  if (!(await engine.exists(provider, source)))
    throw new StorageError('NOT_FOUND', `Database "${source}" does not exist on store "${store.name}"; nothing was created.`, {
      hint: `See \`storage db info ${store.name}\` for its databases; --database names the one to copy.`,
    });
  if (await engine.exists(provider, copy))
    throw new StorageError('ALREADY_EXISTS', `"${copy}" already exists on store "${store.name}".`, { hint: 'Choose another --name.' });
  const lock = StoreLock.acquire(storeLocksDir(fleet), store.name, request.command, warn);
  // An interrupted run removes the copy it was making: it has no record, so nothing would ever list or prune it.
  const unregister = onCleanup(`the unfinished snapshot copy "${copy}"`, async () => {
    if (await engine.exists(provider, copy)) await engine.drop(provider, copy);
  });
  try {
    const started = Date.now();
    const result = await engine.create(provider, source, copy, { force: request.force });
    const record: SnapshotRecord = {
      name,
      store: store.name,
      engine: store.engine,
      source,
      copy,
      createdAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      sizeBytes: result.sizeBytes,
      method: result.method,
      tool: `${TOOL.name} ${TOOL.version}`,
    };
    // Never record a snapshot whose copy an interruption is removing.
    if (runInterrupted()) throw new StorageError('FAILED', `Snapshot "${name}" was interrupted before it was recorded.`);
    saveSnapshot(record);
    unregister();
    return { ...record, note: result.note };
  } finally {
    unregister();
    lock.release();
  }
}

export type SnapshotState = 'ok' | 'missing' | 'restoring' | 'restore-interrupted' | 'unknown';

export interface SnapshotStatus extends SnapshotRecord {
  state: SnapshotState;
  /** For an interrupted restore: what exists now and what `snapshot cleanup` (or the next restore) will do. */
  explanation?: string;
}

function describeInterrupted(
  engine: SnapshotCapability,
  record: SnapshotRecord,
  restoring: SnapshotRestoring,
  exists: { source: boolean; staged: boolean; previous: boolean },
): string {
  const phase = restoring.phase ?? 'swapping';
  const cleanup = `\`storage snapshot cleanup ${record.store}\` (or the next restore on the store)`;
  if (engine.restoresInPlace) {
    const have = `${record.source}: ${exists.source ? 'present' : 'missing'}; ${restoring.previous} (the data before the restore): ${exists.previous ? 'present' : 'missing'}`;
    return phase === 'staging'
      ? `${have}. It was killed while copying the current data aside, so ${record.source} was not touched; ${cleanup} drops the partial copy ${restoring.previous}.`
      : `${have}. It was killed while replacing the data of ${record.source}, which is incomplete now; ${cleanup} finishes it from the snapshot (the earlier data stays in ${restoring.previous}).`;
  }
  const have = [
    `${record.source}: ${exists.source ? 'present' : 'missing'}`,
    `${restoring.previous} (the data before the restore): ${exists.previous ? 'present' : 'missing'}`,
    `${restoring.staged} (the staging copy of the snapshot): ${exists.staged ? 'present' : 'missing'}`,
  ].join('; ');
  const next = !exists.staged
    ? `Nothing is left to settle; ${cleanup} clears the record.`
    : phase === 'swapping' && !exists.source
      ? `It was killed in the middle of its swap: ${cleanup} finishes it by renaming ${restoring.staged} to ${record.source}.`
      : `The swap never started, so ${record.source} was not touched: ${cleanup} drops ${restoring.staged}.`;
  return `${have}. ${next}`;
}

export async function snapshotStatus(fleet: Fleet, record: SnapshotRecord): Promise<SnapshotStatus> {
  try {
    const { provider, impl: engine } = await fleet.capability(record.store, 'snapshot');
    const holder = record.restoring ? StoreLock.liveHolder(storeLocksDir(fleet), record.store) : undefined;
    if (record.restoring && holder)
      return {
        ...record,
        state: 'restoring',
        explanation: `A restore is under way: ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}).`,
      };
    if (record.restoring) {
      const { previous, staged } = record.restoring;
      const [source, hasPrevious, hasStaged] = await Promise.all([
        engine.exists(provider, record.source),
        engine.exists(provider, previous),
        engine.exists(provider, staged),
      ]);
      return {
        ...record,
        state: 'restore-interrupted',
        explanation: `A restore from this snapshot started ${record.restoring.startedAt} and did not finish. ${describeInterrupted(engine, record, record.restoring, { source, staged: hasStaged, previous: hasPrevious })}`,
      };
    }
    return { ...record, state: (await engine.exists(provider, record.copy)) ? 'ok' : 'missing' };
  } catch {
    return { ...record, state: 'unknown' };
  }
}

export async function snapshotList(fleet: Fleet, store?: string): Promise<SnapshotStatus[]> {
  // A store removed from the config still lists the snapshots it left.
  if (store) fleet.knownStore(store, () => listSnapshots().map((record) => record.store), 'snapshots');
  return Promise.all(listSnapshots(store).map((record) => snapshotStatus(fleet, record)));
}

/** Journal entries of backup restores (and restore tests) whose run is gone: what they left is still on the server. */
export function interruptedBackupRestores(fleet: Fleet, store?: string): RestoreJournalEntry[] {
  return listJournal(store).filter(
    (entry) =>
      fleet.config.stores.has(entry.store) &&
      !(entry.host === os.hostname() && processAlive(entry.pid)) &&
      !StoreLock.liveHolder(storeLocksDir(fleet), entry.store),
  );
}

export function describeInterruptedBackupRestore(entry: RestoreJournalEntry): string {
  const what = entry.scratch
    ? `a restore test of ${entry.backup} (scratch database ${entry.database})`
    : `the restore of ${entry.backup} into ${entry.database}`;
  const left = entry.staged === entry.database ? entry.database : entry.staged;
  return `${what} started ${entry.startedAt} and did not finish; ${left} may be left on the server. \`storage snapshot cleanup ${entry.store}\` (or the next restore on the store) settles it.`;
}

export interface RestoreSnapshotRequest {
  name: string;
  store?: string;
  confirm: string | undefined;
  /** Terminate other sessions on the database (PostgreSQL), or replace a SQLite file others have open. */
  force?: boolean;
  command: string;
}

/** Settles one snapshot's interrupted restore (the caller holds the store's lock); returns what was done. */
async function settleSnapshotRestore(fleet: Fleet, record: SnapshotRecord): Promise<string | undefined> {
  if (!record.restoring) return undefined;
  const { provider, impl: engine } = await fleet.capability(record.store, 'snapshot');
  const what = await engine.settleRestore(provider, record, record.restoring);
  saveSnapshot({ ...record, restoring: undefined });
  return what ?? 'nothing was left';
}

export interface SettledRestore {
  store: string;
  /** The snapshot, or the backup, whose interrupted restore was settled. */
  snapshot?: string;
  backup?: string;
  what: string;
}

/** Settles what killed restores (from snapshots and from backups) left on a store; the caller holds its lock. */
async function settleStore(fleet: Fleet, storeName: string, warn: (message: string) => void): Promise<SettledRestore[]> {
  const settled: SettledRestore[] = [];
  for (const record of listSnapshots(storeName).filter((r) => r.restoring)) {
    const what = await settleSnapshotRestore(fleet, record);
    if (what) {
      warn(`Snapshot "${record.name}" of store "${record.store}": an interrupted restore was settled: ${what}.`);
      settled.push({ store: record.store, snapshot: record.name, what });
    }
  }
  for (const { backup, what } of await settleInterruptedBackupRestores(fleet, storeName, warn)) settled.push({ store: storeName, backup, what });
  return settled;
}

/** `snapshot cleanup`: settles every interrupted restore of the given stores (all by default). */
export async function cleanupRestores(
  fleet: Fleet,
  options: { store?: string; command: string },
  warn: (message: string) => void = () => undefined,
): Promise<SettledRestore[]> {
  const stores = options.store ? [fleet.store(options.store).name] : [...fleet.config.stores.keys()];
  const settled: SettledRestore[] = [];
  for (const name of stores) {
    const pending = listSnapshots(name).some((record) => record.restoring) || listJournal(name).length > 0;
    if (!pending) continue;
    const lock = StoreLock.acquire(storeLocksDir(fleet), name, options.command, warn);
    try {
      settled.push(...(await settleStore(fleet, name, () => undefined)));
    } finally {
      lock.release();
    }
  }
  return settled;
}

export async function restoreSnapshot(
  fleet: Fleet,
  request: RestoreSnapshotRequest,
  warn: (message: string) => void = () => undefined,
): Promise<{ snapshot: string; database: string; previous: string }> {
  const found = findSnapshot(request.name, request.store);
  requireConfirmation(found.source, request.confirm, `Rolling "${found.source}" on store "${found.store}" back to snapshot "${found.name}"`);
  const { store, spec, provider, impl: engine } = await fleet.capability(found.store, 'snapshot');
  if (!(await engine.exists(provider, found.copy)))
    throw new StorageError('NOT_FOUND', `The copy "${found.copy}" of snapshot "${found.name}" no longer exists.`, {
      hint: 'It was dropped outside this tool; delete the snapshot record with `storage snapshot delete`.',
    });
  const lock = StoreLock.acquire(storeLocksDir(fleet), store.name, request.command, warn);
  try {
    // What killed restores left on this store is settled first (we hold the lock: their runs are gone).
    await settleStore(fleet, store.name, warn);
    const record = findSnapshot(found.name, found.store);
    const now = restoreStamp();
    const names = {
      staged: derivedName(spec, record.source, `__restoring_${now}`),
      previous: derivedName(spec, record.source, `__pre_restore_${now}`),
    };
    const restoring: SnapshotRestoring = { startedAt: new Date().toISOString(), ...names, phase: 'staging' };
    const journal = (phase: RestorePhase) => {
      if (phase === 'swapping') {
        // Diagnostic hook: hold here, the staging copy complete and the database untouched, so a test (or an
        // operator rehearsing) can interrupt a restore mid-way.
        const pause = Number(process.env.STORAGE_SNAPSHOT_RESTORE_PAUSE_MS ?? 0);
        if (pause > 0) sleepSync(pause);
      }
      restoring.phase = phase;
      saveSnapshot({ ...record, restoring });
    };
    // An interrupted run (SIGINT, SIGTERM) settles what it made before it exits; a killed one leaves the record.
    const unregister = onCleanup(`settle the interrupted restore of snapshot ${record.name} on store ${store.name}`, async () => {
      await settleSnapshotRestore(fleet, { ...record, restoring });
    });
    try {
      await engine.restore(provider, record, names, journal, { force: request.force ?? false });
    } catch (error) {
      // Nothing half done is kept: if settling fails too, the record keeps the facts for `snapshot cleanup`.
      await settleSnapshotRestore(fleet, { ...record, restoring }).catch(() => undefined);
      throw error;
    } finally {
      unregister();
    }
    saveSnapshot({ ...record, restoring: undefined });
    return { snapshot: record.name, database: record.source, previous: names.previous };
  } finally {
    lock.release();
  }
}

export async function deleteSnapshot(
  fleet: Fleet,
  name: string,
  store: string | undefined,
  confirm: string | undefined,
): Promise<SnapshotRecord & { dropped: boolean }> {
  const record = findSnapshot(name, store);
  requireConfirmation(name, confirm, `Deleting snapshot "${name}"`);
  if (record.restoring)
    throw new StorageError('IN_USE', `Snapshot "${name}" has a restore that did not finish; its copy may still be needed to finish it.`, {
      hint: `Settle it first: storage snapshot cleanup ${record.store}`,
    });
  const { provider, impl: engine } = await fleet.capability(record.store, 'snapshot');
  const dropped = await engine.exists(provider, record.copy);
  if (dropped) await engine.drop(provider, record.copy);
  removeSnapshotRecord(record.store, record.name);
  return { ...record, dropped };
}

export async function pruneSnapshots(
  fleet: Fleet,
  options: { store?: string; keepLast: number; olderThanMs?: number; dryRun: boolean },
): Promise<{ deleted: SnapshotRecord[]; kept: SnapshotRecord[]; dryRun: boolean }> {
  const deleted: SnapshotRecord[] = [];
  const kept: SnapshotRecord[] = [];
  const byStore = new Map<string, SnapshotRecord[]>();
  for (const record of listSnapshots(options.store)) byStore.set(record.store, [...(byStore.get(record.store) ?? []), record]);
  for (const records of byStore.values()) {
    const newestFirst = [...records].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    newestFirst.forEach((record, index) => {
      const old = options.olderThanMs === undefined || Date.now() - Date.parse(record.createdAt) > options.olderThanMs;
      // A snapshot in the middle of a restore is never pruned.
      if (index >= options.keepLast && old && !record.restoring) deleted.push(record);
      else kept.push(record);
    });
  }
  if (!options.dryRun) for (const record of deleted) await deleteSnapshot(fleet, record.name, record.store, record.name);
  return { deleted, kept, dryRun: options.dryRun };
}

export interface DiffRow {
  table: string;
  snapshotRows: number | null;
  liveRows: number | null;
  rowChange: number | null;
  snapshotBytes: number | null;
  liveBytes: number | null;
}

export async function diffSnapshot(fleet: Fleet, name: string, store?: string): Promise<{ snapshot: SnapshotRecord; tables: DiffRow[] }> {
  const record = findSnapshot(name, store);
  const { provider, impl: engine } = await fleet.capability(record.store, 'snapshot');
  const [then, now]: Record<string, TableStat>[] = await Promise.all([engine.stats(provider, record.copy), engine.stats(provider, record.source)]);
  const tables = [...new Set([...Object.keys(then), ...Object.keys(now)])].sort();
  return {
    snapshot: record,
    tables: tables.map((table) => ({
      table,
      snapshotRows: then[table]?.rows ?? null,
      liveRows: now[table]?.rows ?? null,
      rowChange: (now[table]?.rows ?? 0) - (then[table]?.rows ?? 0),
      snapshotBytes: then[table]?.sizeBytes ?? null,
      liveBytes: now[table]?.sizeBytes ?? null,
    })),
  };
}
