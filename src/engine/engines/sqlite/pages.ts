// A SQLite database's snapshot read page by page, in one pass: the pages a read transaction sees,
// streamed straight into the backup's compress → encrypt → hash pipeline (no copy written first
// and read back), with each table's row count taken from the same pages on the way.
//
// Why the file can be read beside SQLite while a read transaction is open:
// - Rollback-journal modes (delete, truncate, persist, memory, off): the read transaction holds a
//   SHARED lock on the file; no writer can change it until the transaction ends. Writers wait
//   (their busy timeout) for the length of the read, as they do for the online backup API.
// - WAL: the snapshot is the main file's pages overlaid with the WAL frames committed up to the
//   snapshot. While our read mark is held, a checkpoint copies no frame past it into the main file
//   and the WAL is not restarted under it, so the main file's other pages stay as the snapshot
//   has them. To know exactly which frames are ours, writers are held off (BEGIN IMMEDIATE on a
//   second connection) for the moment it takes to open the read transaction and read the WAL's
//   committed frames, checksums checked as SQLite's own recovery does; those pages are kept in
//   memory (bounded: beyond WAL_BYTES_LIMIT the caller falls back to the backup API).
//   Writers then go on while the main file is read.
// The main file's descriptor is never closed here but kept in a HeldFiles (see held-files.ts).
import fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { HeldFiles } from './held-files.js';
import { ZSTD_BLOCK_SIZE } from '../../repository/zstd.js';
import { openDatabase } from './driver.js';
import { realFile } from './real-file.js';

/** The WAL's pages kept in memory at most (32 MiB; SQLite's automatic checkpoints keep a WAL near 4 MiB); a bigger WAL makes the caller use the backup API. */
export const WAL_BYTES_LIMIT = 32 * 1024 * 1024;
/** Bytes per piece read from the main file: one zstd block, handed on without being joined or cut. */
const READ_BYTES = ZSTD_BLOCK_SIZE;

/** The WAL's committed frames, as SQLite's recovery reads them: latest version of each page, and the database's size after the last commit. */
export function readWal(file: string, pageSize: number): { pages: Map<number, Buffer>; dbPages: number } | 'too-big' {
  const empty = { pages: new Map<number, Buffer>(), dbPages: 0 };
  let fd: number;
  try {
    fd = fs.openSync(`${file}-wal`, 'r'); // no SQLite lock is ever taken on the WAL file itself: closing it drops none
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw error;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const header = Buffer.alloc(32);
    if (size < 32 || fs.readSync(fd, header, 0, 32, 0) < 32) return empty;
    const magic = header.readUInt32BE(0);
    if ((magic & 0xfffffffe) !== 0x377f0682) return empty;
    const bigEndian = (magic & 1) === 1;
    if (header.readUInt32BE(8) !== pageSize) return empty; // a WAL of another page size is not in use (SQLite ignores it too)
    let [s1, s2] = walChecksum(bigEndian, header.subarray(0, 24), 0, 0);
    if (s1 !== header.readUInt32BE(24) || s2 !== header.readUInt32BE(28)) return empty;
    const salt1 = header.readUInt32BE(16);
    const salt2 = header.readUInt32BE(20);
    const frameBytes = 24 + pageSize;
    const committed = new Map<number, Buffer>();
    let pending = new Map<number, Buffer>();
    let dbPages = 0;
    let held = 0;
    const frame = Buffer.alloc(frameBytes);
    for (let offset = 32; offset + frameBytes <= size; offset += frameBytes) {
      if (fs.readSync(fd, frame, 0, frameBytes, offset) < frameBytes) break;
      const pageNumber = frame.readUInt32BE(0);
      const commitSize = frame.readUInt32BE(4);
      if (pageNumber === 0 || frame.readUInt32BE(8) !== salt1 || frame.readUInt32BE(12) !== salt2) break;
      [s1, s2] = walChecksum(bigEndian, frame.subarray(0, 8), s1, s2);
      [s1, s2] = walChecksum(bigEndian, frame.subarray(24), s1, s2);
      if (s1 !== frame.readUInt32BE(16) || s2 !== frame.readUInt32BE(20)) break;
      if (!pending.has(pageNumber) && !committed.has(pageNumber)) held += pageSize;
      if (held > WAL_BYTES_LIMIT) return 'too-big';
      pending.set(pageNumber, Buffer.from(frame.subarray(24)));
      if (commitSize > 0) {
        for (const [page, data] of pending) committed.set(page, data);
        pending = new Map();
        dbPages = commitSize;
      }
    }
    return { pages: committed, dbPages };
  } finally {
    fs.closeSync(fd);
  }
}

/** SQLite's WAL checksum (two 32-bit sums over 32-bit words, in the byte order the magic number names). */
function walChecksum(bigEndian: boolean, data: Buffer, s1: number, s2: number): [number, number] {
  for (let i = 0; i < data.length; i += 8) {
    const x0 = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i);
    const x1 = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4);
    s1 = (s1 + x0 + s2) >>> 0;
    s2 = (s2 + x1 + s1) >>> 0;
  }
  return [s1, s2];
}

/**
 * Row counts from the b-tree pages as they pass: for each page its type and cell count, and for
 * interior pages their children. After the last page each table's tree is walked from its root:
 * a rowid table's rows are its leaf cells, a WITHOUT ROWID table's every cell. Overflow, freelist
 * and pointer-map pages are recorded too but never reached from a root. About 4 bytes per page
 * (3 MB for a 3 GB file of 4 KiB pages).
 */
export class TreeCounter {
  private readonly kind: Uint8Array;
  private readonly cells: Uint16Array;
  private readonly children = new Map<number, Uint32Array>();
  private seen?: Uint8Array;

  constructor(
    private readonly pageCount: number,
    private readonly pageSize: number,
  ) {
    this.kind = new Uint8Array(pageCount + 1);
    this.cells = new Uint16Array(pageCount + 1);
  }

  /** One page (numbered from 1), as the snapshot has it: `pageSize` bytes of `data` from `start`. */
  add(pageNumber: number, data: Buffer, start: number): void {
    const at = start + (pageNumber === 1 ? 100 : 0);
    const kind = data[at];
    if (kind !== 0x0d && kind !== 0x05 && kind !== 0x0a && kind !== 0x02) return;
    const cells = data.readUInt16BE(at + 3);
    this.kind[pageNumber] = kind;
    this.cells[pageNumber] = cells;
    if (kind === 0x05 || kind === 0x02) {
      // Interior: each cell starts with its left child; the right-most child is in the header.
      const pointers = at + 12;
      if (pointers + 2 * cells > start + this.pageSize) return void (this.kind[pageNumber] = 0);
      const list = new Uint32Array(cells + 1);
      for (let i = 0; i < cells; i++) {
        const cell = data.readUInt16BE(pointers + 2 * i);
        if (cell + 4 > this.pageSize) return void (this.kind[pageNumber] = 0);
        list[i] = data.readUInt32BE(start + cell);
      }
      list[cells] = data.readUInt32BE(at + 8);
      this.children.set(pageNumber, list);
    }
  }

  /** The rows of the tree rooted at `root`; undefined when the pages do not form a b-tree (the caller counts with SQL). */
  rows(root: number): number | undefined {
    let rows = 0;
    const stack = [root];
    // Trees share no page: one map of the pages seen serves every table (and stops a cycle).
    this.seen ??= new Uint8Array(this.pageCount + 1);
    while (stack.length > 0) {
      const page = stack.pop()!;
      if (page < 1 || page > this.pageCount || this.seen[page]) return undefined;
      this.seen[page] = 1;
      const kind = this.kind[page];
      if (kind === 0x0d || kind === 0x0a) rows += this.cells[page];
      else if (kind === 0x05 || kind === 0x02) {
        if (kind === 0x02) rows += this.cells[page];
        const list = this.children.get(page);
        if (!list) return undefined;
        for (const child of list) stack.push(child);
      } else return undefined;
    }
    return rows;
  }
}

export interface SnapshotReader {
  pageSize: number;
  pageCount: number;
  /** The snapshot's bytes, in order, from page 1 to the last. */
  pages: () => AsyncGenerator<Buffer>;
  /** Rows per table (as `count(*)` in the snapshot says), once `pages` has been read to its end. */
  counts: () => Record<string, number>;
  /** Ends the read transaction (always call it). */
  end: () => void;
}

/**
 * Opens a read transaction on `db` and returns its snapshot as a page reader; undefined when this
 * way cannot be used (a WAL database whose writers cannot be held off for a moment — a read-only
 * file or connection — or whose WAL holds more than WAL_BYTES_LIMIT): the caller copies with the
 * backup API instead.
 */
export function openSnapshot(db: Database, held: HeldFiles): SnapshotReader | undefined {
  // A transaction of the caller's own is not ours to end.
  if (db.inTransaction) return undefined;
  // SQLite follows a symlink to the real file, and keeps its WAL beside that file, not beside the link.
  const file = realFile(db.name);
  const wal = String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
  let overlay = new Map<number, Buffer>();
  let walPages = 0;
  let blocker: Database | undefined;
  let handedOver = false;
  try {
    if (wal) {
      try {
        blocker = openDatabase(file, { fileMustExist: true, timeout: Number(db.pragma('busy_timeout', { simple: true })) });
        blocker.exec('begin immediate');
      } catch {
        return undefined;
      }
    }
    db.exec('begin');
    // The first read opens the snapshot (and, in rollback modes, takes the SHARED lock).
    db.prepare('select count(*) from sqlite_master').get();
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    const pageCount = Number(db.pragma('page_count', { simple: true }));
    if (wal) {
      const frames = readWal(file, pageSize);
      if (frames === 'too-big') return undefined;
      overlay = frames.pages;
      walPages = frames.dbPages;
      // The WAL as read must be the snapshot SQLite opened: the same size of database.
      if (walPages !== 0 && walPages !== pageCount) return undefined;
    }
    blocker?.exec('rollback');
    blocker?.close();
    blocker = undefined;
    const fd = held.open(file);
    const tables = db.prepare("select name, rootpage from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all() as {
      name: string;
      rootpage: number;
    }[];
    const counter = new TreeCounter(pageCount, pageSize);
    async function* pages(): AsyncGenerator<Buffer> {
      const perRead = Math.max(1, Math.floor(READ_BYTES / pageSize));
      const read = async (first: number): Promise<Buffer> => {
        const count = Math.min(perRead, pageCount - first + 1);
        const buffer = Buffer.allocUnsafe(count * pageSize);
        let filled = 0;
        while (filled < buffer.length) {
          const { bytesRead } = await new Promise<{ bytesRead: number }>((resolve, reject) =>
            fs.read(fd, buffer, filled, buffer.length - filled, (first - 1) * pageSize + filled, (error, bytesRead) =>
              error ? reject(error) : resolve({ bytesRead }),
            ),
          );
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        for (let i = 0; i < count; i++) {
          const number = first + i;
          const page = overlay.get(number);
          if (page) page.copy(buffer, i * pageSize);
          else if ((i + 1) * pageSize > filled) throw new Error(`page ${number} is neither in ${file} nor in its WAL`);
          counter.add(number, buffer, i * pageSize);
        }
        return buffer;
      };
      // One read ahead: the disk works while the previous piece is compressed.
      let next = pageCount > 0 ? read(1) : undefined;
      for (let first = 1; first <= pageCount; first += perRead) {
        const buffer = await next!;
        next = first + perRead <= pageCount ? read(first + perRead) : undefined;
        next?.catch(() => undefined); // awaited on the next turn
        yield buffer;
      }
    }
    const counts = () => {
      const out: Record<string, number> = {};
      for (const { name, rootpage } of tables) {
        const rows = rootpage > 0 ? counter.rows(rootpage) : undefined;
        // Virtual tables (no pages of their own), or pages that are no b-tree: SQLite counts, in the same snapshot.
        out[name] = rows ?? (db.prepare(`select count(*) as n from "${name.replace(/"/g, '""')}"`).get() as { n: number }).n;
      }
      return out;
    };
    handedOver = true;
    return { pageSize, pageCount, pages, counts, end: () => (db.inTransaction ? db.exec('commit') : undefined) };
  } finally {
    try {
      blocker?.exec('rollback');
    } catch {
      // it never began
    }
    blocker?.close();
    if (!handedOver && db.inTransaction) db.exec('commit');
  }
}
