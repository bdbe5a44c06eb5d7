// Sync on PostgreSQL: tables described from the catalog, read in key order from one
// repeatable-read snapshot with every value as text (no lossy parsing in the driver), and written
// as upserts whose checkpoint commits in the same transaction.
import type { Client } from 'pg';
import type { PostgresProvider } from './provider.js';
import { quoteIdent } from './provider.js';
import type { SyncCapability, SyncCheckpoint, SyncColumn, SyncReader, SyncRow, SyncTableShape, SyncType, SyncValue } from '../spec.js';
import { StorageError } from '../../errors.js';
import { withUrlParts } from '../target.js';
import { CHUNK, readRecords, writeRecords } from './sync-records.js';
import {
  canonicalDate,
  canonicalInstant,
  canonicalLocal,
  canonicalUuid,
  decodeValue,
  encodeValue,
  evenBoundaries,
  keyOf,
  normalizeDecimal,
  raise,
  textHash,
  unmappable,
} from '../../sync/values.js';

const TYPES: Record<string, SyncType> = {
  int2: 'integer',
  int4: 'integer',
  int8: 'integer',
  float4: 'float',
  float8: 'float',
  numeric: 'decimal',
  text: 'text',
  varchar: 'text',
  bpchar: 'text',
  name: 'text',
  citext: 'text',
  bool: 'boolean',
  timestamptz: 'timestamptz',
  timestamp: 'timestamp',
  date: 'date',
  bytea: 'bytes',
  json: 'json',
  jsonb: 'json',
  uuid: 'uuid',
};

const NATIVE: Record<SyncType, string> = {
  integer: 'bigint',
  float: 'double precision',
  decimal: 'numeric',
  text: 'text',
  boolean: 'boolean',
  timestamptz: 'timestamptz',
  timestamp: 'timestamp',
  date: 'date',
  bytes: 'bytea',
  json: 'jsonb',
  uuid: 'uuid',
};

export const CHECKPOINTS = 'storage_sync_checkpoints';

/** "schema.table" or "table", each part quoted. */
export function qualified(table: string): string {
  return table.split('.').map(quoteIdent).join('.');
}

export async function open(provider: PostgresProvider, database?: string): Promise<Client> {
  const url = (provider.store.config as { url: string }).url;
  const client = await provider.memberClient(database ? withUrlParts(url, { database }) : url);
  await client.query(`set timezone = 'UTC'; set datestyle = 'ISO'; set bytea_output = 'hex'; set extra_float_digits = 3`);
  return client;
}

async function describe(client: Client, table: string): Promise<SyncTableShape | undefined> {
  const exists = (await client.query('select to_regclass($1) as oid', [qualified(table)])).rows[0].oid;
  if (!exists) return undefined;
  const rows = (
    await client.query(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as native, t.typname, t.typcategory, not a.attnotnull as nullable
       from pg_attribute a join pg_type t on t.oid = a.atttypid
       where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum`,
      [qualified(table)],
    )
  ).rows;
  const columns: SyncColumn[] = rows.map((row) => {
    const type: SyncType | undefined = row.typcategory === 'A' ? 'json' : TYPES[row.typname];
    if (!type)
      throw new StorageError('UNSUPPORTED', `${table}.${row.name} has type ${row.native}, which sync cannot map to the other engines.`, {
        hint: 'See the mapping table in the README (Sync); cast the column or leave the table out.',
        details: { table, column: row.name, type: row.native },
      });
    return { name: row.name, type, nullable: row.nullable, native: row.native };
  });
  const key = (
    await client.query(
      `select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
       where i.indrelid = to_regclass($1) and i.indisprimary order by array_position(i.indkey::int2[], a.attnum)`,
      [qualified(table)],
    )
  ).rows.map((row) => row.attname as string);
  return { columns, key };
}

/** A column read as text, in a form canonicalize() reads back exactly. */
export function selectExpression(column: SyncColumn): string {
  const name = quoteIdent(column.name);
  if (column.type === 'json') return `to_json(${name})::text`;
  return `${name}::text`;
}

export function canonicalize(table: string, column: SyncColumn, text: string | null, key: () => SyncValue[]): SyncValue {
  if (text === null) return null;
  const fail = () => unmappable(table, column.name, column.type, text, key());
  switch (column.type) {
    case 'integer':
      return BigInt(text);
    case 'float':
      return Number(text);
    case 'decimal':
      if (!/^[+-]?\d/.test(text)) throw fail(); // NaN, Infinity
      return normalizeDecimal(text);
    case 'boolean':
      return text === 'true' || text === 't';
    case 'timestamptz':
      return canonicalInstant(text) ?? raise(fail());
    case 'timestamp':
      return canonicalLocal(text) ?? raise(fail());
    case 'date':
      return canonicalDate(text) ?? raise(fail());
    case 'bytes':
      return Buffer.from(text.slice(2), 'hex');
    case 'json':
      return { json: JSON.parse(text) };
    case 'uuid':
      return canonicalUuid(text) ?? text;
    default:
      return text;
  }
}

/** A canonical value as a text parameter PostgreSQL casts to the column's type. */
export function parameter(value: SyncValue, column: SyncColumn): string | null {
  if (value === null) return null;
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (typeof value === 'object') return JSON.stringify(value.json);
  if (column.type === 'timestamptz' || column.type === 'timestamp') return value.replace('T', ' ');
  return value;
}

/** The type a parameter is cast to: by the canonical type, since the column may come from another engine. */
export function cast(column: SyncColumn): string {
  return NATIVE[column.type];
}

function keyCondition(columns: SyncColumn[], key: string[], firstParam: number, operator = '>'): string {
  const keyColumns = key.map((name) => columns.find((column) => column.name === name)!);
  const left = keyColumns.map((column) => `${quoteIdent(column.name)}${column.type === 'text' ? ' collate "C"' : ''}`);
  const right = keyColumns.map((column, i) => `$${firstParam + i}::${cast(column)}${column.type === 'text' ? ' collate "C"' : ''}`);
  return `(${left.join(', ')}) ${operator} (${right.join(', ')})`;
}

/**
 * A column's hash form (values.ts `hashText`) computed by PostgreSQL, NULL as "n"; undefined for
 * JSON and arrays (their canonical form sorts object keys and reads numbers as JavaScript does,
 * which SQL cannot produce). Needs the session's timezone UTC and shortest-exact float output (open()).
 */
function hashExpression(column: SyncColumn): string | undefined {
  const name = quoteIdent(column.name);
  const tagged = (expression: string) => `coalesce(${expression}, 'n')`;
  switch (column.type) {
    case 'integer':
      return tagged(`'i' || ${name}::text`);
    case 'float':
      // Through text: a real reads as the double its shortest text names, as canonicalize() reads it; + 0 turns -0 into 0.
      return tagged(`'f' || encode(float8send(${name}::text::float8 + 0::float8), 'hex')`);
    case 'decimal':
      return tagged(`'s' || trim_scale(${name})::text`);
    case 'boolean':
      return tagged(`case when ${name} then 't' when not ${name} then 'f' end`);
    case 'timestamptz':
      return tagged(`'s' || to_char(${name}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    case 'timestamp':
      return tagged(`'s' || to_char(${name}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`);
    case 'bytes':
      return tagged(`'b' || encode(${name}, 'hex')`);
    case 'json':
      return undefined;
    default:
      return tagged(`'s' || ${name}::text`);
  }
}

/** Conditions and parameters for key range i of the boundaries (after boundary i-1, up to and including boundary i). */
function rangeCondition(columns: SyncColumn[], key: string[], boundaries: SyncValue[][], i: number): { where: string; params: unknown[] } {
  const keyColumns = key.map((name) => columns.find((c) => c.name === name)!);
  const where: string[] = [];
  const params: unknown[] = [];
  if (i > 0) {
    where.push(keyCondition(columns, key, params.length + 1, '>'));
    params.push(...boundaries[i - 1].map((value, k) => parameter(value, keyColumns[k])));
  }
  if (i < boundaries.length) {
    where.push(keyCondition(columns, key, params.length + 1, '<='));
    params.push(...boundaries[i].map((value, k) => parameter(value, keyColumns[k])));
  }
  return { where: where.length ? ` where ${where.join(' and ')}` : '', params };
}

export function orderBy(columns: SyncColumn[], key: string[]): string {
  return key
    .map((name) => {
      const column = columns.find((c) => c.name === name)!;
      return `${quoteIdent(name)}${column.type === 'text' ? ' collate "C"' : ''}`;
    })
    .join(', ');
}

export async function ensureCheckpoints(client: Client): Promise<void> {
  await client.query(
    `create table if not exists ${CHECKPOINTS} (job text primary key, checkpoint jsonb not null, updated_at timestamptz not null default now())`,
  );
}

export function encodeCheckpoint(checkpoint: SyncCheckpoint): string {
  return JSON.stringify({ ...checkpoint, lastKey: checkpoint.lastKey?.map(encodeValue) ?? null, watermark: encodeValue(checkpoint.watermark) });
}

function decodeCheckpoint(raw: Record<string, unknown>): SyncCheckpoint {
  return {
    ...(raw as unknown as SyncCheckpoint),
    lastKey: (raw.lastKey as unknown[] | null)?.map(decodeValue) ?? null,
    watermark: decodeValue(raw.watermark ?? null),
  };
}

async function saveCheckpoint(client: Client, checkpoint: SyncCheckpoint): Promise<void> {
  await client.query(
    `insert into ${CHECKPOINTS} (job, checkpoint, updated_at) values ($1, $2, now()) on conflict (job) do update set checkpoint = excluded.checkpoint, updated_at = now()`,
    [checkpoint.job, encodeCheckpoint(checkpoint)],
  );
}

/** The rows with these keys (conflict checks read the target's version of a batch). */
async function rowsByKey(client: Client, table: string, columns: SyncColumn[], key: string[], keys: SyncValue[][]): Promise<SyncRow[]> {
  const keyColumns = key.map((name) => columns.find((c) => c.name === name)!);
  const select = columns.map((column, i) => `${selectExpression(column)} as c${i}`).join(', ');
  const rows: SyncRow[] = [];
  for (let at = 0; at < keys.length; at += CHUNK) {
    const chunk = keys.slice(at, at + CHUNK);
    const arrays = keyColumns.map((column, i) => chunk.map((values) => parameter(values[i], column)));
    const sql = `select ${select} from ${qualified(table)} where (${keyColumns.map((c) => quoteIdent(c.name)).join(', ')}) in (select * from unnest(${keyColumns
      .map((column, i) => `$${i + 1}::${cast(column)}[]`)
      .join(', ')}))`;
    const result = await client.query({ text: sql, values: arrays, rowMode: 'array' });
    for (const raw of result.rows as (string | null)[][]) {
      const row: SyncRow = {};
      columns.forEach((column, i) => {
        row[column.name] = canonicalize(table, column, raw[i], () => []);
      });
      rows.push(row);
    }
  }
  return rows;
}

export const postgresSync: SyncCapability<PostgresProvider> = {
  atomicBatches: true,
  followDeletes: true,

  async describe(provider, table, database) {
    const client = await open(provider, database);
    try {
      return await describe(client, table);
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async openReader(provider, table, database): Promise<SyncReader> {
    const client = await open(provider, database);
    await client.query('begin isolation level repeatable read read only');
    return {
      consistency: 'one repeatable-read transaction (one snapshot for the whole run)',
      async count() {
        return Number((await client.query(`select count(*)::int8 as n from ${qualified(table)}`)).rows[0].n);
      },
      async *batches(options) {
        // Output names are positional: ORDER BY "id" would otherwise sort by the text output column named id.
        const select = options.columns.map((column, i) => `${selectExpression(column)} as c${i}`).join(', ');
        let after = options.after;
        for (;;) {
          const params: unknown[] = [];
          const where: string[] = [];
          if (after) {
            where.push(keyCondition(options.columns, options.key, 1));
            params.push(
              ...after.map((value, i) =>
                parameter(
                  value,
                  options.columns.find((c) => c.name === options.key[i])!,
                ),
              ),
            );
          }
          if (options.watermark) {
            const column = options.columns.find((c) => c.name === options.watermark!.column)!;
            params.push(parameter(options.watermark.since, column));
            where.push(`${quoteIdent(column.name)} >= $${params.length}::${cast(column)}`);
          }
          params.push(options.batchSize);
          const sql = `select ${select} from ${qualified(table)}${where.length ? ` where ${where.join(' and ')}` : ''} order by ${orderBy(options.columns, options.key)} limit $${params.length}`;
          const result = await client.query({ text: sql, values: params, rowMode: 'array' });
          if (result.rows.length === 0) return;
          const rows: SyncRow[] = result.rows.map((raw: (string | null)[]) => {
            const row: SyncRow = {};
            const keyNow = () => options.key.map((name) => raw[options.columns.findIndex((c) => c.name === name)]);
            options.columns.forEach((column, i) => {
              row[column.name] = canonicalize(table, column, raw[i], keyNow);
            });
            return row;
          });
          yield rows;
          after = keyOf(rows[rows.length - 1], options.key);
          if (result.rows.length < options.batchSize) return;
        }
      },
      async boundaries(options) {
        const keyColumns = options.key.map((name) => options.columns.find((c) => c.name === name)!);
        if (keyColumns.length === 1 && keyColumns[0].type === 'integer') {
          const name = quoteIdent(keyColumns[0].name);
          const span = (await client.query(`select min(${name})::text as lo, max(${name})::text as hi, count(*)::int8 as n from ${qualified(table)}`)).rows[0];
          const even = evenBoundaries(span.lo === null ? null : BigInt(span.lo), span.hi === null ? null : BigInt(span.hi), Number(span.n), options.every);
          if (even) return even;
        }
        const select = keyColumns.map((column, i) => `${selectExpression(column)} as c${i}`).join(', ');
        const result = await client.query({
          text: `select ${select} from (select ${keyColumns.map((c) => quoteIdent(c.name)).join(', ')}, row_number() over (order by ${orderBy(options.columns, options.key)}) as storage_rn from ${qualified(table)}) s where storage_rn % $1 = 0 order by storage_rn`,
          values: [options.every],
          rowMode: 'array',
        });
        return result.rows.map((raw: (string | null)[]) => keyColumns.map((column, i) => canonicalize(table, column, raw[i], () => [])));
      },
      async hashRanges(options) {
        const expressions = options.columns.map(hashExpression);
        if (expressions.some((expression) => expression === undefined)) return undefined;
        const rowExpression = expressions.length === 1 ? expressions[0] : `concat_ws(E'\\x01', ${expressions.join(', ')})`;
        const hashes: Array<{ rows: number; hash: string }> = new Array(options.boundaries.length + 1);
        // A second connection in the same snapshot hashes every other range: PostgreSQL's side of a
        // verify is its longer one, and the server has a core for each.
        const snapshot = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0].id;
        const helper = await open(provider, database);
        try {
          await helper.query(`begin isolation level repeatable read read only; set transaction snapshot '${snapshot.replace(/'/g, "''")}'`);
          let next = 0;
          const work = async (on: Client) => {
            // A range is read in key order from the primary key's index (a bitmap scan would sort each range again).
            await on.query('set local enable_bitmapscan = off');
            while (next <= options.boundaries.length) {
              const i = next++;
              const { where, params } = rangeCondition(options.columns, options.key, options.boundaries, i);
              // The rows come in key order from the sorted subquery (an aggregate's own ORDER BY would sort them again); should
              // they not, the range only looks different and is compared row by row.
              const text = `select count(*)::int8 as n, coalesce(encode(sha256(convert_to(string_agg(r, E'\\n'), 'UTF8')), 'hex'), '') as h from (select ${rowExpression} as r from ${qualified(table)}${where} order by ${orderBy(options.columns, options.key)}) s`;
              // Named, so each of the (at most three) shapes of query is planned once per connection.
              const row = (await on.query({ name: `storage_sync_hash_${textHash(text).slice(0, 16)}`, text, values: params })).rows[0];
              hashes[i] = { rows: Number(row.n), hash: row.h as string };
            }
          };
          await Promise.all([work(client), work(helper)]);
        } finally {
          await client.query('set local enable_bitmapscan = on').catch(() => undefined);
          await helper.query('rollback').catch(() => undefined);
          await helper.end().catch(() => undefined);
        }
        return hashes;
      },
      async close() {
        await client.query('rollback').catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  },

  async createTable(provider, table, shape, database) {
    const client = await open(provider, database);
    try {
      const columns = shape.columns.map((c) => `${quoteIdent(c.name)} ${NATIVE[c.type]}${c.nullable ? '' : ' not null'}`);
      await client.query(`create table ${qualified(table)} (${columns.join(', ')}, primary key (${shape.key.map(quoteIdent).join(', ')}))`);
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async readCheckpoint(provider, job, database) {
    const client = await open(provider, database);
    try {
      if (!(await client.query(`select to_regclass($1) as oid`, [CHECKPOINTS])).rows[0].oid) return undefined;
      const row = (await client.query(`select checkpoint from ${CHECKPOINTS} where job = $1`, [job])).rows[0];
      return row ? decodeCheckpoint(row.checkpoint) : undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async writeCheckpoint(provider, checkpoint, database) {
    const client = await open(provider, database);
    try {
      await ensureCheckpoints(client);
      await saveCheckpoint(client, checkpoint);
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async apply(provider, batch, database) {
    const client = await applier(provider, database);
    const names = batch.columns.map((c) => quoteIdent(c.name)).join(', ');
    // Each batch commits with its checkpoint, so a commit lost to a server crash loses both and the
    // run resumes from the checkpoint before: waiting for each commit's WAL flush buys nothing (the
    // run's final checkpoint is written with the usual synchronous commit, flushing all before it).
    await client.query('begin; set local synchronous_commit = off');
    try {
      if (batch.rows.length === 0) {
        // records only (a resolved conflict)
      } else if (batch.fresh && batch.mode !== 'append') await copyRows(client, qualified(batch.table), names, batch);
      else {
        // COPY into a session-private staging table, then one INSERT … ON CONFLICT from it.
        const stage = quoteIdent(`storage_sync_stage_${stageSuffix(batch.table)}`);
        await client.query(`create temp table if not exists ${stage} (like ${qualified(batch.table)}) on commit delete rows`);
        await copyRows(client, stage, names, batch);
        const updates = batch.columns.filter((c) => !batch.key.includes(c.name)).map((c) => `${quoteIdent(c.name)} = excluded.${quoteIdent(c.name)}`);
        const conflict =
          batch.mode === 'append'
            ? ''
            : ` on conflict (${batch.key.map(quoteIdent).join(', ')}) do ${updates.length ? `update set ${updates.join(', ')}` : 'nothing'}`;
        await client.query(`insert into ${qualified(batch.table)} (${names}) select ${names} from ${stage}${conflict}`);
      }
      if (batch.deletes?.length) await deleteKeys(client, batch.table, batch.columns, batch.key, batch.deletes);
      if (batch.records) await writeRecords(client, batch.records);
      if (batch.checkpoint) await saveCheckpoint(client, batch.checkpoint);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  },

  async rowsByKey(provider, table, columns, key, keys, database) {
    const client = await open(provider, database);
    try {
      return await rowsByKey(client, table, columns, key, keys);
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async readRecords(provider, job, kind, keys, database) {
    const client = await open(provider, database);
    try {
      return await readRecords(client, job, kind, keys);
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  async applyText(provider, batch, database) {
    const client = await applier(provider, database, batch.lane);
    const names = batch.columns.map((c) => quoteIdent(c.name)).join(', ');
    // As apply: the batch commits with its checkpoint, without waiting for the WAL flush.
    await client.query('begin; set local synchronous_commit = off');
    try {
      const { from } = await import('pg-copy-streams');
      const stream = client.query(from(`copy ${qualified(batch.table)} (${names}) from stdin`));
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('finish', resolve);
        stream.end(batch.text);
      });
      // Loaded beside the batch before (on the other connection), committed after it: the committed batches stay a prefix.
      await batch.previous;
      await saveCheckpoint(client, batch.checkpoint);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  },

  async deleteMissing(provider, table, key, keep, database) {
    const client = await open(provider, database);
    try {
      const shape = (await describe(client, table))!;
      const keyColumns = key.map((name) => shape.columns.find((c) => c.name === name)!);
      let deleted = 0;
      let after: SyncValue[] | null = null;
      for (;;) {
        const params: unknown[] = [];
        let where = '';
        if (after) {
          where = ` where ${keyCondition(shape.columns, key, 1)}`;
          params.push(...after.map((value, i) => parameter(value, keyColumns[i])));
        }
        const select = keyColumns.map((column, i) => `${selectExpression(column)} as c${i}`).join(', ');
        const result = await client.query({
          text: `select ${select} from ${qualified(table)}${where} order by ${orderBy(shape.columns, key)} limit 5000`,
          values: params,
          rowMode: 'array',
        });
        if (result.rows.length === 0) break;
        const keys = result.rows.map((raw: (string | null)[]) => keyColumns.map((column, i) => canonicalize(table, column, raw[i], () => [])));
        after = keys[keys.length - 1];
        const gone: SyncValue[][] = [];
        for (const values of keys as SyncValue[][]) if (!(await keep.has(values))) gone.push(values);
        for (const values of gone) {
          const condition = keyColumns.map((column, i) => `${quoteIdent(column.name)} = $${i + 1}::${cast(column)}`).join(' and ');
          await client.query(
            `delete from ${qualified(table)} where ${condition}`,
            values.map((value: SyncValue, i: number) => parameter(value, keyColumns[i])),
          );
        }
        deleted += gone.length;
        if (result.rows.length < 5000) break;
      }
      return deleted;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
};

/** Follow mode: the rows of these keys go, in the caller's transaction (one statement per key column set). */
async function deleteKeys(client: Client, table: string, columns: SyncColumn[], key: string[], keys: SyncValue[][]): Promise<void> {
  const keyColumns = key.map((name) => columns.find((c) => c.name === name)!);
  // One array parameter per key column, unnested side by side: one statement for the whole batch.
  const arrays = keyColumns.map((column, i) => `$${i + 1}::${cast(column)}[]`);
  const names = keyColumns.map((column) => quoteIdent(column.name));
  await client.query(
    `delete from ${qualified(table)} t using unnest(${arrays.join(', ')}) as gone(${names.join(', ')}) where ${names.map((name) => `t.${name} = gone.${name}`).join(' and ')}`,
    keyColumns.map((column, i) => keys.map((values) => parameter(values[i], column))),
  );
}

/** A short, stable suffix for a table's staging table name. */
function stageSuffix(table: string): string {
  let hash = 2166136261;
  for (const char of table) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash.toString(36);
}

const COPY_SPECIAL = /[\\\t\n\r]/;

/** A value in COPY's text format: \N for NULL; backslash, tab, newline and carriage return escaped. */
function copyText(value: SyncValue, column: SyncColumn): string {
  if (value === null) return '\\N';
  if (typeof value === 'bigint') return String(value);
  const text = parameter(value, column)!;
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Rows per COPY data message: PostgreSQL starts on the first while the next are encoded. */
const COPY_CHUNK = 2_000;

async function copyRows(client: Client, into: string, names: string, batch: { columns: SyncColumn[]; rows: SyncRow[] }): Promise<void> {
  const { from } = await import('pg-copy-streams');
  const stream = client.query(from(`copy ${into} (${names}) from stdin`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
  });
  done.catch(() => undefined); // awaited below; a failure also ends the wait for drain
  const { columns, rows } = batch;
  const keys = columns.map((column) => column.name);
  for (let start = 0; start < rows.length; start += COPY_CHUNK) {
    let text = '';
    for (let r = start; r < Math.min(start + COPY_CHUNK, rows.length); r++) {
      const row = rows[r];
      for (let i = 0; i < columns.length; i++) text += (i ? '\t' : '') + copyText(row[keys[i]] ?? null, columns[i]);
      text += '\n';
    }
    if (!stream.write(text)) await Promise.race([new Promise<void>((resolve) => stream.once('drain', resolve)), done]);
  }
  stream.end();
  await done;
}

/** One connection for a run's writes, kept per provider and database, closed with the provider's pool. */
const appliers = new WeakMap<PostgresProvider, Map<string, Promise<Client>>>();

async function applier(provider: PostgresProvider, database?: string, lane: 0 | 1 = 0): Promise<Client> {
  let byDatabase = appliers.get(provider);
  if (!byDatabase) {
    byDatabase = new Map();
    appliers.set(provider, byDatabase);
    provider.onClose(async () => {
      for (const client of byDatabase!.values())
        await client
          .then(
            (opened) => opened.end(),
            () => undefined,
          )
          .catch(() => undefined);
    });
  }
  const slot = `${database ?? ''}${lane ? '#1' : ''}`;
  let client = byDatabase.get(slot);
  if (!client) {
    const first = lane ? applier(provider, database, 0) : undefined;
    client = (async () => {
      // The second connection opens once the first has made the checkpoints table (two at once would race to create it).
      await first;
      const opened = await open(provider, database);
      await ensureCheckpoints(opened);
      return opened;
    })();
    byDatabase.set(slot, client);
  }
  return client;
}
