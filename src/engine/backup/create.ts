// backup create: one backup per store, each under the store's lock, its payload streamed into the
// repository and its manifest written last (a killed run leaves nothing that looks complete).
import { forEachStore, runOutcome } from '../fanout.js';
import { TOOL } from '../tool.js';
import { verifyBackup } from './verify.js';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { onCleanup, runInterrupted } from '../cleanup.js';
import { type ResolvedStore } from '../config/load.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { fileSystemFailure, isFileSystemError } from '../system/fs-errors.js';
import { describeFailure } from '../engines/failures.js';
import { storeTarget } from '../engines/target.js';
import { requireCapability } from '../engines/index.js';
import { ensurePrivateDir } from '../system/private-dir.js';
import { DEFAULT_CHUNK_SIZE, KEY_BYTES } from '../repository/crypto.js';
import { silentProgress, type Progress } from '../progress.js';
import { fsyncDir } from '../system/files.js';
import { StoreLock } from '../store-lock.js';
import type { BackedUpTenant, DumpContext, DumpResult } from '../engines/spec.js';
import type { BackupManifest, SealedManifest } from '../repository/manifest.js';
import { BackupRepository, type OpeningRepository, type VerifyLevel } from '../repository/repository.js';
import type { RepositoryLayout } from '../repository/layout.js';

/** How a failed run is reported: a local file-system error as what it is (with the repository), anything else as the store's failure. */
function runFailure(store: ResolvedStore, repo: RepositoryLayout, error: unknown): StorageError {
  if (isFileSystemError(error)) return fileSystemFailure(error, `the backup repository ${repo.root}`);
  return describeFailure(store, error);
}

export interface CreateOptions {
  tags?: string[];
  command?: string;
  /** A backup of part of the store (one tenant): what dumps it, and what the manifest records about it. */
  scope?: { tenant: BackedUpTenant; dump: (context: DumpContext) => Promise<DumpResult> };
  /** `--jobs N`: parallel dump (PostgreSQL; the command refuses it for other engines). */
  jobs?: number;
  /** The caller holds the store's lock already (`tenant drop`: its backup and the drop under one lock). */
  locked?: boolean;
}

/** Removes directories of this store's earlier runs that never got a manifest (we hold the lock, so their runs are dead). */
function sweepIncomplete(layout: RepositoryLayout, store: string, progress: Progress, ours: string): void {
  for (const id of layout.unfinished(store).filter((unfinished) => unfinished !== ours)) {
    fs.rmSync(layout.backupDir(id), { recursive: true, force: true });
    progress.warn(`Removed ${id}: an interrupted earlier run left it incomplete.`);
  }
}

/** An open repository, as one whose key is being unlocked. */
function opening(repo: BackupRepository | OpeningRepository): OpeningRepository {
  return repo instanceof BackupRepository ? { layout: repo, encrypted: repo.encrypted, unlocked: Promise.resolve(repo) } : repo;
}

/**
 * Takes one backup. Given a repository whose key is still being unlocked, the dump starts at once,
 * encrypted with the backup's own random data key; only the manifest needs the repository's key
 * (to wrap that data key and seal it). If the key does not unlock, the dump is stopped and its
 * directory removed, and the unlock's error is what fails the run.
 */
export async function createBackup(
  fleet: Fleet,
  target: BackupRepository | OpeningRepository,
  storeName: string,
  options: CreateOptions = {},
  progress: Progress = silentProgress,
): Promise<SealedManifest> {
  const store = fleet.store(storeName);
  const { layout, encrypted, unlocked } = opening(target);
  const lock = options.locked
    ? undefined
    : StoreLock.acquire(layout.locksDir, store.name, options.command ?? 'storage backup create', (message) => progress.warn(message));
  const id = layout.newBackupId(store.name);
  const dir = layout.backupDir(id);
  const calledOff = new AbortController();
  let unlockFailure: { error: unknown } | undefined;
  unlocked.catch((error: unknown) => {
    unlockFailure = { error };
    calledOff.abort(error);
  });
  let scratch: string | undefined;
  // An interrupted run removes the unfinished backup (it has no manifest, so it never looked complete).
  const unregister = onCleanup(`the unfinished backup ${id}`, () => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });
  try {
    ensurePrivateDir(dir);
    scratch = layout.scratch(id);
    const started = new Date();
    const dataKey = encrypted ? randomBytes(KEY_BYTES) : undefined;
    const { provider, impl: engine } = await fleet.capability(store.name, 'backup');
    const compression = fleet.config.file.backup?.compression ?? 'zstd';
    const compressionLevel = fleet.config.file.backup?.compressionLevel;
    const rowCounts = fleet.config.file.backup?.rowCounts;
    const context: DumpContext = {
      store,
      provider,
      backupId: id,
      dir,
      scratch,
      key: dataKey,
      compression,
      compressionLevel,
      progress,
      ...(options.jobs !== undefined ? { jobs: options.jobs } : {}),
      ...(rowCounts ? { rowCounts } : {}),
      signal: calledOff.signal,
    };
    const result = await (options.scope ? options.scope.dump(context) : engine.dump(context));
    const repo = await unlocked;
    // Housekeeping only once the key has proved itself: a run with a wrong passphrase removes nothing.
    repo.sweepScratch();
    sweepIncomplete(repo, store.name, progress, id);
    const finished = new Date();
    const manifest: BackupManifest = {
      format: 1,
      id,
      store: store.name,
      engine: store.engine,
      database: result.database,
      payloadFormat: result.payloadFormat,
      ...(result.jobs !== undefined ? { jobs: result.jobs } : {}),
      tags: options.tags ?? [],
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      tool: TOOL,
      server: { version: result.serverVersion, ...(result.dumpTool ? { dumpTool: result.dumpTool } : {}) },
      source: storeTarget(store),
      cipher: dataKey ? 'aes-256-gcm-chunked' : 'none',
      ...(dataKey ? { chunkSize: DEFAULT_CHUNK_SIZE, dataKey: repo.wrapDataKey(id, dataKey) } : {}),
      files: result.files,
      originalBytes: result.files.reduce((sum, file) => sum + file.plainBytes, 0),
      storedBytes: result.files.reduce((sum, file) => sum + file.bytes, 0),
      counts: result.counts,
      ...(result.rowCounts ? { rowCounts: result.rowCounts } : {}),
      ...(options.scope ? { tenant: options.scope.tenant } : {}),
    };
    fsyncDir(dir);
    // Checked in the same synchronous step as the write: a backup completes before an interruption or not at all.
    if (runInterrupted()) throw new StorageError('FAILED', `Backup ${id} was interrupted before its manifest was written.`);
    const done = progress.step('write the manifest');
    const sealed = repo.writeManifest(manifest);
    unregister();
    done();
    return sealed;
  } catch (error) {
    // Nothing partial may look finished: the directory has no manifest; remove it too.
    fs.rmSync(dir, { recursive: true, force: true });
    // A dump stopped because the key did not unlock fails with the unlock's reason, not the stop's.
    throw unlockFailure ? unlockFailure.error : runFailure(store, layout, error);
  } finally {
    unregister();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    lock?.release();
  }
}

export interface StoreOutcome {
  store: string;
  ok: boolean;
  backup?: SealedManifest;
  error?: { code: string; message: string; hint?: string };
}

/** Backs up several stores with bounded concurrency; one store's failure does not stop the others. */
/** `--jobs N` (N > 1) is refused before any work for stores whose engine cannot dump in parallel (rather than silently ignored). */
export async function checkParallelDump(fleet: Fleet, stores: ResolvedStore[], jobs: number | undefined): Promise<void> {
  if (jobs === undefined || jobs <= 1) return;
  const refusing: ResolvedStore[] = [];
  for (const store of stores) if (!(await requireCapability(await fleet.engine(store), 'backup', store.name)).parallelDump) refusing.push(store);
  if (refusing.length === 0) return;
  const which = refusing.map((store) => `${store.name} (${store.engine})`).join(', ');
  throw new StorageError('USAGE', `--jobs dumps PostgreSQL stores in parallel; ${which} ${refusing.length === 1 ? 'is' : 'are'} not PostgreSQL.`, {
    hint: 'Drop --jobs for SQLite and MongoDB stores, or name only the PostgreSQL stores to back up with --jobs.',
  });
}

export async function createBackups(
  fleet: Fleet,
  target: BackupRepository | OpeningRepository,
  stores: ResolvedStore[],
  options: CreateOptions & { parallel?: number; verify?: VerifyLevel; onOutcome?: (outcome: StoreOutcome) => void },
  progressFor: (store: string) => Progress,
): Promise<StoreOutcome[]> {
  const { layout, unlocked } = opening(target);
  const backUp = async (store: ResolvedStore): Promise<StoreOutcome> => {
    const progress = progressFor(store.name);
    try {
      const backup = await createBackup(fleet, target, store.name, options, progress);
      if (options.verify) {
        const check = await verifyBackup(fleet, await unlocked, backup.id, { level: options.verify }, progress);
        if (!check.ok)
          return {
            store: store.name,
            ok: false,
            backup,
            error: {
              code: 'BAD_DATA',
              message: `Backup ${backup.id} failed verification: ${check.problems.join('; ')}`,
              hint: 'Check the disk of the repository; take a new backup.',
            },
          };
      }
      return { store: store.name, ok: true, backup };
    } catch (error) {
      const failure = runFailure(store, layout, error);
      return { store: store.name, ok: false, error: { code: failure.code, message: failure.message, hint: failure.hint } };
    }
  };
  return forEachStore(stores, backUp, { parallel: options.parallel ?? 2, onResult: options.onOutcome });
}

/** How a backup run ends: see fanout's rule (PARTIAL names every store that failed and why). */
export function backupsOutcome(outcomes: StoreOutcome[]): StorageError | undefined {
  return runOutcome(
    outcomes.map((outcome) => ({ store: outcome.store, failure: outcome.ok ? null : outcome.error })),
    { partial: (failed, total) => `${failed.length} of ${total} backups failed: ${failed.map((f) => `${f.store} (${f.failure.message})`).join('; ')}` },
  );
}
