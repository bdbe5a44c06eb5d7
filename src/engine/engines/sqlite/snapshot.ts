// SQLite snapshots: the online backup API copies the database, consistently under concurrent
// writes, into a file beside it (`<db>__snap_<name>.db`) with the database file's own mode.
// Restores stage a copy of the snapshot, fsync it, move the current file (with its WAL) aside and
// rename the copy into place; a file that others have open is not replaced without --force.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, fsyncFile } from '../../system/files.js';
import { countRows } from './backup.js';
import { createFileWithMode, moveWithSideFiles, refuseSymlinkedFile, removeWithSideFiles, type SqliteProvider } from './provider.js';
import { settleStaged, type StagingOps } from '../../restore-journal.js';
import type { SnapshotCapability } from '../spec.js';
import { openDatabase } from './driver.js';

/** Copies database `sourceName` of the store into `target` (a new file of `mode`) with the online backup API. */
async function copyInto(provider: SqliteProvider, sourceName: string, target: string, mode: number): Promise<void> {
  const store = provider;
  const own = store.isOwn(sourceName);
  fs.closeSync(createFileWithMode(target, mode));
  try {
    const db = own ? await store.handle() : openDatabase(store.fileFor(sourceName), { readonly: true, fileMustExist: true });
    try {
      await db.backup(target, { progress: () => 1_000_000_000 });
    } finally {
      if (!own) db.close();
    }
    fsyncFile(target);
  } catch (error) {
    removeWithSideFiles(target);
    throw error;
  }
}

function stagingOps(provider: SqliteProvider): StagingOps {
  const store = provider;
  return {
    exists: async (name) => fs.existsSync(store.fileFor(name)),
    drop: async (name) => removeWithSideFiles(store.fileFor(name)),
    rename: async (from, to) => {
      moveWithSideFiles(store.fileFor(from), store.fileFor(to));
      fsyncDir(path.dirname(store.fileFor(to)));
    },
  };
}

export const sqliteSnapshots: SnapshotCapability<SqliteProvider> = {
  async defaultDatabase(provider) {
    return provider.databaseName;
  },

  async create(provider, source, copy) {
    const store = provider;
    const target = store.fileFor(copy);
    await copyInto(provider, source, target, store.fileMode(source));
    fsyncDir(path.dirname(target));
    return { method: 'online-backup' as const, sizeBytes: fs.statSync(target).size };
  },

  async restore(provider, record, { staged, previous }, journal, { force }) {
    const store = provider;
    const consequence = 'whoever still has it open keeps writing to the replaced file, kept aside';
    await store.refuseIfInUse(record.source, { force, action: 'rolling it back', consequence });
    const sourceFile = store.fileFor(record.source);
    const stagedFile = store.fileFor(staged);
    refuseSymlinkedFile(
      sourceFile,
      store.store.name,
      `roll database "${record.source}" back to snapshot "${record.name}"`,
      "copy the snapshot's file into place yourself.",
    );
    journal('staging');
    // The restored file keeps the live file's mode (the snapshot's when there is no live file).
    const mode = fs.existsSync(sourceFile) ? store.fileMode(record.source) : store.fileMode(record.copy);
    await copyInto(provider, record.copy, stagedFile, mode);
    journal('swapping');
    // Checked again at the last moment: a process that opened the file meanwhile would write to the replaced copy.
    await store.refuseIfInUse(record.source, { force, action: 'rolling it back', consequence });
    if (store.isOwn(record.source)) await store.close();
    if (fs.existsSync(sourceFile)) moveWithSideFiles(sourceFile, store.fileFor(previous));
    moveWithSideFiles(stagedFile, sourceFile);
    fsyncDir(path.dirname(sourceFile));
  },

  async settleRestore(provider, record, restoring) {
    return settleStaged(stagingOps(provider), { database: record.source, staged: restoring.staged, phase: restoring.phase ?? 'swapping' });
  },

  async exists(provider, copy) {
    return fs.existsSync(provider.fileFor(copy));
  },

  async drop(provider, copy) {
    removeWithSideFiles(provider.fileFor(copy));
  },

  async stats(provider, database) {
    const counts = countRows(provider.fileFor(database));
    return Object.fromEntries(Object.entries(counts).map(([table, rows]) => [table, { rows, sizeBytes: null }]));
  },
};
