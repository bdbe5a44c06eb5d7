// backup restore: into a new database, or over an existing one with confirmation; staged and
// renamed into place only when complete, under a journal that lets a killed restore be settled.
import os from 'node:os';
import { onCleanup } from '../cleanup.js';
import { type ResolvedStore } from '../config/load.js';
import { derivedName, nameStamp, restoreStamp } from '../derived-names.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import type { Provider } from '../engines/provider.js';
import { listJournal, removeJournal, writeJournal, type RestoreJournalEntry, type RestorePhase } from '../restore-journal.js';
import { holdScratch } from '../system/scratch-registry.js';
import { silentProgress, type Progress } from '../progress.js';
import type { BackupCapability } from '../engines/spec.js';
import { StoreLock } from '../store-lock.js';
import { processAlive } from '../system/processes.js';
import type { SealedManifest } from '../repository/manifest.js';
import { BackupRepository } from '../repository/repository.js';
import { shellQuote } from '../system/shell.js';

/**
 * Runs a restore under its journal entry: written before the staged copy is made (and again when
 * the swap starts), removed when the restore is done. A restore that fails is settled at once;
 * an interrupted one (SIGINT/SIGTERM) is settled by the cleanup registry; a killed one is
 * settled by the next restore of the store or `snapshot cleanup`.
 */
export async function journalled<T>(
  engine: BackupCapability,
  provider: Provider,
  base: Omit<RestoreJournalEntry, 'phase' | 'startedAt' | 'pid' | 'host'>,
  options: { keep?: boolean },
  work: (journal: (phase: RestorePhase) => void) => Promise<T>,
): Promise<T> {
  const startedAt = new Date().toISOString();
  let entry: RestoreJournalEntry | undefined;
  let unregister: (() => void) | undefined;
  const settle = async () => {
    if (!entry) return;
    await engine.settleRestore(provider, entry);
    removeJournal(base.store, base.staged);
  };
  const journal = (phase: RestorePhase) => {
    entry = writeJournal({ ...base, phase, startedAt });
    unregister ??= onCleanup(`settle the interrupted restore into ${base.database} on store ${base.store}`, settle);
  };
  try {
    const result = await work(journal);
    if (!options.keep) removeJournal(base.store, base.staged);
    return result;
  } catch (error) {
    // If settling fails too, the journal entry stays for the next run.
    await settle().catch(() => undefined);
    throw error;
  } finally {
    unregister?.();
  }
}

/** Journal entries of a store whose run is gone (on this host: not running; a restore test elsewhere may still be). */
function interruptedEntries(store: string): RestoreJournalEntry[] {
  return listJournal(store).filter((entry) => !(entry.host === os.hostname() && processAlive(entry.pid)) && !(entry.scratch && entry.host !== os.hostname()));
}

/** Settles what killed restores of this store left (the caller holds the store's lock, so their runs are gone); returns what was done. */
export async function settleInterruptedBackupRestores(
  fleet: Fleet,
  storeName: string,
  warn: (message: string) => void = () => undefined,
): Promise<Array<{ backup: string; what: string }>> {
  const store = fleet.store(storeName);
  const entries = interruptedEntries(store.name);
  if (entries.length === 0) return [];
  const { provider, impl: engine } = await fleet.capability(store.name, 'backup');
  const done: Array<{ backup: string; what: string }> = [];
  for (const entry of entries) {
    const what = (await engine.settleRestore(provider, entry)) ?? `nothing was left by the interrupted restore of ${entry.backup} into ${entry.database}`;
    removeJournal(entry.store, entry.staged);
    warn(`Store "${store.name}": ${what} (${entry.command}, started ${entry.startedAt}).`);
    done.push({ backup: entry.backup, what });
  }
  return done;
}

export interface RestoreRequest {
  id: string;
  to: string;
  database?: string;
  confirm?: string;
  parallel?: number;
  /** Terminate other sessions on the database being replaced (PostgreSQL), or replace a SQLite file others have open. */
  force?: boolean;
}

export interface RestoreOutcome {
  id: string;
  store: string;
  database: string;
  previous?: string;
  /** Rows per table / documents per collection as recorded at backup time (not recounted: that costs a full scan). */
  backedUpCounts: Record<string, number>;
  /** What those counts count: tables or collections. */
  counted: { one: string; many: string };
}

export interface RestoreTarget {
  manifest: SealedManifest;
  store: ResolvedStore;
  database: string;
  state: 'absent' | 'empty' | 'non-empty';
}

/** Where a restore would write, and whether that exists (any existing database needs confirmation to be replaced). */
export async function restoreTarget(fleet: Fleet, repo: BackupRepository, request: RestoreRequest): Promise<RestoreTarget> {
  const manifest = repo.readManifest(request.id);
  const store = fleet.store(request.to);
  if (store.engine !== manifest.engine) {
    throw new StorageError('USAGE', `Backup ${manifest.id} is of a ${manifest.engine} store; "${store.name}" is ${store.engine}.`, {
      hint: `Restore it to a ${manifest.engine} store.`,
    });
  }
  const { spec, provider, impl: engine } = await fleet.capability(store.name, 'backup');
  const database = request.database ?? derivedName(spec, manifest.database, `_restore_${nameStamp()}`);
  if (request.database !== undefined) provider.checkDatabaseName(request.database);
  if (engine.systemDatabases.includes(database)) {
    throw new StorageError('USAGE', `Refusing to restore into "${database}": it is a ${spec.label} system database, which the server itself needs.`, {
      hint: 'Restore into a new database (the default, or --database NEW_NAME).',
    });
  }
  // A database an interrupted restore left unfinished under this very name (MongoDB, restore tests) is settled
  // (dropped) before the restore, so it does not count as one to replace; restoreBackup checks again under the lock.
  const unfinished = interruptedEntries(store.name).some((entry) => entry.staged === database);
  const state = unfinished ? 'absent' : await engine.targetState(provider, database);
  return { manifest, store, database, state };
}

/** Any existing database, even one without tables (a view, a function, a large object), is replaced only when confirmed. */
function confirmReplace(store: ResolvedStore, database: string, state: RestoreTarget['state'], confirm: string | undefined): void {
  if (state === 'absent') return;
  const holds = state === 'non-empty' ? 'holds data' : 'exists';
  const alternative = 'or restore into a new database with --database NEW_NAME (the default).';
  if (confirm === undefined)
    throw new StorageError(
      'CONFIRMATION_REQUIRED',
      `Database "${database}" on store "${store.name}" ${holds}; restoring replaces it, which needs confirmation.`,
      {
        hint: `Confirm with --confirm ${shellQuote(database)}, ${alternative}`,
      },
    );
  if (confirm !== database)
    throw new StorageError('CONFIRMATION_MISMATCH', `The confirmation "${confirm}" does not match the database "${database}"; nothing was changed.`, {
      hint: `Type the name exactly: --confirm ${shellQuote(database)}, ${alternative}`,
    });
}

export async function restoreBackup(
  fleet: Fleet,
  repo: BackupRepository,
  request: RestoreRequest,
  progress: Progress = silentProgress,
): Promise<RestoreOutcome> {
  const { manifest, store, database, state: seen } = await restoreTarget(fleet, repo, request);
  confirmReplace(store, database, seen, request.confirm);
  const { spec, provider, impl: engine } = await fleet.capability(store.name, 'backup');
  // The data key opens (right repository key) before anything is touched; the engines check every byte before writing.
  const key = repo.dataKey(manifest);
  const command = `storage backup restore ${manifest.id}`;
  const lock = StoreLock.acquire(repo.locksDir, store.name, command, (message) => progress.warn(message));
  let releaseScratch: (() => void) | undefined;
  try {
    await settleInterruptedBackupRestores(fleet, store.name, (message) => progress.warn(message));
    // Under the lock, with earlier leftovers settled: what is there now is what gets replaced (and confirmed).
    const state = await engine.targetState(provider, database);
    confirmReplace(store, database, state, request.confirm);
    const scratch = repo.scratch(`restore-${manifest.id}`);
    releaseScratch = holdScratch(scratch, `scratch of the restore of ${manifest.id}`);
    const stamp = restoreStamp();
    // An engine that cannot rename a database (MongoDB) restores into the new database itself, marked unfinished until done.
    const staged = engine.restoresInPlace ? database : derivedName(spec, database, `__restoring_${stamp}`);
    const previous = state === 'absent' ? undefined : derivedName(spec, database, `__pre_restore_${stamp}`);
    const result = await journalled(
      engine,
      provider,
      { store: store.name, engine: store.engine, backup: manifest.id, database, staged, previous, command },
      {},
      (journal) =>
        engine.restore({
          manifest,
          dir: repo.backupDir(manifest.id),
          key,
          store,
          provider,
          database,
          staged,
          previous,
          force: request.force ?? false,
          journal,
          scratch,
          progress,
          parallel: request.parallel,
        }),
    );
    return {
      id: manifest.id,
      store: store.name,
      database: result.database,
      previous: result.previous,
      backedUpCounts: manifest.counts,
      counted: engine.countedThings,
    };
  } finally {
    releaseScratch?.();
    lock.release();
  }
}
