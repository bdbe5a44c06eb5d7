// Conflict checks on PostgreSQL: the per-row records a job keeps
// (baselines, pending conflicts) in `storage_sync_records`, written in the batch's transaction.
import type { Client } from 'pg';
import type { SyncRecord } from '../spec.js';

const RECORDS = 'storage_sync_records';
export const CHUNK = 5000;

export async function readRecords(client: Client, job: string, kind: SyncRecord['kind'], keys: string[] | undefined): Promise<Map<string, string>> {
  {
    const found = new Map<string, string>();
    if (!(await client.query('select to_regclass($1) as oid', [RECORDS])).rows[0].oid) return found;
    const chunks = keys ? Array.from({ length: Math.ceil(keys.length / CHUNK) }, (_, i) => keys.slice(i * CHUNK, (i + 1) * CHUNK)) : [undefined];
    for (const chunk of chunks) {
      const result = await client.query(
        `select key, value from ${RECORDS} where job = $1 and kind = $2${chunk ? ' and key = any($3::text[])' : ''} order by key`,
        chunk ? [job, kind, chunk] : [job, kind],
      );
      for (const row of result.rows) found.set(row.key, row.value);
    }
    return found;
  }
}

/** Inside the caller's transaction: upserts the records with a value, deletes those without. */
export async function writeRecords(client: Client, records: SyncRecord[]): Promise<void> {
  if (records.length === 0) return;
  await client.query(
    `create table if not exists ${RECORDS} (job text not null, kind text not null, key text not null, value text not null, primary key (job, kind, key))`,
  );
  const kept = records.filter((record) => record.value !== null);
  const gone = records.filter((record) => record.value === null);
  if (kept.length)
    await client.query(
      `insert into ${RECORDS} (job, kind, key, value) select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])
       on conflict (job, kind, key) do update set value = excluded.value`,
      [kept.map((r) => r.job), kept.map((r) => r.kind), kept.map((r) => r.key), kept.map((r) => r.value)],
    );
  if (gone.length)
    await client.query(`delete from ${RECORDS} where (job, kind, key) in (select * from unnest($1::text[], $2::text[], $3::text[]))`, [
      gone.map((r) => r.job),
      gone.map((r) => r.kind),
      gone.map((r) => r.key),
    ]);
}
