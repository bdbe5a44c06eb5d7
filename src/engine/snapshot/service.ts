// Snapshot operations: fast same-server copies to take before a risky change, and to roll back to.
// They share the backup locks (a snapshot and a backup of one store never run at once).
import { onCleanup, runInterrupted } from '../cleanup.js';
import { requireConfirmation } from '../confirm.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { StoreLock } from '../backup/lock.js';
import { locksDirOf } from '../backup/repository.js';
import { sleepSync } from '../resilience/clock.js';
import { repositoryPath, TOOL } from '../backup/service.js';
import { SNAPSHOT_NAME, findSnapshot, listSnapshots, removeSnapshotRecord, saveSnapshot, type SnapshotRecord } from './catalog.js';
import { snapshotEngine, type TableStat } from './engine.js';
import { shellQuote } from '../shell.js';

function locksDir(fleet: Fleet): string {
  return locksDirOf(repositoryPath(fleet));
}

function stamp(): string {
  return new Date().toISOString().replace(/\D/g, '').slice(0, 14);
}

export function copyName(database: string, name: string): string {
  return `${database}__snap_${name}`;
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
  const name = request.name ?? stamp();
  if (!SNAPSHOT_NAME.test(name))
    throw new StorageError('USAGE', `"${name}" is not a valid snapshot name.`, {
      hint: 'Use up to 30 lower-case letters, digits and _, starting with a letter or digit.',
    });
  if (listSnapshots(store.name).some((record) => record.name === name)) {
    throw new StorageError('ALREADY_EXISTS', `Store "${store.name}" already has a snapshot named "${name}".`, {
      hint: 'Choose another --name, or delete the old one first.',
    });
  }
  const engine = await snapshotEngine(store.engine);
  const provider = await fleet.provider(store);
  const source = request.database ?? (await engine.defaultDatabase(provider));
  const copy = copyName(source, name);
  if (await engine.exists(provider, copy))
    throw new StorageError('ALREADY_EXISTS', `"${copy}" already exists on store "${store.name}".`, { hint: 'Choose another --name.' });
  const lock = StoreLock.acquire(locksDir(fleet), store.name, request.command, warn);
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
  /** For an interrupted restore: what exists now and how to finish. */
  explanation?: string;
}

export async function snapshotStatus(fleet: Fleet, record: SnapshotRecord): Promise<SnapshotStatus> {
  try {
    const store = fleet.store(record.store);
    const engine = await snapshotEngine(store.engine);
    const provider = await fleet.provider(store);
    const holder = record.restoring ? StoreLock.liveHolder(locksDir(fleet), record.store) : undefined;
    if (record.restoring && holder)
      return {
        ...record,
        state: 'restoring',
        explanation: `A restore is under way: ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}).`,
      };
    if (record.restoring) {
      const { previous, staged } = record.restoring;
      const [hasSource, hasPrevious, hasStaged] = await Promise.all([
        engine.exists(provider, record.source),
        engine.exists(provider, previous),
        engine.exists(provider, staged),
      ]);
      const have = [
        `${record.source}: ${hasSource ? 'present' : 'missing'}`,
        `${previous} (the data before the restore): ${hasPrevious ? 'present' : 'missing'}`,
        `${staged} (the restored copy): ${hasStaged ? 'present' : 'missing'}`,
      ].join('; ');
      const finish =
        !hasSource && hasStaged
          ? `To finish, rename ${staged} to ${record.source}${store.engine === 'postgres' ? ` (ALTER DATABASE "${staged}" RENAME TO "${record.source}")` : ''}.`
          : hasSource && hasStaged
            ? `The swap never started; drop ${staged} and run the restore again.`
            : `Run \`storage snapshot restore ${shellQuote(record.name)} --store ${shellQuote(record.store)} --confirm ${shellQuote(record.source)}\` again; ${previous} keeps the earlier data.`;
      return {
        ...record,
        state: 'restore-interrupted',
        explanation: `A restore from this snapshot started ${record.restoring.startedAt} and did not finish. ${have}. ${finish}`,
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

export interface RestoreSnapshotRequest {
  name: string;
  store?: string;
  confirm: string | undefined;
  command: string;
}

export async function restoreSnapshot(
  fleet: Fleet,
  request: RestoreSnapshotRequest,
  warn: (message: string) => void = () => undefined,
): Promise<{ snapshot: string; database: string; previous: string }> {
  const record = findSnapshot(request.name, request.store);
  requireConfirmation(record.source, request.confirm, `Rolling "${record.source}" on store "${record.store}" back to snapshot "${record.name}"`);
  const store = fleet.store(record.store);
  const engine = await snapshotEngine(store.engine);
  const provider = await fleet.provider(store);
  if (!(await engine.exists(provider, record.copy)))
    throw new StorageError('NOT_FOUND', `The copy "${record.copy}" of snapshot "${record.name}" no longer exists.`, {
      hint: 'It was dropped outside this tool; delete the snapshot record with `storage snapshot delete`.',
    });
  const lock = StoreLock.acquire(locksDir(fleet), store.name, request.command, warn);
  try {
    const now = stamp();
    const names = { staged: `${record.source}__restoring_${now}`, previous: `${record.source}__pre_restore_${now}` };
    await engine.restore(provider, record, names, () => {
      saveSnapshot({ ...record, restoring: { startedAt: new Date().toISOString(), ...names } });
      // Diagnostic hook: hold here so a test (or an operator rehearsing) can interrupt a restore mid-way.
      const pause = Number(process.env.STORAGE_SNAPSHOT_RESTORE_PAUSE_MS ?? 0);
      if (pause > 0) sleepSync(pause);
    });
    saveSnapshot({ ...record, restoring: undefined });
    return { snapshot: record.name, database: record.source, previous: names.previous };
  } finally {
    lock.release();
  }
}

export async function deleteSnapshot(fleet: Fleet, name: string, store: string | undefined, confirm: string | undefined): Promise<SnapshotRecord> {
  const record = findSnapshot(name, store);
  requireConfirmation(name, confirm, `Deleting snapshot "${name}"`);
  const storeConfig = fleet.store(record.store);
  const engine = await snapshotEngine(storeConfig.engine);
  const provider = await fleet.provider(storeConfig);
  if (await engine.exists(provider, record.copy)) await engine.drop(provider, record.copy);
  removeSnapshotRecord(record.store, record.name);
  return record;
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
  const storeConfig = fleet.store(record.store);
  const engine = await snapshotEngine(storeConfig.engine);
  const provider = await fleet.provider(storeConfig);
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
