// Durable file writes: write to a temp name, fsync, rename, fsync the directory. A reader sees
// the old file or the new one, never half of one, even after a crash.
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir } from './private-dir.js';

function fsyncPath(target: string, flags: 'r' | 'r+'): void {
  const fd = fs.openSync(target, flags);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  fsyncPath(dir, 'r');
}

export function fsyncFile(file: string): void {
  fsyncPath(file, 'r+');
}

/**
 * Eight random hex digits for a temporary file's name. node:crypto (~20 internal modules) loads on
 * the first call, not with this module: `db health` and `--help` never need it (start-up, issue 16).
 */
export function randomSuffix(): string {
  return process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex');
}

function writeTemp(file: string, data: string | Buffer, mode: number): string {
  const dir = path.dirname(file);
  ensurePrivateDir(dir);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(temp, 'w', mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return temp;
}

export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const temp = writeTemp(file, data, mode);
  fs.renameSync(temp, file);
  fsyncDir(path.dirname(file));
}

/**
 * Writes a whole file only if none is there yet (linked into place, so a reader never sees half
 * of it). Returns false, writing nothing, when another process got there first.
 */
export function writeFileExclusive(file: string, data: string | Buffer, mode = 0o600): boolean {
  const temp = writeTemp(file, data, mode);
  try {
    fs.linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
  fsyncDir(path.dirname(file));
  return true;
}

/**
 * A name taken from backup content (a database or collection name), as one plain file name:
 * path separators and NUL are percent-encoded, and so is a leading dot (no `..`, no hidden files),
 * so it can never climb out of the directory it is written into.
 */
export function fileNameSafe(name: string): string {
  return name.replace(/[/\\\0]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`).replace(/^\./, '%2E');
}
