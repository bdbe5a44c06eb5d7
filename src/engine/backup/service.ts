// Backup operations as the CLI and cron use them: create, list, verify, restore, prune.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { onCleanup, runInterrupted } from '../cleanup.js';
import { configRelative, type ResolvedStore } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import { userPaths } from '../config/paths.js';
import { checkDerivedName, derivedName, nameStamp } from '../derived-names.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { fileSystemFailure, fileSystemReason, isFileSystemError } from '../fs-errors.js';
import { describeFailure } from '../providers/failures.js';
import { storeTarget } from '../providers/target.js';
import type { Provider } from '../providers/types.js';
import { listJournal, removeJournal, writeJournal, type RestoreJournalEntry, type RestorePhase } from '../restore-journal.js';
import { ensurePrivateDir } from '../private-dir.js';
import { holdScratch } from '../scratch-registry.js';
import { DEFAULT_CHUNK_SIZE } from './crypto.js';
import { engineBackup, silentProgress, type EngineBackup, type Progress } from './engine.js';
import { fileNameSafe, fsyncDir } from './files.js';
import { resolveKeySource } from './keys.js';
import { processAlive, StoreLock } from './lock.js';
import type { BackupManifest, SealedManifest } from './manifest.js';
import { discard, readPayload } from './payload.js';
import { BackupRepository, isReadable, storeOfBackupId, type BackupEntry, type VerificationRecord, type VerifyLevel } from './repository.js';
import { applyRetention, type RetentionDecision, type RetentionPolicy } from './retention.js';
import { shellQuote } from '../shell.js';

/** This tool's name and version, recorded in every manifest. */
export const TOOL = {
  name: 'storage',
  version: (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version,
};
/** A backup directory without a manifest this old is the leftover of a killed run (prune sweeps it). */
export const LEFTOVER_AGE_MS = 86_400_000;

export function repositoryPath(fleet: Fleet): string {
  const configured = fleet.config.file.backup?.repository;
  if (!configured) return path.join(userPaths().data, 'backups');
  return configRelative(fleet.config, configured);
}

/** Opens the repository; only `backup create` may create it (reading commands never make keys or directories). */
export async function openRepository(
  fleet: Fleet,
  progress: Progress = silentProgress,
  options: { create?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<BackupRepository> {
  const root = repositoryPath(fleet);
  if (!options.create && !repositoryExists(root)) {
    throw new StorageError('NOT_FOUND', `There is no backup repository at ${root} yet.`, {
      hint: 'Take a first backup with `storage backup create`, or point backup.repository in the config at an existing repository.',
    });
  }
  return BackupRepository.open(root, await resolveKeySource(fleet.config, options.env ?? process.env, fleet.secrets), (message) => progress.warn(message), {
    create: options.create,
  });
}

/** Whether anything of a repository is at `root` (its repo.json, the copy in keys/, or backups). */
export function repositoryExists(root: string): boolean {
  return ['repo.json', 'keys', 'backups'].some((name) => fs.existsSync(path.join(root, name)));
}

/** How a failed run is reported: a local file-system error as what it is (with the repository), anything else as the store's failure. */
function runFailure(store: ResolvedStore, repo: BackupRepository, error: unknown): StorageError {
  if (isFileSystemError(error)) return fileSystemFailure(error, `the backup repository ${repo.root}`);
  // SQLite's online backup writes its snapshot into the repository's scratch: a full disk there
  // comes back as SQLITE_FULL, which is not the store's doing (a backup only reads the store).
  if (store.engine === 'sqlite' && (error as { code?: unknown })?.code === 'SQLITE_FULL')
    return fileSystemFailure(Object.assign(new Error('database or disk is full'), { code: 'ENOSPC', syscall: 'write' }), repo.tmpDir);
  return describeFailure(store, error);
}

export interface CreateOptions {
  tags?: string[];
  command?: string;
}

/** Removes directories of this store's earlier runs that never got a manifest (we hold the lock, so their runs are dead). */
function sweepIncomplete(repo: BackupRepository, store: string, progress: Progress): void {
  for (const entry of repo.list(new Set())) {
    if (entry.status === 'incomplete' && entry.store === store) {
      fs.rmSync(repo.backupDir(entry.id), { recursive: true, force: true });
      progress.warn(`Removed ${entry.id}: an interrupted earlier run left it incomplete.`);
    }
  }
}

export async function createBackup(
  fleet: Fleet,
  repo: BackupRepository,
  storeName: string,
  options: CreateOptions = {},
  progress: Progress = silentProgress,
): Promise<SealedManifest> {
  const store = fleet.store(storeName);
  const lock = StoreLock.acquire(repo.locksDir, store.name, options.command ?? 'storage backup create', (message) => progress.warn(message));
  const id = repo.newBackupId(store.name);
  const dir = repo.backupDir(id);
  let scratch: string | undefined;
  // An interrupted run removes the unfinished backup (it has no manifest, so it never looked complete).
  const unregister = onCleanup(`the unfinished backup ${id}`, () => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });
  try {
    repo.sweepScratch();
    sweepIncomplete(repo, store.name, progress);
    ensurePrivateDir(dir);
    scratch = repo.scratch(id);
    const started = new Date();
    const dataKey = repo.newDataKey(id);
    const engine = await engineBackup(store.engine);
    const provider = await fleet.provider(store);
    const compress = (fleet.config.file.backup?.compression ?? 'gzip') === 'gzip';
    const result = await engine.dump({ store, provider, backupId: id, dir, scratch, key: dataKey?.key, compress, progress });
    const finished = new Date();
    const manifest: BackupManifest = {
      format: 1,
      id,
      store: store.name,
      engine: store.engine,
      database: result.database,
      payloadFormat: result.payloadFormat,
      tags: options.tags ?? [],
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      tool: TOOL,
      server: { version: result.serverVersion, ...(result.dumpTool ? { dumpTool: result.dumpTool } : {}) },
      source: storeTarget(store),
      cipher: dataKey ? 'aes-256-gcm-chunked' : 'none',
      ...(dataKey ? { chunkSize: DEFAULT_CHUNK_SIZE, dataKey: dataKey.wrapped } : {}),
      files: result.files,
      originalBytes: result.files.reduce((sum, file) => sum + file.plainBytes, 0),
      storedBytes: result.files.reduce((sum, file) => sum + file.bytes, 0),
      counts: result.counts,
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
    throw runFailure(store, repo, error);
  } finally {
    unregister();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    lock.release();
  }
}

export interface StoreOutcome {
  store: string;
  ok: boolean;
  backup?: SealedManifest;
  error?: { code: string; message: string; hint?: string };
}

/** Backs up several stores with bounded concurrency; one store's failure does not stop the others. */
export async function createBackups(
  fleet: Fleet,
  repo: BackupRepository,
  stores: ResolvedStore[],
  options: CreateOptions & { parallel?: number; verify?: VerifyLevel; onOutcome?: (outcome: StoreOutcome) => void },
  progressFor: (store: string) => Progress,
): Promise<StoreOutcome[]> {
  const queue = [...stores];
  const outcomes = new Map<string, StoreOutcome>();
  const backUp = async (store: ResolvedStore): Promise<StoreOutcome> => {
    const progress = progressFor(store.name);
    try {
      const backup = await createBackup(fleet, repo, store.name, options, progress);
      if (options.verify) {
        const check = await verifyBackup(fleet, repo, backup.id, { level: options.verify }, progress);
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
      const failure = runFailure(store, repo, error);
      return { store: store.name, ok: false, error: { code: failure.code, message: failure.message, hint: failure.hint } };
    }
  };
  const worker = async () => {
    for (let store = queue.shift(); store; store = queue.shift()) {
      const outcome = await backUp(store);
      outcomes.set(store.name, outcome);
      options.onOutcome?.(outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel ?? 2, stores.length)) }, worker));
  return stores.map((store) => outcomes.get(store.name)!);
}

export function listBackups(repo: BackupRepository, store?: string): BackupEntry[] {
  return repo.list().filter((entry) => !store || entry.store === store);
}

/** The newest complete backup (of a store, or of any), if there is one. */
export function newestComplete(repo: BackupRepository, store?: string): BackupEntry | undefined {
  const complete = listBackups(repo, store).filter((entry) => entry.status === 'complete');
  complete.sort((a, b) => Date.parse(b.manifest!.startedAt) - Date.parse(a.manifest!.startedAt) || b.id.localeCompare(a.id));
  return complete[0];
}

/** The newest complete backup (of a store, or of any); NOT_FOUND when there is none. */
export function latestBackup(repo: BackupRepository, store?: string): SealedManifest {
  const newest = newestComplete(repo, store);
  if (!newest) {
    throw new StorageError('NOT_FOUND', `There is no complete backup${store ? ` of store "${store}"` : ''} in ${repo.root}.`, {
      hint: 'Take one with `storage backup create`.',
    });
  }
  return newest.manifest!;
}

export interface VerifyOptions {
  /** files: manifest seal and file sizes; read-data: also decrypt and re-hash every byte; restore-test: also restore and compare counts. */
  level?: VerifyLevel;
  /** Keep the result in the backup's verified.json (default); `validate` looks without writing. */
  record?: boolean;
}

export interface VerifyResult extends VerificationRecord {
  id: string;
  store: string;
  /** False when the result could not be kept in verified.json (a read-only repository); `warning` says why. */
  recorded?: boolean;
  warning?: string;
}

export async function verifyBackup(
  fleet: Fleet,
  repo: BackupRepository,
  id: string,
  options: VerifyOptions = {},
  progress: Progress = silentProgress,
): Promise<VerifyResult> {
  const level = options.level ?? 'files';
  const problems: string[] = [];
  let manifest: SealedManifest | undefined;
  try {
    manifest = repo.readManifest(id);
    const dir = repo.backupDir(id);
    let done = progress.step('check the manifest and files');
    for (const file of manifest.files) {
      const full = path.join(dir, file.name);
      if (!fs.existsSync(full)) problems.push(`${file.name} is missing`);
      else if (fs.statSync(full).size !== file.bytes) problems.push(`${file.name} has ${fs.statSync(full).size} bytes, the manifest says ${file.bytes}`);
    }
    done(problems.length ? `${problems.length} problem(s)` : `${manifest.files.length} file(s)`);
    if (problems.length === 0 && level !== 'files') {
      done = progress.step('read back, decrypt and re-hash every byte');
      const key = repo.dataKey(manifest);
      for (const file of manifest.files)
        await readPayload(dir, file, { key, context: `${manifest.id}/${file.name}`, chunkSize: manifest.chunkSize }, discard());
      done();
    }
    if (problems.length === 0 && level === 'restore-test') problems.push(...(await restoreTest(fleet, repo, manifest, progress)));
  } catch (error) {
    if (!(error instanceof StorageError) || !['BAD_DATA', 'NOT_FOUND'].includes(error.code)) throw error;
    if (error.code === 'NOT_FOUND') throw error;
    problems.push(error.message);
  }
  let record: VerificationRecord = { level, ok: problems.length === 0, at: new Date().toISOString(), problems };
  const store = manifest?.store ?? storeOfBackupId(id);
  if (options.record !== false && fs.existsSync(repo.backupDir(id))) {
    try {
      record = repo.recordVerification(id, record);
    } catch (error) {
      // The check itself is done and its result stands; only keeping it failed (a read-only repository).
      if (!isFileSystemError(error)) throw error;
      const warning = `The result was not recorded in ${path.join(repo.backupDir(id), 'verified.json')}: ${fileSystemReason(error)}; the check itself ${record.ok ? 'passed' : 'failed'}.`;
      progress.warn(warning);
      return { id, store, ...record, recorded: false, warning };
    }
  }
  return { id, store, ...record };
}

async function restoreTest(fleet: Fleet, repo: BackupRepository, manifest: SealedManifest, progress: Progress): Promise<string[]> {
  const store = fleet.store(manifest.store);
  const engine = await engineBackup(store.engine);
  const provider = await fleet.provider(store);
  const scratchDb = `storage_verify_${randomBytes(4).toString('hex')}`;
  checkDerivedName(store.engine, scratchDb);
  const scratch = repo.scratch(`verify-${manifest.id}`);
  const releaseScratch = holdScratch(scratch, `scratch of a restore test of ${manifest.id}`);
  try {
    // The scratch database is journalled like any restore, and stays journalled until it is dropped.
    const entry = {
      store: store.name,
      engine: store.engine,
      backup: manifest.id,
      database: scratchDb,
      staged: scratchDb,
      scratch: true,
      command: 'restore test',
    };
    await journalled(engine, provider, entry, { keep: true }, (journal) =>
      engine.restore({
        manifest,
        dir: repo.backupDir(manifest.id),
        key: repo.dataKey(manifest),
        store,
        provider,
        database: scratchDb,
        staged: scratchDb,
        force: false,
        journal,
        scratch,
        progress,
      }),
    );
    const done = progress.step('compare row counts with the manifest');
    const counts = await engine.count(provider, scratchDb);
    const problems: string[] = [];
    for (const [table, expected] of Object.entries(manifest.counts)) {
      if (counts[table] !== expected) problems.push(`${table}: ${counts[table] ?? 'missing'} rows restored, ${expected} backed up`);
    }
    for (const table of Object.keys(counts)) if (!(table in manifest.counts)) problems.push(`${table}: restored but not in the manifest`);
    done(problems.length ? `${problems.length} mismatch(es)` : `${Object.keys(counts).length} ${engine.countedThings.many} match`);
    return problems;
  } finally {
    // Forgotten only once dropped: if the drop fails, the next restore of the store (or `snapshot cleanup`) drops it.
    if (
      await engine.drop(provider, scratchDb).then(
        () => true,
        () => false,
      )
    )
      removeJournal(store.name, scratchDb);
    releaseScratch();
  }
}

/**
 * Runs a restore under its journal entry: written before the staged copy is made (and again when
 * the swap starts), removed when the restore is done. A restore that fails is settled at once;
 * an interrupted one (SIGINT/SIGTERM) is settled by the cleanup registry; a killed one is
 * settled by the next restore of the store or `snapshot cleanup`.
 */
async function journalled<T>(
  engine: EngineBackup,
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
  const engine = await engineBackup(store.engine);
  const provider = await fleet.provider(store);
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
  const engine = await engineBackup(store.engine);
  const database = request.database ?? derivedName(store.engine, manifest.database, `_restore_${nameStamp()}`);
  if (request.database !== undefined) (await fleet.provider(store)).checkDatabaseName(request.database);
  if (engine.systemDatabases.includes(database)) {
    throw new StorageError('USAGE', `Refusing to restore into "${database}": it is a ${store.engine} system database, which the server itself needs.`, {
      hint: 'Restore into a new database (the default, or --database NEW_NAME).',
    });
  }
  // A database an interrupted restore left unfinished under this very name (MongoDB, restore tests) is settled
  // (dropped) before the restore, so it does not count as one to replace; restoreBackup checks again under the lock.
  const unfinished = interruptedEntries(store.name).some((entry) => entry.staged === database);
  const state = unfinished ? 'absent' : await engine.targetState(await fleet.provider(store), database);
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
  const engine = await engineBackup(store.engine);
  const provider = await fleet.provider(store);
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
    const stamp = nameStamp();
    // An engine that cannot rename a database (MongoDB) restores into the new database itself, marked unfinished until done.
    const staged = engine.restoresInPlace ? database : derivedName(store.engine, database, `__restoring_${stamp}`);
    const previous = state === 'absent' ? undefined : derivedName(store.engine, database, `__pre_restore_${stamp}`);
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

export function policyFromConfig(fleet: Fleet): RetentionPolicy {
  const retention = fleet.config.file.backup?.retention ?? {};
  return { ...retention, keepWithinMs: retention.keepWithin ? parseDuration(retention.keepWithin) : undefined };
}

export interface PruneOptions {
  dryRun: boolean;
  /** Only these stores (`backup create --prune`: the stores it just backed up; `backup prune --store`). */
  stores?: string[];
  /** The stores in the config. Backups of any other store ("orphans") are left alone unless includeOrphans. */
  configured: string[];
  includeOrphans?: boolean;
  /** Delete backups that cannot be judged (their manifest cannot be read or fails its seal). Never by default. */
  deleteDamaged?: boolean;
  now?: number;
}

export interface PrunePlan extends RetentionDecision {
  /** Leftovers of killed runs (no manifest) older than a day. */
  sweep: Array<{ id: string; store: string; status: string }>;
  /** Backups that cannot be judged: kept (and reported) unless deleteDamaged. */
  damaged: Array<{ id: string; store: string; problem: string; deleted: boolean }>;
  /** Backups dated in the future (a clock was wrong): kept, and never counted as a store's newest. */
  futureDated: Array<{ id: string; store: string; startedAt: string }>;
  /** Stores with backups that are not in the config: skipped unless includeOrphans. */
  orphans: Array<{ store: string; backups: number; skipped: boolean }>;
  /** Stores whose lock another run holds: nothing of theirs was deleted this time. */
  locked: string[];
  dryRun: boolean;
}

/** Every backup this plan deletes (or, with dryRun, would delete). */
export function prunedBackups(plan: PrunePlan): Array<{ id: string; store: string; why: string }> {
  return [
    ...plan.remove.map((r) => ({ id: r.id, store: r.store, why: 'not kept by the policy' })),
    ...plan.sweep.map((s) => ({ id: s.id, store: s.store, why: `${s.status} leftover` })),
    ...plan.damaged.filter((d) => d.deleted).map((d) => ({ id: d.id, store: d.store, why: `damaged: ${d.problem}` })),
  ];
}

/**
 * Applies the retention policy. Only backups that can be judged are ever deleted by the policy:
 * damaged ones (unreadable or unsealed manifest) are reported and kept unless `deleteDamaged`,
 * backups dated in the future are kept and never count as the newest, and backups of stores not
 * in the config are skipped unless `includeOrphans`. Deletion takes each store's lock, so it never
 * races a backup or restore of that store.
 */
export function pruneBackups(repo: BackupRepository, policy: RetentionPolicy, options: PruneOptions): PrunePlan {
  const now = options.now ?? Date.now();
  const scope = options.stores && new Set(options.stores);
  const configured = new Set(options.configured);
  const entries = listBackups(repo).filter((entry) => !scope || scope.has(entry.store));
  const orphanCounts = new Map<string, number>();
  for (const entry of entries) {
    if (!configured.has(entry.store) && (isReadable(entry) || entry.status === 'damaged'))
      orphanCounts.set(entry.store, (orphanCounts.get(entry.store) ?? 0) + 1);
  }
  const judged = entries.filter((entry) => configured.has(entry.store) || options.includeOrphans);
  const candidates = judged
    .filter(isReadable)
    .map((entry) => ({ id: entry.id, store: entry.manifest!.store, startedAt: entry.manifest!.startedAt, tags: entry.manifest!.tags }));
  const decision = applyRetention(candidates, policy, now); // refuses an empty policy even with nothing to prune
  // Leftovers without a manifest never were backups: swept after a day, whoever's they were.
  const sweep = entries
    .filter((entry) => entry.status === 'incomplete' && now - Date.parse(entry.createdAt) > LEFTOVER_AGE_MS)
    .map((entry) => ({ id: entry.id, store: entry.store, status: entry.status }));
  const damaged = judged
    .filter((entry) => entry.status === 'damaged')
    .map((entry) => ({ id: entry.id, store: entry.store, problem: entry.problem ?? 'its manifest cannot be read', deleted: Boolean(options.deleteDamaged) }));
  const futureDated = judged
    .filter((entry) => entry.status === 'future-dated')
    .map((entry) => ({ id: entry.id, store: entry.store, startedAt: entry.manifest!.startedAt }));
  const orphans = [...orphanCounts].map(([store, backups]) => ({ store, backups, skipped: !options.includeOrphans }));
  const plan: PrunePlan = { ...decision, sweep, damaged, futureDated, orphans, locked: [], dryRun: options.dryRun };
  if (options.dryRun) return plan;
  const byStore = new Map<string, string[]>();
  for (const { id, store } of prunedBackups(plan)) byStore.set(store, [...(byStore.get(store) ?? []), id]);
  const kept = new Set<string>();
  for (const [store, ids] of byStore) {
    let lock: StoreLock;
    try {
      lock = StoreLock.acquire(repo.locksDir, store, 'storage backup prune');
    } catch (error) {
      if (!(error instanceof StorageError && error.code === 'LOCKED')) throw error;
      plan.locked.push(store);
      for (const id of ids) kept.add(id);
      continue;
    }
    try {
      for (const id of ids) {
        // Move the whole directory out first, so a half-deleted backup never looks complete.
        const doomed = path.join(repo.scratch('prune'), id);
        fs.renameSync(repo.backupDir(id), doomed);
        fs.rmSync(path.dirname(doomed), { recursive: true, force: true });
      }
    } finally {
      lock.release();
    }
  }
  if (kept.size === 0) return plan;
  // What a locked store kept is not reported as deleted.
  return {
    ...plan,
    remove: plan.remove.filter((r) => !kept.has(r.id)),
    keep: [...plan.keep, ...plan.remove.filter((r) => kept.has(r.id)).map((r) => ({ ...r, reasons: ['its store is locked by another run'] }))],
    sweep: plan.sweep.filter((s) => !kept.has(s.id)),
    damaged: plan.damaged.map((d) => (kept.has(d.id) ? { ...d, deleted: false } : d)),
  };
}

/** Where each payload file lands in an export: the vendor's own layout, never outside the export directory. */
function exportPath(manifest: BackupManifest, name: string, mongodumpPath: (name: string) => string): string {
  if (manifest.payloadFormat === 'pg_dump-custom') return `${fileNameSafe(manifest.database)}.dump`;
  if (manifest.payloadFormat === 'sqlite-file') return `${fileNameSafe(manifest.database)}.db`;
  return mongodumpPath(name);
}

/** `relative` inside `root`, or BAD_DATA: manifest content never decides where a file is written. */
function confined(root: string, relative: string): string {
  const target = path.resolve(root, relative);
  if (path.relative(root, target).startsWith('..') || path.isAbsolute(path.relative(root, target)) || target === root) {
    throw new StorageError('BAD_DATA', `The backup names a file "${relative}" outside the export directory.`, {
      hint: 'Do not use this backup; nothing was written.',
    });
  }
  return target;
}

export interface ExportResult {
  id: string;
  directory: string;
  files: string[];
  format: BackupManifest['payloadFormat'];
}

/** Decrypts a backup into `out/<id>/` in the vendor's format (pg_restore, mongorestore and sqlite3 read it). */
export async function exportBackup(repo: BackupRepository, id: string, out: string, progress: Progress = silentProgress): Promise<ExportResult> {
  const manifest = repo.readManifest(id);
  const key = repo.dataKey(manifest);
  const final = path.resolve(out, manifest.id); // the id was checked against the backup's directory name
  if (fs.existsSync(final))
    throw new StorageError('ALREADY_EXISTS', `${final} already exists.`, { hint: 'Choose another --out directory or remove it first.' });
  const partial = path.resolve(out, `.${manifest.id}.partial-${process.pid}`);
  fs.mkdirSync(partial, { recursive: true, mode: 0o700 });
  const unregister = onCleanup(`the unfinished export ${partial}`, () => fs.rmSync(partial, { recursive: true, force: true }));
  const { mongodumpPath } = await import('./mongodb.js');
  const files: string[] = [];
  try {
    for (const file of manifest.files) {
      const relative = exportPath(manifest, file.name, mongodumpPath);
      const target = confined(partial, relative);
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
      const done = progress.step(`decrypt ${relative}`);
      await readPayload(
        repo.backupDir(manifest.id),
        file,
        { key, context: `${manifest.id}/${file.name}`, chunkSize: manifest.chunkSize },
        fs.createWriteStream(target, { mode: 0o600, flags: 'wx' }),
      );
      done();
      files.push(relative);
    }
    fs.renameSync(partial, final);
    fsyncDir(path.dirname(final));
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw error;
  } finally {
    unregister();
  }
  return { id: manifest.id, directory: final, files, format: manifest.payloadFormat };
}

/** What a prune must tell the operator besides its table: warnings, and the failure when it kept backups it could not judge. */
export function pruneFindings(plan: PrunePlan): { warnings: string[]; failure?: StorageError } {
  const warnings: string[] = [];
  const list = (items: Array<{ id: string }>) => items.map((item) => item.id).join(', ');
  for (const orphan of plan.orphans.filter((o) => o.skipped)) {
    warnings.push(
      `Left ${orphan.backups} backup${orphan.backups === 1 ? '' : 's'} of store "${orphan.store}" alone: the store is not in the config, so they may be its only copies. Add --include-orphans to apply the policy to them too.`,
    );
  }
  if (plan.futureDated.length > 0) {
    warnings.push(
      `${plan.futureDated.length} backup${plan.futureDated.length === 1 ? ' is' : 's are'} dated in the future (a clock was wrong when ${plan.futureDated.length === 1 ? 'it was' : 'they were'} taken): kept, and never counted as the newest: ${list(plan.futureDated)}.`,
    );
  }
  for (const store of plan.locked) warnings.push(`Store "${store}" is locked by another run: none of its backups were deleted this time.`);
  const kept = plan.damaged.filter((d) => !d.deleted);
  if (kept.length === 0) return { warnings };
  return {
    warnings,
    failure: new StorageError(
      'BAD_DATA',
      `${kept.length} backup${kept.length === 1 ? '' : 's'} cannot be judged and ${kept.length === 1 ? 'was' : 'were'} kept (damaged): ${kept.map((d) => `${d.id} (${d.problem})`).join('; ')}`,
      {
        hint: 'Prune never deletes what it cannot read. Check each with `storage backup verify ID`; if repo.json was replaced or lost, put back the original (keys/ holds a copy). Delete backups beyond saving with `storage backup prune --delete-damaged`.',
      },
    ),
  };
}
