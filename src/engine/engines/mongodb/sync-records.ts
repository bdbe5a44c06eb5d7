// Conflict checks on MongoDB: the per-row records a job keeps
// (baselines, pending conflicts) in the collection `storage_sync_records`. There are no
// transactions: records are written after the batch's documents and before its checkpoint, so a
// replayed batch finds its documents as written and its records set again.
import type { Db } from 'mongodb';
import type { SyncRecord } from '../spec.js';

const RECORDS = 'storage_sync_records';

interface RecordDocument {
  _id: string;
  job: string;
  kind: string;
  key: string;
  value: string;
}

const idOf = (record: { job: string; kind: string; key: string }) => `${record.kind}\u0000${record.job}\u0000${record.key}`;

export async function readRecords(db: Db, job: string, kind: SyncRecord['kind'], keys: string[] | undefined): Promise<Map<string, string>> {
  {
    const found = new Map<string, string>();
    if (!(await db.listCollections({ name: RECORDS }, { nameOnly: true }).hasNext())) return found;
    const filter = keys ? { _id: { $in: keys.map((key) => idOf({ job, kind, key })) } } : { job, kind };
    for (const document of await db.collection<RecordDocument>(RECORDS).find(filter).sort({ key: 1 }).toArray()) found.set(document.key, document.value);
    return found;
  }
}

export async function writeRecords(db: Db, records: SyncRecord[]): Promise<void> {
  if (records.length === 0) return;
  {
    await db.collection<RecordDocument>(RECORDS).bulkWrite(
      records.map((record) =>
        record.value === null
          ? { deleteOne: { filter: { _id: idOf(record) } } }
          : {
              replaceOne: {
                filter: { _id: idOf(record) },
                replacement: { job: record.job, kind: record.kind, key: record.key, value: record.value },
                upsert: true,
              },
            },
      ),
      { ordered: true },
    );
  }
}
