// backup export: a backup decrypted into the vendor's own format (a pg_dump archive, a mongodump
// directory, a SQLite file), every path confined to the export directory.
import { loadEngine } from '../engines/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from '../cleanup.js';
import { StorageError } from '../errors.js';
import { silentProgress, type Progress } from '../progress.js';
import { fsyncDir } from '../system/files.js';
import { processAlive } from '../system/processes.js';
import type { BackupManifest } from '../repository/manifest.js';
import { readPayload } from '../repository/payload.js';
import { BackupRepository } from '../repository/repository.js';

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
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory())
    throw new StorageError('USAGE', `--out ${out} is not a directory.`, { hint: 'Name a directory to export into (it is created when missing).' });
  if (fs.existsSync(final))
    throw new StorageError('ALREADY_EXISTS', `${final} already exists.`, { hint: 'Choose another --out directory or remove it first.' });
  // Named by host and process: what a killed export of this backup left (decrypted data) is removed
  // by the next one on the same host once its process is gone; another host's is never touched.
  const prefix = `.${manifest.id}.partial-${os.hostname()}-`;
  const partial = path.resolve(out, `${prefix}${process.pid}`);
  for (const entry of fs.existsSync(out) ? fs.readdirSync(out) : []) {
    const pid = entry.startsWith(prefix) ? Number(entry.slice(prefix.length)) : NaN;
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) fs.rmSync(path.join(out, entry), { recursive: true, force: true });
  }
  fs.mkdirSync(out, { recursive: true });
  // Made here, never found: a name already taken in --out (a symlink planted in a shared directory such
  // as /tmp) would take the decrypted files wherever it points.
  try {
    fs.mkdirSync(partial, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new StorageError('ALREADY_EXISTS', `${partial} already exists; it was not made by this export.`, {
      hint: 'Export into a directory only you can write to, or remove it first.',
    });
  }
  const unregister = onCleanup(`the unfinished export ${partial}`, () => fs.rmSync(partial, { recursive: true, force: true }));
  const backup = await (await loadEngine(manifest.engine)).backup();
  const files: string[] = [];
  try {
    for (const file of manifest.files) {
      const relative = backup.exportName(manifest, file.name);
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
