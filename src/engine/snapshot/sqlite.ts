// SQLite snapshots: the online backup API copies the database, consistently under concurrent
// writes, into a file beside it (`<db>__snap_<name>.db`). Restores stage a copy of the snapshot,
// fsync it, move the current file (with its WAL) aside and rename the copy into place.
import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { fsyncDir, fsyncFile } from '../backup/files.js';
import { countRows } from '../backup/sqlite.js';
import type { SqliteProvider } from '../providers/sqlite.js';
import type { Provider } from '../providers/types.js';
import type { SnapshotEngine } from './engine.js';

const SIDECARS = ['-wal', '-shm'];

function lite(provider: Provider): SqliteProvider {
  return provider as SqliteProvider;
}

async function copyInto(provider: Provider, sourceName: string, target: string): Promise<void> {
  const store = lite(provider);
  const sourceFile = store.fileFor(sourceName);
  const own = path.resolve(sourceFile) === path.resolve(store.file);
  const db = own ? await store.handle() : new Sqlite(sourceFile, { fileMustExist: true });
  try {
    await db.backup(target, { progress: () => 1_000_000_000 });
  } finally {
    if (!own) db.close();
  }
  fsyncFile(target);
}

function moveWithSidecars(from: string, to: string): void {
  fs.renameSync(from, to);
  for (const suffix of SIDECARS) if (fs.existsSync(`${from}${suffix}`)) fs.renameSync(`${from}${suffix}`, `${to}${suffix}`);
}

export const sqliteSnapshots: SnapshotEngine = {
  async defaultDatabase(provider) {
    return lite(provider).databaseName;
  },

  async create(provider, source, copy) {
    const target = lite(provider).fileFor(copy);
    await copyInto(provider, source, target);
    fsyncDir(path.dirname(target));
    return { method: 'online-backup' as const, sizeBytes: fs.statSync(target).size };
  },

  async restore(provider, record, { staged, previous }, journal) {
    const store = lite(provider);
    const stagedFile = store.fileFor(staged);
    const snapshot = new Sqlite(store.fileFor(record.copy), { readonly: true, fileMustExist: true });
    try {
      await snapshot.backup(stagedFile, { progress: () => 1_000_000_000 });
    } finally {
      snapshot.close();
    }
    fsyncFile(stagedFile);
    journal();
    const sourceFile = store.fileFor(record.source);
    if (path.resolve(sourceFile) === path.resolve(store.file)) await store.close();
    if (fs.existsSync(sourceFile)) moveWithSidecars(sourceFile, store.fileFor(previous));
    moveWithSidecars(stagedFile, sourceFile);
    fsyncDir(path.dirname(sourceFile));
  },

  async exists(provider, copy) {
    return fs.existsSync(lite(provider).fileFor(copy));
  },

  async drop(provider, copy) {
    const file = lite(provider).fileFor(copy);
    for (const suffix of ['', ...SIDECARS]) fs.rmSync(`${file}${suffix}`, { force: true });
  },

  async stats(provider, database) {
    const counts = countRows(lite(provider).fileFor(database));
    return Object.fromEntries(Object.entries(counts).map(([table, rows]) => [table, { rows, sizeBytes: null }]));
  },
};
