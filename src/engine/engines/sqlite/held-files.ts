// Descriptors of SQLite files that backups read beside SQLite. POSIX record locks belong to the
// process, and closing any descriptor of a file drops all of them, SQLite's own too (a WAL
// reader's SHARED lock, a read transaction's): such a descriptor is therefore closed only by its
// owner, after its SQLite connections to the file are closed. Kept apart from pages.ts so the
// provider needs no SQLite binding to hold one.
import fs from 'node:fs';

/** Descriptors of database files opened for reading, one per file (device and inode), closed together by their owner. */
export class HeldFiles {
  private readonly fds = new Map<string, number>();

  /** A descriptor of `file` for reading: the one already held for the same file, or a new one. */
  open(file: string): number {
    const stat = fs.statSync(file);
    const key = `${stat.dev}:${stat.ino}`;
    const held = this.fds.get(key);
    if (held !== undefined) return held;
    const fd = fs.openSync(file, 'r');
    const opened = fs.fstatSync(fd);
    // Whatever was opened is kept (closing it would drop SQLite's locks); a file swapped in between is refused.
    this.fds.set(`${opened.dev}:${opened.ino}`, fd);
    if (opened.dev !== stat.dev || opened.ino !== stat.ino) throw new Error(`${file} was replaced while a backup opened it`);
    return fd;
  }

  /** Closes every descriptor: only once no SQLite connection of this process has these files open. */
  closeAll(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}
