// Canonical values: one text form per value, the same whichever engine it came from, so rows can
// be compared and hashed across engines (a timestamp from PostgreSQL and the same instant from
// SQLite are equal), and keys can be stored in checkpoints.
import { createHash } from 'node:crypto';
import type { SyncColumn, SyncRow, SyncType, SyncValue } from '../engines/spec.js';
import { StorageError } from '../errors.js';

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stable((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** "1.50" and "1.5" are the same decimal; "-0" is "0". */
export function normalizeDecimal(text: string): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match) return text.trim();
  const [, sign, whole, fraction = '', exponent] = match;
  if (exponent) return text.trim();
  const int = whole.replace(/^0+(?=\d)/, '') || '0';
  const frac = fraction.replace(/0+$/, '');
  const body = frac ? `${int}.${frac}` : int;
  return body === '0' ? '0' : `${sign === '-' ? '-' : ''}${body}`;
}

/** The text form of a value, tagged with its kind, for comparing and hashing. */
export function canonicalText(value: SyncValue): string {
  if (value === null) return 'n';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'bigint') return `i${value}`;
  if (typeof value === 'number') return `f${Object.is(value, -0) ? 0 : value}`;
  if (typeof value === 'string') return `s${value}`;
  if (Buffer.isBuffer(value)) return `b${value.toString('base64')}`;
  return `j${stable(value.json)}`;
}

const double = Buffer.alloc(8);

/**
 * The form a value is hashed in to compare key ranges: canonicalText, except that a float is its
 * IEEE 754 bytes in hex (`f` + 16 hex digits; -0 as 0) and bytes are hex (`b` + hex), forms a
 * database can produce server-side. Every engine's server-side hash must produce exactly this.
 */
export function hashText(value: SyncValue): string {
  if (typeof value === 'number') {
    double.writeDoubleBE(value + 0);
    return `f${double.toString('hex')}`;
  }
  if (Buffer.isBuffer(value)) return `b${value.toString('hex')}`;
  return canonicalText(value);
}

export function rowHashText(row: SyncRow, columns: SyncColumn[]): string {
  let text = '';
  for (let i = 0; i < columns.length; i++) text += (i ? '\u0001' : '') + hashText(row[columns[i].name] ?? null);
  return text;
}

/** A key range's hash: SHA-256 (hex) of its rows' hash texts joined by "\n" (UTF-8); "" for no rows. */
export function rangeHash(rowTexts: string[]): string {
  return rowTexts.length ? textHash(rowTexts.join('\n')) : '';
}

export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Range boundaries of a single integer key spread evenly between its lowest and highest value
 * (no scan of the keys), when the keys are dense enough for the ranges to hold about `every` rows
 * each; undefined otherwise (the engine then takes every `every`-th key).
 */
export function evenBoundaries(min: bigint | null, max: bigint | null, rows: number, every: number): SyncValue[][] | undefined {
  if (min === null || max === null || rows === 0) return min === null ? [] : undefined;
  const span = max - min + 1n;
  if (span > BigInt(rows) * 16n) return undefined;
  const ranges = Math.max(1, Math.round(rows / every));
  const step = (span + BigInt(ranges) - 1n) / BigInt(ranges);
  const boundaries: SyncValue[][] = [];
  for (let at = min + step - 1n; at < max; at += step) boundaries.push([at]);
  return boundaries;
}

const TEXT_SPECIAL = /[\\\t\n\r]/;

function escapedText(text: string): string {
  return TEXT_SPECIAL.test(text) ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : text;
}

/**
 * A canonical value in the text lines of bulk loads (PostgreSQL's COPY text format): \N for NULL,
 * t/f, numbers and strings as they are, bytes as \x and hex, JSON as its text; backslash, tab,
 * newline and carriage return escaped.
 */
export function textValue(value: SyncValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'string') return escapedText(value);
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  return escapedText(JSON.stringify(value.json));
}

/** A row as one text line (tab-separated textValue, ending in a newline). */
export function textLine(row: SyncRow, columns: SyncColumn[]): string {
  let line = '';
  for (let i = 0; i < columns.length; i++) line += (i ? '\t' : '') + textValue(row[columns[i].name] ?? null);
  return `${line}\n`;
}

export function rowText(row: SyncRow, columns: SyncColumn[]): string {
  return columns.map((column) => canonicalText(row[column.name] ?? null)).join('\u0001');
}

export function keyOf(row: SyncRow, key: string[]): SyncValue[] {
  return key.map((name) => row[name] ?? null);
}

export function keyText(values: SyncValue[]): string {
  return values.map(canonicalText).join('\u0001');
}

/** Keys compare as the engines order them: numbers numerically, text and bytes bytewise (collation "C"). */
export function compareKeys(a: SyncValue[], b: SyncValue[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    if ((typeof x === 'bigint' || typeof x === 'number') && (typeof y === 'bigint' || typeof y === 'number')) {
      if (x < y) return -1;
      if (x > y) return 1;
      continue;
    }
    const bx = Buffer.isBuffer(x) ? x : Buffer.from(String(x), 'utf8');
    const by = Buffer.isBuffer(y) ? y : Buffer.from(String(y), 'utf8');
    const order = Buffer.compare(bx, by);
    if (order !== 0) return order;
  }
  return 0;
}

/** For checkpoints: a value as JSON, kinds kept (bigint, bytes, json). */
export function encodeValue(value: SyncValue): unknown {
  if (typeof value === 'bigint') return { i: value.toString() };
  if (Buffer.isBuffer(value)) return { b: value.toString('base64') };
  if (value !== null && typeof value === 'object') return { j: value.json };
  return value;
}

export function decodeValue(value: unknown): SyncValue {
  if (value && typeof value === 'object') {
    const tagged = value as { i?: string; b?: string; j?: unknown };
    if (tagged.i !== undefined) return BigInt(tagged.i);
    if (tagged.b !== undefined) return Buffer.from(tagged.b, 'base64');
    return { json: tagged.j };
  }
  return value as SyncValue;
}

/** A value as an operator reads it in a message. */
export function shownValue(value: SyncValue): string {
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex').slice(0, 32)}`;
  if (value !== null && typeof value === 'object') return JSON.stringify(value.json);
  return String(value);
}

/** A value a column of `type` cannot hold: stops the run naming the column and the row's key. */
export function unmappable(table: string, column: string, type: SyncType, value: unknown, key: SyncValue[]): StorageError {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : String(value);
  return new StorageError('BAD_DATA', `${table}.${column} of the row with key ${key.map(shownValue).join(', ')} holds ${shown}, which is not a ${type}.`, {
    hint: 'Fix the value at the source, or change the column type; sync never casts a value silently.',
    details: { table, column, type },
  });
}

const MICROS = (fraction: string | undefined) => (fraction ?? '').padEnd(6, '0').slice(0, 6);

/** "2023-11-14 22:13:23.5+01" (any ISO-like form with an offset or Z) → "2023-11-14T21:13:23.500000Z"; undefined when not a timestamp with zone. */
export function canonicalInstant(text: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i.exec(text.trim());
  if (!match) return undefined;
  const [, date, hh, mm, ss, fraction, zone] = match;
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const ms = Date.parse(`${date}T${hh}:${mm}:${ss}Z`) - offsetMinutes * 60_000;
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}.${MICROS(fraction)}Z`;
}

/** "2023-11-14 22:13:23.5" → "2023-11-14T22:13:23.500000"; undefined when not a timestamp without zone. */
export function canonicalLocal(text: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return undefined;
  return `${match[1]}T${match[2]}.${MICROS(match[3])}`;
}

export function canonicalDate(text: string): string | undefined {
  return /^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? text.trim() : undefined;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function canonicalUuid(text: string): string | undefined {
  if (!UUID.test(text.trim())) return undefined;
  const hex = text.trim().replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Throws, as an expression: `parse(text) ?? raise(error)`. */
export function raise(error: Error): never {
  throw error;
}

/** A timestamp watermark moved `ms` earlier (microseconds kept); other kinds of value as they are. */
export function earlierBy(value: SyncValue, type: SyncType, ms: number): SyncValue {
  if (ms <= 0 || typeof value !== 'string' || (type !== 'timestamptz' && type !== 'timestamp')) return value;
  const zone = type === 'timestamptz' ? 'Z' : '';
  const at = Date.parse(`${value.slice(0, 23)}Z`);
  if (Number.isNaN(at)) return value;
  return `${new Date(at - ms).toISOString().slice(0, 23)}${value.slice(23, 26)}${zone}`;
}
