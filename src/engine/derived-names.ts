// Names the tool derives from a database's name (snapshot copies, restore staging copies, the
// data a restore replaced, restore tests): one scheme and one timestamp for every engine, and
// each name fits the engine's limit by construction. PostgreSQL silently truncates identifiers
// over 63 bytes, so a name that does not fit would be created under another name than the one
// recorded; here a long base is shortened and given a hash of the full base instead.
import { createHash } from 'node:crypto';
import type { Engine } from './config/schema.js';
import { StorageError } from './errors.js';

/** Longest name each engine keeps whole: PostgreSQL NAMEDATALEN - 1 bytes; MongoDB database names (< 64 bytes); SQLite databases of a store are NAME.db files whose NAME this tool limits to 63. */
export const NAME_LIMIT: Record<Engine, number> = { postgres: 63, mongodb: 63, sqlite: 63 };

/** Characters an engine does not accept in a derived name (only for MongoDB and SQLite; PostgreSQL takes any quoted identifier). */
const UNSAFE: Record<Engine, RegExp | undefined> = {
  postgres: undefined,
  mongodb: /[/\\. "$*<>:|?\0]/g,
  sqlite: /[^A-Za-z0-9_-]/g,
};

/** The one timestamp of derived names: UTC, YYYYMMDDHHMMSS (sorts by time). */
export function nameStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/\D/g, '').slice(0, 14);
}

function bytes(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function cutToBytes(text: string, max: number): string {
  let out = '';
  for (const char of text) {
    if (bytes(out + char) > max) break;
    out += char;
  }
  return out;
}

/**
 * `base` + `suffix` (e.g. `app` + `__snap_before`), made to fit the engine: characters it does not
 * accept become `_`, and a base too long for the suffix is cut and followed by `_` and 8 hex
 * digits of its SHA-256, so two long bases that share a prefix still get different names, and the
 * same base always gets the same name.
 */
export function derivedName(engine: Engine, base: string, suffix: string): string {
  const unsafe = UNSAFE[engine];
  const safeBase = unsafe ? base.replace(unsafe, '_') : base;
  const safeSuffix = unsafe ? suffix.replace(unsafe, '_') : suffix;
  const limit = NAME_LIMIT[engine];
  const whole = `${safeBase}${safeSuffix}`;
  const name =
    safeBase === base && bytes(whole) <= limit
      ? whole
      : `${cutToBytes(safeBase, limit - bytes(safeSuffix) - 9)}_${createHash('sha256').update(base).digest('hex').slice(0, 8)}${safeSuffix}`;
  checkDerivedName(engine, name);
  return name;
}

/** Refuses a name the engine would not keep whole (checked before anything is created under it). */
export function checkDerivedName(engine: Engine, name: string): void {
  const unsafe = UNSAFE[engine];
  if (!name || bytes(name) > NAME_LIMIT[engine] || (unsafe && new RegExp(unsafe.source).test(name))) {
    throw new StorageError(
      'USAGE',
      `"${name}" cannot be used as a ${engine} database name: it is over ${NAME_LIMIT[engine]} bytes or has characters ${engine} does not accept.`,
      {
        hint: 'Use a shorter name (for a snapshot: a shorter --name).',
      },
    );
  }
}
