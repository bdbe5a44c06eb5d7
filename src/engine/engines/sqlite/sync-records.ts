// Conflict checks on SQLite: the per-row records a job keeps
// (baselines, pending conflicts) in `storage_sync_records`, written in the batch's transaction.
import type { Database } from 'better-sqlite3';
import type { SyncRecord } from '../spec.js';

const RECORDS = 'storage_sync_records';
export const CHUNK = 500;

export function readRecords(db: Database, job: string, kind: SyncRecord['kind'], keys?: string[]): Map<string, string> {
  const found = new Map<string, string>();
  if (!db.prepare(`select 1 from sqlite_master where type = 'table' and name = ?`).get(RECORDS)) return found;
  if (!keys) {
    for (const row of db.prepare(`select key, value from ${RECORDS} where job = ? and kind = ? order by key`).all(job, kind) as Array<{
      key: string;
      value: string;
    }>)
      found.set(row.key, row.value);
    return found;
  }
  for (let at = 0; at < keys.length; at += CHUNK) {
    const chunk = keys.slice(at, at + CHUNK);
    const rows = db
      .prepare(`select key, value from ${RECORDS} where job = ? and kind = ? and key in (${chunk.map(() => '?').join(', ')})`)
      .all(job, kind, ...chunk) as Array<{ key: string; value: string }>;
    for (const row of rows) found.set(row.key, row.value);
  }
  return found;
}

/** Inside the caller's transaction: upserts the records with a value, deletes those without. */
export function writeRecords(db: Database, records: SyncRecord[]): void {
  if (records.length === 0) return;
  db.exec(
    `create table if not exists ${RECORDS} (job text not null, kind text not null, key text not null, value text not null, primary key (job, kind, key))`,
  );
  const upsert = db.prepare(
    `insert into ${RECORDS} (job, kind, key, value) values (?, ?, ?, ?) on conflict (job, kind, key) do update set value = excluded.value`,
  );
  const remove = db.prepare(`delete from ${RECORDS} where job = ? and kind = ? and key = ?`);
  for (const record of records)
    if (record.value === null) remove.run(record.job, record.kind, record.key);
    else upsert.run(record.job, record.kind, record.key, record.value);
}
