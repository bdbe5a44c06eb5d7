// Sync on MongoDB (and FerretDB): a "table" is a collection in the store's database. MongoDB has
// no schema, so a collection's columns are inferred from its documents (each top-level field, its
// type from the BSON values seen), except for a collection sync created: its shape (the canonical
// type of each column, and which column is kept as `_id`) is recorded in `storage_sync_shapes`, so
// values MongoDB has no type for (decimals, timestamps without zone, dates) read back as what they
// were. Documents are read in key order, a batch at a time (no multi-document snapshot without a
// replica set, and none at all on FerretDB), with every value as its BSON type (Int64 never
// becomes a double). Batches are written as upserts by `_id` (documents already there as they
// would be written are left alone), then the checkpoint: no transaction holds them together, but a
// replayed batch changes nothing, so a resumed run is still exact.
import { BSON, Binary, Double, Long, ObjectId, type Collection, type Db, type Document, type Filter } from 'mongodb';
import type { MongoProvider } from './provider.js';
import type { SyncCapability, SyncCheckpoint, SyncColumn, SyncReader, SyncRow, SyncTableShape, SyncType, SyncValue } from '../spec.js';
import { StorageError } from '../../errors.js';
import { describeFailure } from '../failures.js';
import { readRecords, writeRecords } from './sync-records.js';
import {
  canonicalDate,
  canonicalInstant,
  canonicalLocal,
  canonicalUuid,
  decodeValue,
  encodeValue,
  normalizeDecimal,
  raise,
  shownValue,
  unmappable,
} from '../../sync/values.js';

const CHECKPOINTS = 'storage_sync_checkpoints';
const SHAPES = 'storage_sync_shapes';

export const CONSISTENCY =
  'per collection, no snapshot: each batch is its own query in key order (MongoDB without a replica set and FerretDB have no multi-document snapshot), so a document written during the run may be read as it was or as it became; each document is read whole';

/** How a column of each canonical type is kept in a collection sync creates (the README's mapping table). */
const NATIVE: Record<SyncType, string> = {
  integer: 'long',
  float: 'double',
  decimal: 'string (decimal)',
  text: 'string',
  boolean: 'bool',
  timestamptz: 'date',
  timestamp: 'string (timestamp)',
  date: 'string (date)',
  bytes: 'binData',
  json: 'object/array',
  uuid: 'binData subtype 4 (uuid)',
};

/** A BSON value's type by its MongoDB name (values are read with promoteValues: false, so Int32, Long and Double stay apart). */
function bsonKind(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'double';
  if (typeof value === 'bigint') return 'long';
  if (value instanceof Date) return 'date';
  if (Array.isArray(value)) return 'array';
  const bsontype = (value as { _bsontype?: string })._bsontype;
  switch (bsontype) {
    case undefined:
      return 'object';
    case 'Int32':
      return 'int';
    case 'Long':
      return 'long';
    case 'Double':
      return 'double';
    case 'Decimal128':
      return 'decimal';
    case 'ObjectId':
      return 'objectId';
    case 'Binary':
      return (value as Binary).sub_type === Binary.SUBTYPE_UUID ? 'uuid' : 'binData';
    default:
      return bsontype; // Timestamp, BSONRegExp, Code, MinKey, …: no canonical type
  }
}

const TYPE_OF_KIND: Record<string, SyncType> = {
  int: 'integer',
  long: 'integer',
  double: 'float',
  decimal: 'decimal',
  string: 'text',
  objectId: 'text',
  bool: 'boolean',
  date: 'timestamptz',
  binData: 'bytes',
  uuid: 'uuid',
  object: 'json',
  array: 'json',
};

/** What sync records for a collection it created. */
interface ShapeRecord {
  _id: string;
  /** The column kept as `_id`. */
  key: string;
  columns: Array<{ name: string; type: SyncType; nullable: boolean }>;
}

async function dbOf(provider: MongoProvider, database?: string): Promise<Db> {
  return (await provider.getClient()).db(database ?? provider.defaultDatabase);
}

/** Driver failures as the store's errors (StorageErrors pass through). */
async function guarded<T>(provider: MongoProvider, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw describeFailure(provider.store, error);
  }
}

async function exists(db: Db, collection: string): Promise<boolean> {
  return (await db.listCollections({ name: collection }, { nameOnly: true }).toArray()).length > 0;
}

async function readShape(db: Db, collection: string): Promise<ShapeRecord | undefined> {
  if (!(await exists(db, SHAPES))) return undefined;
  return ((await db.collection<ShapeRecord>(SHAPES).findOne({ _id: collection })) as ShapeRecord | null) ?? undefined;
}

/** A column's field in the documents: the recorded key column is `_id`. */
function fieldOf(shape: ShapeRecord | undefined, column: string): string {
  return shape && column === shape.key ? '_id' : column;
}

function columnOf(shape: ShapeRecord | undefined, field: string): string {
  return shape && field === '_id' ? shape.key : field;
}

async function describeCollection(db: Db, collection: string): Promise<SyncTableShape | undefined> {
  if (!(await exists(db, collection))) return undefined;
  const recorded = await readShape(db, collection);
  const kinds = new Map<string, Set<string>>();
  const present = new Map<string, number>();
  let documents = 0;
  for await (const document of db.collection(collection).find({}, { promoteValues: false })) {
    documents++;
    for (const [field, value] of Object.entries(document)) {
      if (!kinds.has(field)) kinds.set(field, new Set());
      const kind = bsonKind(value);
      if (kind !== 'null') {
        kinds.get(field)!.add(kind);
        present.set(field, (present.get(field) ?? 0) + 1);
      }
    }
  }
  if (!recorded && documents === 0) return undefined; // nothing to infer columns from: sync gives it the source's shape
  const columns: SyncColumn[] = recorded
    ? recorded.columns.map((column) => ({ name: column.name, type: column.type, nullable: column.nullable, native: NATIVE[column.type] }))
    : [];
  for (const [field, seen] of kinds) {
    const name = columnOf(recorded, field);
    if (columns.some((column) => column.name === name)) continue;
    const kindList = [...seen].sort();
    const unknown = kindList.filter((kind) => !TYPE_OF_KIND[kind]);
    if (unknown.length)
      throw new StorageError('UNSUPPORTED', `${collection}.${field} holds BSON ${unknown.join(', ')} values, which sync cannot map to the other engines.`, {
        hint: 'See the mapping table in the README (Sync); convert the field or leave the collection out.',
        details: { table: collection, column: field, type: unknown.join(', ') },
      });
    let types = [...new Set(kindList.map((kind) => TYPE_OF_KIND[kind]))];
    // Drivers write 1 as an int and 1.5 as a double: such a field is a float (an integer past 2^53 in it is refused when read).
    if (types.length === 2 && types.includes('integer') && types.includes('float')) types = ['float'];
    // Keyset reads compare `_id`s of one BSON type only (MongoDB does not compare a string with an ObjectId).
    const mixedKey = field === '_id' && seen.has('objectId') && seen.has('string');
    if (types.length > 1 || mixedKey)
      throw new StorageError(
        'UNSUPPORTED',
        `${collection}.${field} holds values of several types (${kindList.join(', ')}), which no one column type can hold.`,
        {
          hint: 'Make the field hold one type in every document, or leave the collection out.',
          details: { table: collection, column: field, type: kindList.join(', ') },
        },
      );
    columns.push({
      name,
      type: types[0] ?? 'text',
      nullable: field !== '_id' && (present.get(field) ?? 0) < documents,
      native: kindList.join(', ') || 'null',
    });
  }
  return { columns, key: [recorded ? recorded.key : '_id'] };
}

/** "1.23E+5" (Decimal128's form) → "123000"; plain forms as normalizeDecimal. */
export function plainDecimal(text: string): string | undefined {
  const match = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  const [, sign, whole, fraction = '', exponent] = match;
  if (!exponent) return normalizeDecimal(text);
  let digits = whole + fraction;
  let point = whole.length + Number(exponent);
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits;
    point = 1;
  }
  if (point > digits.length) digits = digits.padEnd(point, '0');
  return normalizeDecimal(`${sign}${digits.slice(0, point)}.${digits.slice(point)}`);
}

function bytesOf(value: Binary): Buffer {
  return Buffer.from(value.value());
}

/** A BSON value inside an embedded document as JSON: numbers as numbers, other BSON types in Extended JSON ({"$date": …}). */
function jsonOf(value: unknown, fail: () => Error): unknown {
  const kind = bsonKind(value);
  switch (kind) {
    case 'null':
      return null;
    case 'string':
    case 'bool':
      return value;
    case 'int':
    case 'double': {
      const number = typeof value === 'number' ? value : (value as { value: number }).value;
      if (!Number.isFinite(number)) throw fail();
      return number;
    }
    case 'long': {
      const big = typeof value === 'bigint' ? value : (value as Long).toBigInt();
      if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) throw fail();
      return Number(big);
    }
    case 'decimal':
      return { $numberDecimal: String(value) };
    case 'date':
      return { $date: (value as Date).toISOString() };
    case 'objectId':
      return { $oid: (value as ObjectId).toHexString() };
    case 'uuid':
    case 'binData':
      return { $binary: { base64: bytesOf(value as Binary).toString('base64'), subType: (value as Binary).sub_type.toString(16).padStart(2, '0') } };
    case 'array':
      return (value as unknown[]).map((item) => jsonOf(item, fail));
    case 'object':
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, item]) => [name, jsonOf(item, fail)]));
    default:
      throw fail();
  }
}

/** A field's BSON value in canonical form for a column of this type; `present` tells a null field from a missing one (JSON null vs NULL). */
export function canonicalize(table: string, column: SyncColumn, value: unknown, present: boolean, key: () => SyncValue[]): SyncValue {
  if (column.type === 'json' && present && value === null) return { json: null };
  if (value === null || value === undefined) return null;
  const fail = () => unmappable(table, column.name, column.type, shownBson(value), key());
  const kind = bsonKind(value);
  switch (column.type) {
    case 'integer':
      if (kind === 'int') return BigInt(typeof value === 'number' ? value : (value as { value: number }).value);
      if (kind === 'long') return typeof value === 'bigint' ? value : (value as Long).toBigInt();
      throw fail();
    case 'float':
      if (kind === 'double' || kind === 'int') return typeof value === 'number' ? value : (value as { value: number }).value;
      if (kind === 'long') {
        const big = typeof value === 'bigint' ? value : (value as Long).toBigInt();
        if (BigInt(Number(big)) !== big) throw fail();
        return Number(big);
      }
      throw fail();
    case 'decimal':
      if (kind === 'decimal' || kind === 'string') return plainDecimal(String(value)) ?? raise(fail());
      if (kind === 'int' || kind === 'long') return String(typeof value === 'object' ? (value as Long | { value: number }).toString() : value);
      throw fail();
    case 'text':
      if (kind === 'string') return value as string;
      if (kind === 'objectId') return (value as ObjectId).toHexString();
      throw fail();
    case 'boolean':
      if (kind === 'bool') return value as boolean;
      throw fail();
    case 'timestamptz':
      if (kind === 'date') return canonicalInstant((value as Date).toISOString()) ?? raise(fail());
      if (kind === 'string') return canonicalInstant(value as string) ?? raise(fail());
      throw fail();
    case 'timestamp':
      if (kind === 'string') return canonicalLocal(value as string) ?? raise(fail());
      throw fail();
    case 'date':
      if (kind === 'string') return canonicalDate(value as string) ?? raise(fail());
      throw fail();
    case 'bytes':
      if (kind === 'binData' || kind === 'uuid') return bytesOf(value as Binary);
      throw fail();
    case 'uuid':
      if (kind === 'uuid' && (value as Binary).position === 16) return canonicalUuid(bytesOf(value as Binary).toString('hex'))!;
      if (kind === 'string') return canonicalUuid(value as string) ?? raise(fail());
      throw fail();
    case 'json':
      return { json: jsonOf(value, fail) };
    default:
      throw fail();
  }
}

function shownBson(value: unknown): string {
  const kind = bsonKind(value);
  if (kind === 'string') return value as string;
  if (kind === 'date') return (value as Date).toISOString();
  if (kind === 'objectId') return (value as ObjectId).toHexString();
  if (kind === 'uuid' || kind === 'binData')
    return `0x${bytesOf(value as Binary)
      .toString('hex')
      .slice(0, 32)}`;
  if (kind === 'object' || kind === 'array') return 'a document';
  return `${String(value)} (BSON ${kind})`;
}

/** A canonical value as the BSON a column of this type is written as; undefined for NULL (the field is left out). */
function toBson(table: string, column: SyncColumn, value: SyncValue, key: () => SyncValue[]): unknown {
  if (value === null) return undefined;
  const fail = () => unmappable(table, column.name, column.type, value, key());
  switch (column.type) {
    case 'integer': {
      if (typeof value !== 'bigint') throw fail();
      if (value > 0x7fffffffffffffffn || value < -0x8000000000000000n) throw fail();
      return Long.fromBigInt(value);
    }
    case 'float':
      if (typeof value !== 'number') throw fail();
      return new Double(value);
    case 'timestamptz': {
      if (typeof value !== 'string' || !/\.\d{6}Z$/.test(value)) throw fail();
      if (!value.endsWith('000Z'))
        throw new StorageError(
          'BAD_DATA',
          `${table}.${column.name} of the row with key ${key().map(shownValue).join(', ')} holds ${value}, which MongoDB cannot keep: its dates have millisecond precision.`,
          {
            hint: 'Round the value to milliseconds at the source (or sync the column to an engine that keeps microseconds); sync never truncates a value silently.',
            details: { table, column: column.name, type: column.type },
          },
        );
      return new Date(`${value.slice(0, 23)}Z`);
    }
    case 'bytes':
      if (!Buffer.isBuffer(value)) throw fail();
      return new Binary(value, Binary.SUBTYPE_DEFAULT);
    case 'uuid': {
      const uuid = typeof value === 'string' ? canonicalUuid(value) : undefined;
      if (!uuid) throw fail();
      return new Binary(Buffer.from(uuid.replace(/-/g, ''), 'hex'), Binary.SUBTYPE_UUID);
    }
    case 'json':
      if (typeof value !== 'object' || Buffer.isBuffer(value)) throw fail();
      return value.json;
    default:
      // decimal, timestamp, date: their canonical text (MongoDB has no such types; the recorded shape reads them back as what they were);
      // text, boolean as themselves.
      if (Buffer.isBuffer(value) || (typeof value === 'object' && value !== null)) throw fail();
      return value;
  }
}

/** A canonical key value as the BSON it is compared with in a query: like a stored sample of the field (ObjectId, UUID, date), else as written. */
function queryValue(table: string, column: SyncColumn, value: SyncValue, sample: unknown): unknown {
  const kind = bsonKind(sample);
  if (typeof value === 'string' && kind === 'objectId' && ObjectId.isValid(value)) return new ObjectId(value);
  if (typeof value === 'string' && kind === 'uuid') return new Binary(Buffer.from(value.replace(/-/g, ''), 'hex'), Binary.SUBTYPE_UUID);
  if (typeof value === 'string' && kind === 'date') {
    const ms = Date.parse(`${value.slice(0, 23)}Z`);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  if (Buffer.isBuffer(value)) return new Binary(value, kind === 'uuid' ? Binary.SUBTYPE_UUID : Binary.SUBTYPE_DEFAULT);
  if (typeof value === 'bigint') return Long.fromBigInt(value);
  if (typeof value === 'number') return new Double(value);
  if (column.type === 'timestamptz' && typeof value === 'string') return new Date(`${value.slice(0, 23)}Z`);
  return toBson(table, column, value, () => [value]);
}

/** Documents after `after` in key order: `{k: {$gt: v}}`, or for several fields the usual expansion into $or. */
function afterFilter(fields: string[], values: unknown[]): Filter<Document> {
  if (fields.length === 1) return { [fields[0]]: { $gt: values[0] } };
  return {
    $or: fields.map((field, i) => ({
      ...Object.fromEntries(fields.slice(0, i).map((earlier, j) => [earlier, values[j]])),
      [field]: { $gt: values[i] },
    })),
  };
}

function singleKey(table: string, key: string[]): string {
  if (key.length !== 1)
    throw new StorageError('USAGE', `MongoDB keys a document by its _id alone, and the job's key for ${table} has ${key.length} columns (${key.join(', ')}).`, {
      hint: 'Give the job a single-column key that is unique at the source (key: [col] in the config, or --key col); it is kept as _id.',
      details: { table, key },
    });
  return key[0];
}

function encodeCheckpoint(checkpoint: SyncCheckpoint): Document {
  return {
    _id: checkpoint.job,
    state: checkpoint.state,
    rows: checkpoint.rows,
    startedAt: checkpoint.startedAt,
    updatedAt: checkpoint.updatedAt,
    // As JSON text: a key may hold values a field name or BSON would change (a "$" key in JSON, a bigint).
    lastKey: JSON.stringify(checkpoint.lastKey?.map(encodeValue) ?? null),
    watermark: JSON.stringify(encodeValue(checkpoint.watermark)),
  };
}

function decodeCheckpoint(document: Document): SyncCheckpoint {
  const lastKey = JSON.parse(String(document.lastKey ?? 'null')) as unknown[] | null;
  return {
    job: String(document._id),
    state: document.state === 'running' ? 'running' : 'done',
    rows: Number(document.rows ?? 0),
    startedAt: String(document.startedAt),
    updatedAt: String(document.updatedAt),
    lastKey: lastKey?.map(decodeValue) ?? null,
    watermark: decodeValue(JSON.parse(String(document.watermark ?? 'null'))),
  };
}

async function saveCheckpoint(db: Db, checkpoint: SyncCheckpoint): Promise<void> {
  const document = encodeCheckpoint(checkpoint);
  await db.collection(CHECKPOINTS).replaceOne({ _id: document._id }, document, { upsert: true });
}

/** The documents of a batch, in order, or a BAD_DATA naming the row when one cannot be kept. */
function documentsOf(table: string, columns: SyncColumn[], keyColumn: string, rows: SyncRow[]): Document[] {
  return rows.map((row) => {
    const key = () => [row[keyColumn] ?? null];
    if ((row[keyColumn] ?? null) === null)
      throw new StorageError('BAD_DATA', `${table}: a row has no value in its key column ${keyColumn}, so it cannot be a document's _id.`, {
        hint: "Give the job a key column that is never NULL (the source table's primary key).",
      });
    const document: Document = {
      _id: toBson(
        table,
        columns.find((c) => c.name === keyColumn)!,
        row[keyColumn],
        key,
      ),
    };
    for (const column of columns) {
      if (column.name === keyColumn) continue;
      const value = toBson(table, column, row[column.name] ?? null, key);
      if (value !== undefined) document[column.name] = value;
    }
    return document;
  });
}

interface WriteError {
  index: number;
  code?: number;
  errmsg?: string;
}

function writeErrorsOf(error: unknown): WriteError[] | undefined {
  const found = (error as { writeErrors?: WriteError[] | WriteError }).writeErrors;
  if (!found) return undefined;
  return Array.isArray(found) ? found : [found];
}

const DUPLICATE_KEY = 11000;

/** A server's refusal of one document, named by its key. */
function refusal(table: string, document: Document, refused: WriteError): StorageError {
  return new StorageError('BAD_DATA', `${table}: the server refused the document with _id ${shownBson(document._id)}: ${refused.errmsg ?? 'no reason given'}`, {
    hint: 'MongoDB field names cannot start with "$" (nor, on FerretDB, hold "."); fix the value at the source. This batch was not checkpointed.',
    details: { table },
  });
}

/** `_id`s as one text per value: a number is the same key as an int, a long or a double. */
function idText(id: unknown): string {
  const kind = bsonKind(id);
  if (kind === 'int' || kind === 'long' || kind === 'double') return `n${String(typeof id === 'object' ? (id as Long | Double).toString() : id)}`;
  return Buffer.from(BSON.serialize({ id })).toString('hex');
}

/**
 * Upserts by `_id`, without a write for a document that is already there as it would be written:
 * the documents of the batch's keys are read first; new ones are inserted in one insertMany,
 * changed ones replaced (append mode leaves them). FerretDB scans a collection for each update, so
 * this keeps a first copy and a replayed batch fast; a document another writer inserts meanwhile
 * (a duplicate key on insert) is replaced instead. Every write is idempotent.
 */
async function writeDocuments(provider: MongoProvider, collection: Collection, table: string, documents: Document[], mode: 'upsert' | 'append'): Promise<void> {
  const stored = new Map<string, Buffer>();
  const found = await guarded(provider, () => collection.find({ _id: { $in: documents.map((document) => document._id) } }, { promoteValues: false }).toArray());
  for (const document of found) stored.set(idText(document._id), Buffer.from(BSON.serialize(document)));
  const inserts: Document[] = [];
  const replaces: Document[] = [];
  for (const document of documents) {
    const there = stored.get(idText(document._id));
    if (!there) inserts.push(document);
    else if (mode === 'upsert' && !there.equals(Buffer.from(BSON.serialize(document)))) replaces.push(document);
  }
  if (inserts.length > 0) {
    try {
      await collection.insertMany(inserts, { ordered: false });
    } catch (error) {
      const refused = writeErrorsOf(error);
      if (!refused) throw describeFailure(provider.store, error);
      for (const one of refused) {
        if (one.code !== DUPLICATE_KEY) throw refusal(table, inserts[one.index], one);
        if (mode === 'upsert') replaces.push(inserts[one.index]);
      }
    }
  }
  if (replaces.length > 0) {
    try {
      await collection.bulkWrite(
        replaces.map((document) => ({ replaceOne: { filter: { _id: document._id }, replacement: document, upsert: true } })),
        { ordered: true },
      );
    } catch (error) {
      const refused = writeErrorsOf(error)?.[0];
      throw refused ? refusal(table, replaces[refused.index], refused) : describeFailure(provider.store, error);
    }
  }
}

/** The documents with these keys (conflict checks read the target's version of a batch). */
async function rowsByKey(
  provider: MongoProvider,
  table: string,
  columns: SyncColumn[],
  key: string[],
  keys: SyncValue[][],
  database?: string,
): Promise<SyncRow[]> {
  singleKey(table, key);
  if (keys.length === 0) return [];
  return guarded(provider, async () => {
    const db = await dbOf(provider, database);
    const recorded = await readShape(db, table);
    const field = fieldOf(recorded, key[0]);
    const keyColumn = columns.find((c) => c.name === key[0])!;
    const collection = db.collection(table);
    const sample = await collection.findOne({}, { promoteValues: false });
    const projection = Object.fromEntries(columns.map((column) => [fieldOf(recorded, column.name), 1]));
    const wanted = keys.map((values) => queryValue(table, keyColumn, values[0], sample?.[field]));
    const documents = await collection.find({ [field]: { $in: wanted } } as Document, { projection, promoteValues: false }).toArray();
    return documents.map((document) => {
      const row: SyncRow = {};
      for (const column of columns) {
        const name = fieldOf(recorded, column.name);
        row[column.name] = canonicalize(table, column, document[name], name in document, () => [shownBson(document[field])]);
      }
      return row;
    });
  });
}

export const mongoSync: SyncCapability<MongoProvider> = {
  // FerretDB and MongoDB without a replica set have no transactions: a batch's documents, then its checkpoint.
  atomicBatches: false,

  async describe(provider, table, database) {
    return guarded(provider, async () => describeCollection(await dbOf(provider, database), table));
  },

  async openReader(provider, table, database): Promise<SyncReader> {
    const db = await guarded(provider, () => dbOf(provider, database));
    const collection: Collection = db.collection(table);
    const recorded = await guarded(provider, () => readShape(db, table));
    return {
      consistency: CONSISTENCY,
      async count() {
        return guarded(provider, () => collection.countDocuments({}));
      },
      async *batches(options) {
        const fields = options.key.map((name) => fieldOf(recorded, name));
        const keyColumns = options.key.map((name) => options.columns.find((c) => c.name === name)!);
        const sort = Object.fromEntries(fields.map((field) => [field, 1 as const]));
        const projection = Object.fromEntries(options.columns.map((column) => [fieldOf(recorded, column.name), 1]));
        // A stored document shows the BSON types the key (and watermark) are compared as.
        const sample = await guarded(provider, () => collection.findOne({}, { sort, promoteValues: false }));
        let after: unknown[] | null = options.after ? options.after.map((value, i) => queryValue(table, keyColumns[i], value, sample?.[fields[i]])) : null;
        let watermark: Filter<Document> = {};
        if (options.watermark) {
          const column = options.columns.find((c) => c.name === options.watermark!.column)!;
          const field = fieldOf(recorded, column.name);
          watermark = { [field]: { $gte: queryValue(table, column, options.watermark.since, sample?.[field]) } };
        }
        for (;;) {
          const filter: Filter<Document> = after ? { $and: [afterFilter(fields, after), watermark] } : watermark;
          const documents = await guarded(provider, () =>
            collection.find(filter, { sort, projection, limit: options.batchSize, promoteValues: false }).toArray(),
          );
          if (documents.length === 0) return;
          const rows = documents.map((document) => {
            const row: SyncRow = {};
            const keyNow = () => fields.map((field) => shownBson(document[field]));
            for (const column of options.columns) {
              const field = fieldOf(recorded, column.name);
              row[column.name] = canonicalize(table, column, document[field], field in document, keyNow);
            }
            return row;
          });
          yield rows;
          const last = documents[documents.length - 1];
          after = fields.map((field) => last[field] ?? null);
          if (documents.length < options.batchSize) return;
        }
      },
      async close() {
        // The store's client is shared; it is closed with the provider.
      },
    };
  },

  async createTable(provider, table, shape, database) {
    const keyColumn = singleKey(table, shape.key);
    if (keyColumn !== '_id' && shape.columns.some((column) => column.name === '_id'))
      throw new StorageError('USAGE', `${table} has a column named _id, but its key is ${keyColumn}: in MongoDB the key is kept as _id.`, {
        hint: 'Key the job by _id (key: [_id]), or rename the column at the source.',
        details: { table },
      });
    await guarded(provider, async () => {
      const db = await dbOf(provider, database);
      if (!(await exists(db, table))) await db.createCollection(table);
      const record: ShapeRecord = {
        _id: table,
        key: keyColumn,
        columns: shape.columns.map((column) => ({ name: column.name, type: column.type, nullable: column.name === keyColumn ? false : column.nullable })),
      };
      await db.collection<ShapeRecord>(SHAPES).replaceOne({ _id: table }, record, { upsert: true });
    });
  },

  async readCheckpoint(provider, job, database) {
    return guarded(provider, async () => {
      const db = await dbOf(provider, database);
      if (!(await exists(db, CHECKPOINTS))) return undefined;
      const document = await db.collection(CHECKPOINTS).findOne({ _id: job as never });
      return document ? decodeCheckpoint(document) : undefined;
    });
  },

  async writeCheckpoint(provider, checkpoint, database) {
    await guarded(provider, async () => saveCheckpoint(await dbOf(provider, database), checkpoint));
  },

  async apply(provider, batch, database) {
    const keyColumn = singleKey(batch.table, batch.key);
    const db = await guarded(provider, () => dbOf(provider, database));
    const recorded = await guarded(provider, () => readShape(db, batch.table));
    // Into a collection sync did not create (keyed by _id), the key column is `_id` itself.
    if (recorded && recorded.key !== keyColumn)
      throw new StorageError('REFUSED', `${batch.table} keeps ${recorded.key} as _id, not the job's key ${keyColumn}.`, {
        hint: 'Key the job as the collection was created, or sync into another collection.',
      });
    // Every document is converted before anything is written: a value that cannot be kept stops the batch whole.
    const documents = documentsOf(batch.table, batch.columns, keyColumn, batch.rows);
    if (documents.length > 0) await writeDocuments(provider, db.collection(batch.table), batch.table, documents, batch.mode);
    if (batch.records) await guarded(provider, () => writeRecords(db, batch.records!));
    // Not atomic with the documents: a crash between the two replays this batch, which then finds its documents there and changes nothing.
    if (batch.checkpoint) await guarded(provider, () => saveCheckpoint(db, batch.checkpoint!));
  },

  rowsByKey,

  async readRecords(provider, job, kind, keys, database) {
    return guarded(provider, async () => readRecords(await dbOf(provider, database), job, kind, keys));
  },

  async deleteMissing(provider, table, key, keep, database) {
    return guarded(provider, async () => {
      const db = await dbOf(provider, database);
      const shape = await describeCollection(db, table);
      if (!shape) return 0;
      const recorded = await readShape(db, table);
      const fields = key.map((name) => fieldOf(recorded, name));
      const keyColumns = key.map((name) => shape.columns.find((column) => column.name === name)!);
      const collection = db.collection(table);
      const sort = Object.fromEntries(fields.map((field) => [field, 1 as const]));
      const projection = Object.fromEntries(fields.map((field) => [field, 1]));
      let deleted = 0;
      let after: unknown[] | null = null;
      for (;;) {
        const documents: Document[] = await collection
          .find(after ? afterFilter(fields, after) : {}, { sort, projection, limit: 5000, promoteValues: false })
          .toArray();
        if (documents.length === 0) break;
        const gone: Document[] = [];
        for (const document of documents) {
          const values = keyColumns.map((column, i) =>
            canonicalize(table, column, document[fields[i]], fields[i] in document, () => [shownBson(document._id)]),
          );
          if (!(await keep.has(values))) gone.push(document);
        }
        if (gone.length > 0) {
          if (fields.length === 1 && fields[0] === '_id') await collection.deleteMany({ _id: { $in: gone.map((document) => document._id) } });
          else for (const document of gone) await collection.deleteOne({ _id: document._id });
        }
        deleted += gone.length;
        const last: Document = documents[documents.length - 1];
        after = fields.map((field) => last[field] ?? null);
        if (documents.length < 5000) break;
      }
      return deleted;
    });
  },
};
