// Sync on SQLite: tables described from their declared types (the README's mapping table), read in
// key order inside one read transaction on a connection of its own (a consistent snapshot while
// writers go on, in WAL mode), and written as upserts in one transaction with their checkpoint.
// Integers are read as BigInt: a value past 2^53 is never rounded through a double.
import type { Database, Statement } from 'better-sqlite3';
import type { SqliteProvider } from './provider.js';
import type { SyncCapability, SyncCheckpoint, SyncColumn, SyncReader, SyncRow, SyncTableShape, SyncType, SyncValue } from '../spec.js';
import { StorageError } from '../../errors.js';
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
  textLine,
  unmappable,
} from '../../sync/values.js';
import { CHUNK, readRecords, writeRecords } from './sync-records.js';
import { openDatabase } from './driver.js';

const CHECKPOINTS = 'storage_sync_checkpoints';

/** Rows read at a time within a batch (see `batches`). */
const READ_SLICE = 4_000;

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The canonical type of a declared column type; the order matters (DECIMALTEXT is a decimal kept as text). */
function typeOf(declared: string): SyncType | undefined {
  const t = declared.toUpperCase();
  if (t.includes('DECIMAL') || t.includes('NUMERIC')) return 'decimal';
  if (t.includes('BOOL')) return 'boolean';
  if (t.includes('TIMESTAMPTZ')) return 'timestamptz';
  if (t.includes('TIMESTAMP') || t.includes('DATETIME')) return 'timestamp';
  if (t === 'DATE') return 'date';
  if (t.includes('UUID')) return 'uuid';
  if (t.includes('JSON')) return 'json';
  if (t.includes('INT')) return 'integer';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('BLOB') || t === '') return 'bytes';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'float';
  return undefined;
}

/** Declared types a created table gets: each reads back as the same canonical type, and keeps the value exactly. */
const NATIVE: Record<SyncType, string> = {
  integer: 'INTEGER',
  float: 'REAL',
  decimal: 'DECIMALTEXT',
  text: 'TEXT',
  boolean: 'BOOLEAN',
  timestamptz: 'TIMESTAMPTZ',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
  bytes: 'BLOB',
  json: 'JSON',
  uuid: 'UUID',
};

async function openReadOnly(provider: SqliteProvider): Promise<Database> {
  return openDatabase(provider.file, { readonly: true, fileMustExist: true, timeout: provider.store.statementTimeoutMs });
}

function describeIn(db: Database, table: string): SyncTableShape | undefined {
  const info = db.prepare(`select * from pragma_table_xinfo(?)`).all(table) as Array<{
    name: string;
    type: string;
    notnull: number;
    pk: number;
    hidden: number;
  }>;
  if (info.length === 0) return undefined;
  const columns: SyncColumn[] = info
    .filter((column) => column.hidden === 0)
    .map((column) => {
      const type = typeOf(column.type);
      if (!type)
        throw new StorageError('UNSUPPORTED', `${table}.${column.name} is declared ${column.type}, which sync cannot map to the other engines.`, {
          hint: 'See the mapping table in the README (Sync).',
          details: { table, column: column.name, type: column.type },
        });
      return { name: column.name, type, nullable: column.notnull === 0 && column.pk === 0, native: column.type || 'BLOB' };
    });
  const key = info
    .filter((column) => column.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((column) => column.name);
  return { columns, key };
}

function canonicalize(table: string, column: SyncColumn, value: unknown, key: () => SyncValue[]): SyncValue {
  if (value === null || value === undefined) return null;
  const fail = () => unmappable(table, column.name, column.type, value, key());
  const text = () => (typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : String(value));
  switch (column.type) {
    case 'integer':
      if (typeof value === 'bigint') return value;
      if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
      if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) return BigInt(value.trim());
      throw fail();
    case 'float':
      if (typeof value === 'number') return value;
      if (typeof value === 'bigint') return Number(value);
      throw fail();
    case 'decimal':
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'number') return normalizeDecimal(String(value));
      if (typeof value === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)$/.test(value.trim())) return normalizeDecimal(value);
      throw fail();
    case 'boolean':
      if (value === 1n || value === 1 || value === 'true' || value === 't') return true;
      if (value === 0n || value === 0 || value === 'false' || value === 'f') return false;
      throw fail();
    case 'timestamptz':
      return canonicalInstant(text()) ?? raise(fail());
    case 'timestamp':
      return canonicalLocal(text()) ?? raise(fail());
    case 'date':
      return canonicalDate(text()) ?? raise(fail());
    case 'bytes':
      return Buffer.isBuffer(value) ? value : Buffer.from(text(), 'utf8');
    case 'json':
      try {
        return { json: JSON.parse(text()) };
      } catch {
        throw fail();
      }
    case 'uuid':
      return canonicalUuid(text()) ?? raise(fail());
    default:
      return text();
  }
}

/** A canonical value as SQLite stores it in a column of that type. */
function stored(value: SyncValue, column: SyncColumn): unknown {
  if (value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'object' && !Buffer.isBuffer(value)) return JSON.stringify(value.json);
  if (column.type === 'decimal') return String(value);
  return value;
}

function keyWhere(key: string[]): string {
  return key.length === 1 ? `${quote(key[0])} > ?` : `(${key.map(quote).join(', ')}) > (${key.map(() => '?').join(', ')})`;
}

const UUID_GLOB = `'${['[0-9a-f]'.repeat(8), '[0-9a-f]'.repeat(4), '[0-9a-f]'.repeat(4), '[0-9a-f]'.repeat(4), '[0-9a-f]'.repeat(12)].join('-')}'`;

/**
 * A column's hash form (values.ts `hashText`, NULL as "n") computed by SQLite, for the types whose
 * canonical form SQL can produce exactly; undefined for the others (floats, decimals, instants,
 * JSON), whose rows are hashed by the caller. A value stored otherwise than canonicalize() expects
 * hashes as "\x02", which no side produces, so its range is compared row by row (where it is read exactly).
 */
function hashExpression(column: SyncColumn): string | undefined {
  const name = quote(column.name);
  const kind = `typeof(${name})`;
  const otherwise = `when 'null' then 'n' else char(2) end`;
  switch (column.type) {
    case 'integer':
      return `case ${kind} when 'integer' then 'i' || ${name} ${otherwise}`;
    case 'text':
      return `case ${kind} when 'text' then 's' || ${name} when 'integer' then 's' || ${name} ${otherwise}`;
    case 'bytes':
      return `case ${kind} when 'blob' then 'b' || lower(hex(${name})) when 'text' then 'b' || lower(hex(${name})) when 'integer' then 'b' || lower(hex(${name})) ${otherwise}`;
    case 'boolean':
      return `case when ${name} is null then 'n' when ${kind} in ('integer', 'real') and ${name} = 1 then 't' when ${kind} in ('integer', 'real') and ${name} = 0 then 'f' when ${kind} = 'text' and ${name} in ('true', 't') then 't' when ${kind} = 'text' and ${name} in ('false', 'f') then 'f' else char(2) end`;
    case 'date':
      return `case when ${name} is null then 'n' when ${kind} = 'text' and ${name} glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' then 's' || ${name} else char(2) end`;
    case 'uuid':
      return `case when ${name} is null then 'n' when ${kind} = 'text' and ${name} glob ${UUID_GLOB} then 's' || ${name} else char(2) end`;
    default:
      return undefined;
  }
}

/**
 * A column as its text-line form (values.ts `textValue`) computed by SQLite, for the types whose
 * canonical form SQL produces exactly; undefined for the others. Text is not escaped here (that
 * would cost more than the read): `plainLines` checks a slice has nothing to escape. A value stored
 * otherwise than canonicalize() expects gives NULL, and its slice is read the usual way (which converts or refuses it).
 */
function textExpression(column: SyncColumn): string | undefined {
  const name = quote(column.name);
  const kind = `typeof(${name})`;
  switch (column.type) {
    case 'integer':
      return `case ${kind} when 'integer' then cast(${name} as text) when 'null' then '\\N' end`;
    case 'text':
      // The text \N itself would read as NULL: such a slice is read the usual way.
      return `case ${kind} when 'text' then case when ${name} = '\\N' then null else ${name} end when 'integer' then cast(${name} as text) when 'null' then '\\N' end`;
    // Bytes are left to the usual read: their \\x would need telling apart from text holding a backslash.
    case 'boolean':
      return `case when ${name} is null then '\\N' when ${kind} in ('integer', 'real') and ${name} = 1 then 't' when ${kind} in ('integer', 'real') and ${name} = 0 then 'f' when ${kind} = 'text' and ${name} in ('true', 't') then 't' when ${kind} = 'text' and ${name} in ('false', 'f') then 'f' end`;
    case 'date':
      return `case when ${name} is null then '\\N' when ${kind} = 'text' and ${name} glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' then ${name} end`;
    case 'uuid':
      return `case when ${name} is null then '\\N' when ${kind} = 'text' and ${name} glob ${UUID_GLOB} then ${name} end`;
    default:
      return undefined;
  }
}

/** A carriage return, or a backslash that is not a whole \N field (NULL): text that needed escaping. */
const NEEDS_ESCAPE = /\r|\\(?!N[\t\n])|(?<!^|[\t\n])\\/;

/** Whether `text` (rows × columns values from textExpression) holds no value that needed escaping: no stray backslash or CR, and exactly the tabs and newlines of its separators. */
function plainLines(text: string, rows: number, columns: number): boolean {
  if (NEEDS_ESCAPE.test(text)) return false;
  let tabs = 0;
  for (let at = text.indexOf('\t'); at >= 0; at = text.indexOf('\t', at + 1)) tabs++;
  if (tabs !== rows * (columns - 1)) return false;
  let newlines = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) newlines++;
  return newlines === rows;
}

/** Range i of the boundaries: after boundary i-1, up to and including boundary i. */
function rangeWhere(key: string[], keyColumns: SyncColumn[], boundaries: SyncValue[][], i: number): { where: string; params: unknown[] } {
  const left = key.length === 1 ? quote(key[0]) : `(${key.map(quote).join(', ')})`;
  const right = key.length === 1 ? '?' : `(${key.map(() => '?').join(', ')})`;
  const where: string[] = [];
  const params: unknown[] = [];
  if (i > 0) {
    where.push(`${left} > ${right}`);
    params.push(...boundaries[i - 1].map((value, k) => stored(value, keyColumns[k])));
  }
  if (i < boundaries.length) {
    where.push(`${left} <= ${right}`);
    params.push(...boundaries[i].map((value, k) => stored(value, keyColumns[k])));
  }
  return { where: where.length ? ` where ${where.join(' and ')}` : '', params };
}

function ensureCheckpoints(db: Database): void {
  db.exec(`create table if not exists ${CHECKPOINTS} (job text primary key, checkpoint text not null, updated_at text not null)`);
}

function encodeCheckpoint(checkpoint: SyncCheckpoint): string {
  return JSON.stringify({ ...checkpoint, lastKey: checkpoint.lastKey?.map(encodeValue) ?? null, watermark: encodeValue(checkpoint.watermark) });
}

function saveCheckpoint(db: Database, checkpoint: SyncCheckpoint): void {
  db.prepare(
    `insert into ${CHECKPOINTS} (job, checkpoint, updated_at) values (?, ?, ?) on conflict (job) do update set checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`,
  ).run(checkpoint.job, encodeCheckpoint(checkpoint), new Date().toISOString());
}

const statements = new WeakMap<Database, Map<string, Statement>>();

/** One prepared statement per SQL text and connection (a batch loop reuses it). */
function prepared(db: Database, sql: string): Statement {
  let bySql = statements.get(db);
  if (!bySql) statements.set(db, (bySql = new Map()));
  let statement = bySql.get(sql);
  if (!statement) bySql.set(sql, (statement = db.prepare(sql).safeIntegers(true).raw(true)));
  return statement;
}

function readRows(
  db: Database,
  table: string,
  columns: SyncColumn[],
  key: string[],
  after: SyncValue[] | null,
  limit: number,
  keyColumns: SyncColumn[],
  extra?: { sql: string; value: unknown },
): SyncRow[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (after) {
    where.push(keyWhere(key));
    params.push(...after.map((value, i) => stored(value, keyColumns[i])));
  }
  if (extra) {
    where.push(extra.sql);
    params.push(extra.value);
  }
  const sql = `select ${columns.map((c) => quote(c.name)).join(', ')} from ${quote(table)}${where.length ? ` where ${where.join(' and ')}` : ''} order by ${key.map(quote).join(', ')} limit ?`;
  const statement = prepared(db, sql);
  const raws = statement.all(...params, limit) as unknown[][];
  const keyAt = key.map((name) => columns.findIndex((c) => c.name === name));
  const names = columns.map((column) => column.name);
  const rows: SyncRow[] = new Array(raws.length);
  for (let r = 0; r < raws.length; r++) {
    const raw = raws[r];
    const row: SyncRow = {};
    for (let i = 0; i < columns.length; i++) {
      const value = raw[i];
      // The common cases first, without a call: an integer column's integer, a text column's text, NULL.
      const type = columns[i].type;
      row[names[i]] =
        value === null
          ? null
          : (type === 'integer' && typeof value === 'bigint') || (type === 'text' && typeof value === 'string')
            ? (value as SyncValue)
            : canonicalize(table, columns[i], value, () => keyAt.map((at) => raw[at] as SyncValue));
    }
    rows[r] = row;
  }
  return rows;
}

/** The rows with these keys (conflict checks read the target's version of a batch). */
function rowsByKey(db: Database, table: string, columns: SyncColumn[], key: string[], keys: SyncValue[][]): SyncRow[] {
  const keyColumns = key.map((name) => columns.find((c) => c.name === name)!);
  const rows: SyncRow[] = [];
  for (let at = 0; at < keys.length; at += CHUNK) {
    const chunk = keys.slice(at, at + CHUNK);
    const tuple = `(${key.map(() => '?').join(', ')})`;
    const left = key.length === 1 ? quote(key[0]) : `(${key.map(quote).join(', ')})`;
    const list = key.length === 1 ? `(${chunk.map(() => '?').join(', ')})` : `(values ${chunk.map(() => tuple).join(', ')})`;
    const statement = db.prepare(`select ${columns.map((c) => quote(c.name)).join(', ')} from ${quote(table)} where ${left} in ${list}`);
    const raws = statement
      .safeIntegers(true)
      .raw(true)
      .all(...chunk.flatMap((values) => values.map((value, i) => stored(value, keyColumns[i])))) as unknown[][];
    for (const raw of raws) {
      const row: SyncRow = {};
      columns.forEach((column, i) => {
        row[column.name] = canonicalize(table, column, raw[i], () => []);
      });
      rows.push(row);
    }
  }
  return rows;
}

export const sqliteSync: SyncCapability<SqliteProvider> = {
  atomicBatches: true,
  followDeletes: true,

  async describe(provider, table) {
    return describeIn(await provider.handle(), table);
  },

  async openReader(provider, table): Promise<SyncReader> {
    const db = await openReadOnly(provider);
    db.exec('begin');
    // The first read starts the snapshot every later batch reads from.
    db.prepare(`select count(*) from sqlite_master`).get();
    return {
      consistency: 'one read transaction on its own connection (one snapshot for the whole run)',
      async count() {
        return Number((db.prepare(`select count(*) as n from ${quote(table)}`).get() as { n: number }).n);
      },
      async *batches(options) {
        const keyColumns = options.key.map((name) => options.columns.find((c) => c.name === name)!);
        let after = options.after;
        const watermark = options.watermark
          ? {
              sql: `${quote(options.watermark.column)} >= ?`,
              value: stored(
                options.watermark.since,
                options.columns.find((c) => c.name === options.watermark!.column)!,
              ),
            }
          : undefined;
        // A batch is read a slice at a time, letting the event loop run between slices: a write of the
        // previous batch (to a server) goes on meanwhile instead of waiting for the whole batch to be read.
        const slice = Math.min(options.batchSize, READ_SLICE);
        for (;;) {
          let rows: SyncRow[] = [];
          let last = slice;
          while (rows.length < options.batchSize && last === slice) {
            const limit = Math.min(slice, options.batchSize - rows.length);
            const read = readRows(db, table, options.columns, options.key, after, limit, keyColumns, watermark);
            last = read.length === limit ? slice : read.length;
            if (read.length) {
              rows = rows.length ? rows.concat(read) : read;
              after = keyOf(read[read.length - 1], options.key);
            }
            if (last === slice && rows.length < options.batchSize) await new Promise((resolve) => setImmediate(resolve));
          }
          if (rows.length === 0) return;
          yield rows;
          if (rows.length < options.batchSize) return;
        }
      },
      textBatches(options) {
        const expressions = options.columns.map(textExpression);
        if (options.watermark || expressions.some((expression) => expression === undefined)) return undefined;
        const keyColumns = options.key.map((name) => options.columns.find((c) => c.name === name)!);
        const keyNames = options.key.map(quote).join(', ');
        const line = `${expressions.join(` || char(9) || `)} || char(10)`;
        const slice = Math.min(options.batchSize, READ_SLICE);
        return (async function* () {
          let after = options.after;
          for (;;) {
            let text = '';
            let rows = 0;
            let last = slice;
            while (rows < options.batchSize && last === slice) {
              const limit = Math.min(slice, options.batchSize - rows);
              const params = after ? after.map((value, i) => stored(value, keyColumns[i])) : [];
              const sql = `select ${keyNames}, ${line} from ${quote(table)}${after ? ` where ${keyWhere(options.key)}` : ''} order by ${keyNames} limit ?`;
              const read = prepared(db, sql).all(...params, limit) as unknown[][];
              if (read.length === 0) break;
              let lines = '';
              let plain = true;
              for (const raw of read) {
                const value = raw[keyColumns.length] as string | null;
                if (value === null) {
                  plain = false;
                  break;
                }
                lines += value;
              }
              plain &&= plainLines(lines, read.length, options.columns.length);
              // A value stored otherwise than canonicalize() expects: this slice the usual way.
              if (!plain)
                lines = readRows(db, table, options.columns, options.key, after, limit, keyColumns)
                  .map((row) => textLine(row, options.columns))
                  .join('');
              const tail = read[read.length - 1];
              after = keyColumns.map((column, i) => canonicalize(table, column, tail[i], () => tail.slice(0, keyColumns.length) as SyncValue[]));
              text += lines;
              rows += read.length;
              last = read.length;
              if (last === slice && rows < options.batchSize) await new Promise((resolve) => setImmediate(resolve));
            }
            if (rows === 0) return;
            yield { rows, lastKey: after!, text };
            if (rows < options.batchSize) return;
          }
        })();
      },
      async boundaries(options) {
        const keyColumns = options.key.map((name) => options.columns.find((c) => c.name === name)!);
        const names = options.key.map(quote).join(', ');
        if (keyColumns.length === 1 && keyColumns[0].type === 'integer') {
          const [lo, hi, n] = prepared(db, `select min(${names}), max(${names}), count(*) from ${quote(table)}`).get() as [unknown, unknown, bigint];
          const even = typeof lo === 'bigint' && typeof hi === 'bigint' ? evenBoundaries(lo, hi, Number(n), options.every) : lo === null ? [] : undefined;
          if (even) return even;
        }
        const statement = prepared(
          db,
          `select ${names} from (select ${names}, row_number() over (order by ${names}) as storage_rn from ${quote(table)}) where storage_rn % ? = 0 order by storage_rn`,
        );
        return (statement.all(options.every) as unknown[][]).map((raw) =>
          keyColumns.map((column, i) => canonicalize(table, column, raw[i], () => raw as SyncValue[])),
        );
      },
      async hashRanges(options) {
        const expressions = options.columns.map(hashExpression);
        if (expressions.some((expression) => expression === undefined)) return undefined;
        const keyColumns = options.key.map((name) => options.columns.find((c) => c.name === name)!);
        const rowExpression = expressions.join(` || char(1) || `);
        const hashes = [];
        for (let i = 0; i <= options.boundaries.length; i++) {
          const { where, params } = rangeWhere(options.key, keyColumns, options.boundaries, i);
          const statement = prepared(
            db,
            // In key order from the sorted subquery; should they not be, the range only looks different and is compared row by row.
            `select count(*), group_concat(r, char(10)) from (select ${rowExpression} as r from ${quote(table)}${where} order by ${options.key.map(quote).join(', ')})`,
          );
          const [rows, text] = statement.get(...params) as [bigint, string | null];
          hashes.push({ rows: Number(rows), hash: text === null ? '' : textHash(text) });
          // Let the other side's queries go on between ranges (this side runs on the event loop).
          await new Promise((resolve) => setImmediate(resolve));
        }
        return hashes;
      },
      async close() {
        try {
          db.exec('rollback');
        } catch {
          // no transaction left
        }
        db.close();
      },
    };
  },

  async createTable(provider, table, shape) {
    const db = await provider.handle();
    const columns = shape.columns.map((c) => `${quote(c.name)} ${NATIVE[c.type]}${c.nullable ? '' : ' NOT NULL'}`);
    db.exec(`create table ${quote(table)} (${columns.join(', ')}, primary key (${shape.key.map(quote).join(', ')}))`);
  },

  async readCheckpoint(provider, job) {
    const db = await provider.handle();
    const exists = db.prepare(`select 1 from sqlite_master where type = 'table' and name = ?`).get(CHECKPOINTS);
    if (!exists) return undefined;
    const row = db.prepare(`select checkpoint from ${CHECKPOINTS} where job = ?`).get(job) as { checkpoint: string } | undefined;
    if (!row) return undefined;
    const raw = JSON.parse(row.checkpoint);
    return { ...raw, lastKey: raw.lastKey?.map(decodeValue) ?? null, watermark: decodeValue(raw.watermark ?? null) };
  },

  async writeCheckpoint(provider, checkpoint) {
    const db = await provider.handle();
    ensureCheckpoints(db);
    saveCheckpoint(db, checkpoint);
  },

  async apply(provider, batch) {
    const db = await provider.handle();
    ensureCheckpoints(db);
    const names = batch.columns.map((c) => quote(c.name)).join(', ');
    const updates = batch.columns.filter((c) => !batch.key.includes(c.name)).map((c) => `${quote(c.name)} = excluded.${quote(c.name)}`);
    const conflict =
      batch.mode === 'append' ? '' : ` on conflict (${batch.key.map(quote).join(', ')}) do ${updates.length ? `update set ${updates.join(', ')}` : 'nothing'}`;
    const insert = db.prepare(`insert into ${quote(batch.table)} (${names}) values (${batch.columns.map(() => '?').join(', ')})${conflict}`);
    const keyColumns = batch.key.map((name) => batch.columns.find((c) => c.name === name)!);
    const remove = batch.deletes?.length
      ? db.prepare(`delete from ${quote(batch.table)} where ${batch.key.map((name) => `${quote(name)} = ?`).join(' and ')}`)
      : undefined;
    db.transaction(() => {
      for (const row of batch.rows) insert.run(...batch.columns.map((column) => stored(row[column.name] ?? null, column)));
      for (const values of batch.deletes ?? []) remove!.run(...values.map((value, i) => stored(value, keyColumns[i])));
      if (batch.records) writeRecords(db, batch.records);
      if (batch.checkpoint) saveCheckpoint(db, batch.checkpoint);
    })();
  },

  async rowsByKey(provider, table, columns, key, keys) {
    return rowsByKey(await provider.handle(), table, columns, key, keys);
  },

  async readRecords(provider, job, kind, keys) {
    return readRecords(await provider.handle(), job, kind, keys);
  },

  async deleteMissing(provider, table, key, keep) {
    const db = await provider.handle();
    const shape = describeIn(db, table)!;
    const keyColumns = key.map((name) => shape.columns.find((c) => c.name === name)!);
    const remove = db.prepare(`delete from ${quote(table)} where ${key.map((name) => `${quote(name)} = ?`).join(' and ')}`);
    let deleted = 0;
    let after: SyncValue[] | null = null;
    for (;;) {
      const rows = readRows(db, table, keyColumns, key, after, 5000, keyColumns);
      if (rows.length === 0) break;
      after = keyOf(rows[rows.length - 1], key);
      const gone: SyncValue[][] = [];
      for (const row of rows) if (!(await keep.has(keyOf(row, key)))) gone.push(keyOf(row, key));
      db.transaction(() => {
        for (const values of gone) remove.run(...values.map((value, i) => stored(value, keyColumns[i])));
      })();
      deleted += gone.length;
      if (rows.length < 5000) break;
    }
    return deleted;
  },
};
