// The file SQLite really opens for a configured path. Its unix VFS follows symbolic links (the
// file's and its directories', a link whose target does not exist yet included) and keeps the
// database's -wal, -shm and -journal files beside the file it reaches, not beside the link. The
// provider resolves a store's file here once, so every file operation of the engine (sizes, the
// WAL read by backups, snapshot and staging copies, renames, removals) happens where SQLite keeps
// the data, and a link the operator made stays a link pointing where it did.
import fs from 'node:fs';
import path from 'node:path';

/** Links followed at most, as the kernel does before ELOOP. */
const MAX_LINKS = 40;

/** `file` with its symlinks followed as SQLite follows them; as far as it resolves when a directory is missing. */
export function realFile(file: string): string {
  let current = path.resolve(file);
  for (let hop = 0; hop < MAX_LINKS; hop++) {
    let dir: string;
    try {
      dir = fs.realpathSync(path.dirname(current));
    } catch {
      return current; // a directory that does not exist (yet): nothing further to follow
    }
    current = path.join(dir, path.basename(current));
    let target: string;
    try {
      target = fs.readlinkSync(current);
    } catch {
      return current; // a regular file, or none (yet): this is the file
    }
    current = path.resolve(dir, target);
  }
  return current;
}
