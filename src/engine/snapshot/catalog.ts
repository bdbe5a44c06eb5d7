// The snapshot catalog: one small JSON file per snapshot in the user data dir, so `snapshot list`
// works across restarts, plus a journal entry while a restore is under way, so an interrupted
// restore can be explained and finished.
import fs from 'node:fs';
import path from 'node:path';
import { userPaths } from '../config/paths.js';
import type { Engine } from '../config/schema.js';
import { StorageError } from '../errors.js';
import { writeFileAtomic } from '../system/files.js';
import type { RestorePhase } from '../restore-journal.js';

export interface SnapshotRecord {
  name: string;
  store: string;
  engine: Engine;
  /** The database (or SQLite database name) it is a copy of. */
  source: string;
  /** Where the copy lives: a database name, or a SQLite file. */
  copy: string;
  createdAt: string;
  durationMs: number;
  sizeBytes: number | null;
  method: 'template' | 'dump-restore' | 'collection-copy' | 'online-backup';
  tool: string;
  /**
   * Set while a restore from this snapshot is under way, written before its staging copy is made:
   * what may exist then, so a killed restore's leftovers are known and settled.
   */
  restoring?: SnapshotRestoring;
}

export interface SnapshotRestoring {
  startedAt: string;
  /** The copy being made of the snapshot (PostgreSQL, SQLite), renamed into place when complete. */
  staged: string;
  /** Where the data the restore replaces is kept. */
  previous: string;
  /** staging: copies are being made, the database is untouched; swapping: the database is being replaced. Absent in records of older versions (swapping). */
  phase?: RestorePhase;
}

export const SNAPSHOT_NAME = /^[a-z0-9][a-z0-9_]{0,29}$/;

export function catalogDir(): string {
  return process.env.STORAGE_SNAPSHOT_CATALOG ?? path.join(userPaths().data, 'snapshots');
}

function fileFor(store: string, name: string): string {
  return path.join(catalogDir(), store, `${name}.json`);
}

export function saveSnapshot(record: SnapshotRecord): void {
  writeFileAtomic(fileFor(record.store, record.name), `${JSON.stringify(record, null, 2)}\n`);
}

export function removeSnapshotRecord(store: string, name: string): void {
  fs.rmSync(fileFor(store, name), { force: true });
}

export function listSnapshots(store?: string): SnapshotRecord[] {
  const dir = catalogDir();
  if (!fs.existsSync(dir)) return [];
  const stores = store ? [store] : fs.readdirSync(dir);
  const records: SnapshotRecord[] = [];
  for (const name of stores) {
    const storeDir = path.join(dir, name);
    if (!fs.existsSync(storeDir)) continue;
    for (const file of fs.readdirSync(storeDir).filter((entry) => entry.endsWith('.json'))) {
      try {
        records.push(JSON.parse(fs.readFileSync(path.join(storeDir, file), 'utf8')) as SnapshotRecord);
      } catch {
        // A half-written record cannot exist (atomic writes); an unreadable one is skipped.
      }
    }
  }
  return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
}

/** A snapshot by name; several stores may use one name, then the store must be given. */
export function findSnapshot(name: string, store?: string): SnapshotRecord {
  const matches = listSnapshots(store).filter((record) => record.name === name);
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    throw new StorageError('NOT_FOUND', `No snapshot named "${name}"${store ? ` of store "${store}"` : ''}.`, { hint: 'See `storage snapshot list`.' });
  }
  throw new StorageError('USAGE', `Several stores have a snapshot named "${name}": ${matches.map((m) => m.store).join(', ')}.`, { hint: 'Add --store STORE.' });
}
