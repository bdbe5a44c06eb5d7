// Names the tool derives from a database's name (snapshot copies, restore staging copies, the
// data a restore replaced, restore tests): one scheme and one timestamp for every engine, and
// each name fits the engine's limit by construction. PostgreSQL silently truncates identifiers
// over 63 bytes, so a name that does not fit would be created under another name than the one
// recorded; here a long base is shortened and given a hash of the full base instead.
import { createHash } from 'node:crypto';
import type { EngineSpec } from './engines/spec.js';
import { StorageError } from './errors.js';

/** What derived names need of an engine: its limits (spec.names) and its name in messages. */
export type NamingEngine = Pick<EngineSpec, 'names' | 'label'>;

/** The one timestamp of derived names: UTC, YYYYMMDDHHMMSS (sorts by time). */
export function nameStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/\D/g, '').slice(0, 14);
}

/**
 * The timestamp of a restore's staging copy and of the data it replaces: YYYYMMDDHHMMSSmmm. Restores
 * of one store run one at a time (its lock), and two of them within one second happen (a script, a
 * small database): to the second, the second restore's name for the data it replaced was the first
 * one's, so that data was lost (SQLite: renamed over) or the restore failed (PostgreSQL: the name
 * is taken). To the millisecond, restores that follow each other under a lock never share one.
 */
export function restoreStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/\D/g, '').slice(0, 17);
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
export function derivedName(engine: NamingEngine, base: string, suffix: string): string {
  const unsafe = engine.names.unsafe;
  const safeBase = unsafe ? base.replace(unsafe, '_') : base;
  const safeSuffix = unsafe ? suffix.replace(unsafe, '_') : suffix;
  const limit = engine.names.maxBytes;
  const whole = `${safeBase}${safeSuffix}`;
  const name =
    safeBase === base && bytes(whole) <= limit
      ? whole
      : `${cutToBytes(safeBase, limit - bytes(safeSuffix) - 9)}_${createHash('sha256').update(base).digest('hex').slice(0, 8)}${safeSuffix}`;
  checkDerivedName(engine, name);
  return name;
}

/** Refuses a name the engine would not keep whole (checked before anything is created under it). */
export function checkDerivedName(engine: NamingEngine, name: string): void {
  const unsafe = engine.names.unsafe;
  if (!name || bytes(name) > engine.names.maxBytes || (unsafe && new RegExp(unsafe.source).test(name))) {
    throw new StorageError(
      'USAGE',
      `"${name}" cannot be used as a ${engine.label} database name: it is over ${engine.names.maxBytes} bytes or has characters ${engine.label} does not accept.`,
      {
        hint: 'Use a shorter name (for a snapshot: a shorter --name).',
      },
    );
  }
}
