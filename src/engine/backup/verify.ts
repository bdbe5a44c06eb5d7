// backup verify: files (the manifest's seal, every file at its size), read-data (every byte
// decrypted and re-hashed) and restore-test (restored into a scratch database, counts compared).
import { journalled } from './restore.js';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkDerivedName } from '../derived-names.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { fileSystemReason, isFileSystemError } from '../system/fs-errors.js';
import { removeJournal } from '../restore-journal.js';
import { holdScratch } from '../system/scratch-registry.js';
import { silentProgress, type Progress } from '../progress.js';
import type { SealedManifest } from '../repository/manifest.js';
import { discard, readPayload } from '../repository/payload.js';
import { storeOfBackupId } from '../repository/layout.js';
import { BackupRepository, type VerificationRecord, type VerifyLevel } from '../repository/repository.js';

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
  const { spec, provider, impl: engine } = await fleet.capability(store.name, 'backup');
  const scratchDb = `storage_verify_${randomBytes(4).toString('hex')}`;
  checkDerivedName(spec, scratchDb);
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
    // Estimated counts (backup.rowCounts: estimate) say which tables there were, not exactly how many rows.
    const estimated = manifest.rowCounts === 'estimate';
    for (const [table, expected] of Object.entries(manifest.counts)) {
      if (counts[table] === undefined) problems.push(`${table}: missing after the restore, backed up with ${expected} rows${estimated ? ' (estimated)' : ''}`);
      else if (!estimated && counts[table] !== expected) problems.push(`${table}: ${counts[table]} rows restored, ${expected} backed up`);
    }
    for (const table of Object.keys(counts)) if (!(table in manifest.counts)) problems.push(`${table}: restored but not in the manifest`);
    done(
      problems.length
        ? `${problems.length} mismatch(es)`
        : `${Object.keys(counts).length} ${engine.countedThings.many} match${estimated ? ' (the backup has estimated row counts: tables compared, not rows)' : ''}`,
    );
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
