// Durable file writes: write to a temp name, fsync, rename, fsync the directory. A reader sees
// the old file or the new one, never half of one, even after a crash.
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir } from '../private-dir.js';

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

export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
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
  fs.renameSync(temp, file);
  fsyncDir(dir);
}
