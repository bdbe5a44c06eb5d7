// Backup operations as the CLI and cron use them: create, list, verify, restore, prune.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { onCleanup, runInterrupted } from '../cleanup.js';
import { configRelative, type ResolvedStore } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import { userPaths } from '../config/paths.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { describeFailure } from '../providers/failures.js';
import { storeTarget } from '../providers/target.js';
import { DEFAULT_CHUNK_SIZE } from './crypto.js';
import { engineBackup, silentProgress, type Progress } from './engine.js';
import { fsyncDir } from './files.js';
import { resolveKeySource } from './keys.js';
import { StoreLock } from './lock.js';
import type { BackupManifest, SealedManifest } from './manifest.js';
import { discard, readPayload } from './payload.js';
import { BackupRepository, storeOfBackupId, type BackupEntry, type VerificationRecord, type VerifyLevel } from './repository.js';
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
  if (!options.create && !fs.existsSync(path.join(root, 'repo.json'))) {
    throw new StorageError('NOT_FOUND', `There is no backup repository at ${root} yet.`, {
      hint: 'Take a first backup with `storage backup create`, or point backup.repository in the config at an existing repository.',
    });
  }
  return BackupRepository.open(root, await resolveKeySource(fleet.config, options.env ?? process.env, fleet.secrets), (message) => progress.warn(message));
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
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
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
    throw describeFailure(store, error);
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
      const failure = describeFailure(store, error);
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
      for (const file of manifest.files) await readPayload(dir, file, { key, context: `${manifest.id}/${file.name}` }, discard());
      done();
    }
    if (problems.length === 0 && level === 'restore-test') problems.push(...(await restoreTest(fleet, repo, manifest, progress)));
  } catch (error) {
    if (!(error instanceof StorageError) || !['BAD_DATA', 'NOT_FOUND'].includes(error.code)) throw error;
    if (error.code === 'NOT_FOUND') throw error;
    problems.push(error.message);
  }
  let record: VerificationRecord = { level, ok: problems.length === 0, at: new Date().toISOString(), problems };
  if (options.record !== false && fs.existsSync(repo.backupDir(id))) record = repo.recordVerification(id, record);
  return { id, store: manifest?.store ?? storeOfBackupId(id), ...record };
}

async function restoreTest(fleet: Fleet, repo: BackupRepository, manifest: SealedManifest, progress: Progress): Promise<string[]> {
  const store = fleet.store(manifest.store);
  const engine = await engineBackup(store.engine);
  const provider = await fleet.provider(store);
  const scratchDb = `storage_verify_${randomBytes(4).toString('hex')}`;
  const scratch = repo.scratch(`verify-${manifest.id}`);
  const unregister = onCleanup(`the restore test of ${manifest.id} (its scratch database and files)`, async () => {
    fs.rmSync(scratch, { recursive: true, force: true });
    await engine.drop(provider, scratchDb);
  });
  try {
    await engine.restore({
      manifest,
      dir: repo.backupDir(manifest.id),
      key: repo.dataKey(manifest),
      store,
      provider,
      database: scratchDb,
      replace: false,
      scratch,
      progress,
    });
    const done = progress.step('compare row counts with the manifest');
    const counts = await engine.count(provider, scratchDb);
    const problems: string[] = [];
    for (const [table, expected] of Object.entries(manifest.counts)) {
      if (counts[table] !== expected) problems.push(`${table}: ${counts[table] ?? 'missing'} rows restored, ${expected} backed up`);
    }
    for (const table of Object.keys(counts)) if (!(table in manifest.counts)) problems.push(`${table}: restored but not in the manifest`);
    done(problems.length ? `${problems.length} mismatch(es)` : `${Object.keys(counts).length} tables match`);
    return problems;
  } finally {
    await engine.drop(provider, scratchDb).catch(() => undefined);
    fs.rmSync(scratch, { recursive: true, force: true });
    unregister();
  }
}

export interface RestoreRequest {
  id: string;
  to: string;
  database?: string;
  confirm?: string;
  parallel?: number;
}

export interface RestoreOutcome {
  id: string;
  store: string;
  database: string;
  previous?: string;
  /** Rows per table / documents per collection as recorded at backup time (not recounted: that costs a full scan). */
  backedUpCounts: Record<string, number>;
}

export interface RestoreTarget {
  manifest: SealedManifest;
  store: ResolvedStore;
  database: string;
  state: 'absent' | 'empty' | 'non-empty';
}

/** Where a restore would write, and whether that holds data (which then needs confirmation). */
export async function restoreTarget(fleet: Fleet, repo: BackupRepository, request: RestoreRequest): Promise<RestoreTarget> {
  const manifest = repo.readManifest(request.id);
  const store = fleet.store(request.to);
  if (store.engine !== manifest.engine) {
    throw new StorageError('USAGE', `Backup ${manifest.id} is of a ${manifest.engine} store; "${store.name}" is ${store.engine}.`, {
      hint: `Restore it to a ${manifest.engine} store.`,
    });
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 12);
  const database = request.database ?? `${manifest.database}_restore_${stamp}`;
  const engine = await engineBackup(store.engine);
  const state = await engine.targetState(await fleet.provider(store), database);
  return { manifest, store, database, state };
}

export async function restoreBackup(
  fleet: Fleet,
  repo: BackupRepository,
  request: RestoreRequest,
  progress: Progress = silentProgress,
): Promise<RestoreOutcome> {
  const { manifest, store, database, state } = await restoreTarget(fleet, repo, request);
  if (state === 'non-empty' && request.confirm !== database) {
    throw new StorageError(
      request.confirm === undefined ? 'CONFIRMATION_REQUIRED' : 'CONFIRMATION_MISMATCH',
      `Database "${database}" on store "${store.name}" holds data; restoring replaces it.`,
      {
        hint: `Confirm with --confirm ${shellQuote(database)}, or restore into a new database with --database NEW_NAME (the default).`,
      },
    );
  }
  const engine = await engineBackup(store.engine);
  const provider = await fleet.provider(store);
  // The data key opens (right repository key) before anything is touched; the engines check every byte before writing.
  const key = repo.dataKey(manifest);
  const lock = StoreLock.acquire(repo.locksDir, store.name, `storage backup restore ${manifest.id}`, (message) => progress.warn(message));
  const scratch = repo.scratch(`restore-${manifest.id}`);
  const unregister = onCleanup(`the scratch files of the restore of ${manifest.id}`, () => fs.rmSync(scratch, { recursive: true, force: true }));
  try {
    const result = await engine.restore({
      manifest,
      dir: repo.backupDir(manifest.id),
      key,
      store,
      provider,
      database,
      replace: state !== 'absent',
      scratch,
      progress,
      parallel: request.parallel,
    });
    return { id: manifest.id, store: store.name, database: result.database, previous: result.previous, backedUpCounts: manifest.counts };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    unregister();
    lock.release();
  }
}

export function policyFromConfig(fleet: Fleet): RetentionPolicy {
  const retention = fleet.config.file.backup?.retention ?? {};
  return { ...retention, keepWithinMs: retention.keepWithin ? parseDuration(retention.keepWithin) : undefined };
}

export interface PrunePlan extends RetentionDecision {
  sweep: Array<{ id: string; status: string }>;
  dryRun: boolean;
}

export function pruneBackups(repo: BackupRepository, policy: RetentionPolicy, options: { dryRun: boolean; store?: string; now?: number }): PrunePlan {
  const entries = listBackups(repo, options.store);
  const complete = entries
    .filter((entry) => entry.status === 'complete')
    .map((entry) => ({ id: entry.id, store: entry.manifest!.store, startedAt: entry.manifest!.startedAt }));
  const decision = applyRetention(complete, policy); // refuses an empty policy even with nothing to prune
  const now = options.now ?? Date.now();
  const sweep = entries
    .filter((entry) => (entry.status === 'incomplete' || entry.status === 'damaged') && now - Date.parse(entry.createdAt) > LEFTOVER_AGE_MS)
    .map((entry) => ({ id: entry.id, status: entry.status }));
  if (!options.dryRun) {
    for (const { id } of [...decision.remove, ...sweep]) {
      // Move the whole directory out first, so a half-deleted backup never looks complete.
      const doomed = path.join(repo.scratch('prune'), id);
      fs.renameSync(repo.backupDir(id), doomed);
      fs.rmSync(path.dirname(doomed), { recursive: true, force: true });
    }
  }
  return { ...decision, sweep, dryRun: options.dryRun };
}

/** Where each payload file lands in an export: the vendor's own layout. */
function exportPath(manifest: BackupManifest, name: string, mongodumpPath: (name: string) => string): string {
  if (manifest.payloadFormat === 'pg_dump-custom') return `${manifest.database}.dump`;
  if (manifest.payloadFormat === 'sqlite-file') return `${manifest.database}.db`;
  return mongodumpPath(name);
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
  const final = path.resolve(out, manifest.id);
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
      const target = path.join(partial, relative);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const done = progress.step(`decrypt ${relative}`);
      await readPayload(repo.backupDir(manifest.id), file, { key, context: `${manifest.id}/${file.name}` }, fs.createWriteStream(target, { mode: 0o600 }));
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
