// Names derived from a database name fit the engine's limit by construction and stay distinct.
import { describe, expect, it } from 'vitest';
import { checkDerivedName, derivedName, nameStamp } from '../../src/engine/derived-names.js';
import { mongodb } from '../../src/engine/engines/mongodb/index.js';
import { postgres } from '../../src/engine/engines/postgres/index.js';
import { sqlite } from '../../src/engine/engines/sqlite/index.js';

describe('derived names', () => {
  it('keep a short name whole', () => {
    expect(derivedName(postgres, 'app', '__snap_before')).toBe('app__snap_before');
    expect(derivedName(sqlite, 'app', '__pre_restore_20261127141233')).toBe('app__pre_restore_20261127141233');
  });

  it('shorten a long base with a hash of the whole base, within 63 bytes, the suffix intact', () => {
    const base = 'a'.repeat(50);
    const name = derivedName(postgres, base, '__snap_before_the_long_migration');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^a+_[0-9a-f]{8}__snap_before_the_long_migration$/);
    // The same base always gives the same name; two bases sharing a long prefix do not collide.
    expect(derivedName(postgres, base, '__snap_before_the_long_migration')).toBe(name);
    expect(derivedName(postgres, `${base}b`, '__snap_before_the_long_migration')).not.toBe(name);
  });

  it('count bytes, not characters, and never split a character', () => {
    const name = derivedName(postgres, 'ü'.repeat(30), '__restoring_20261127141233');
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    expect(name).not.toContain('\uFFFD');
    expect(Buffer.from(name).toString('utf8')).toBe(name);
  });

  it('replace what MongoDB and SQLite do not accept, keeping names distinct', () => {
    expect(derivedName(mongodb, 'shop.eu', '__snap_x')).toMatch(/^shop_eu_[0-9a-f]{8}__snap_x$/);
    expect(derivedName(sqlite, 'my app', '__snap_x')).toMatch(/^my_app_[0-9a-f]{8}__snap_x$/);
  });

  it('refuse a name the engine would not keep whole', () => {
    expect(() => checkDerivedName(postgres, 'x'.repeat(64))).toThrow(/over 63 bytes/);
    expect(() => checkDerivedName(mongodb, 'a.b')).toThrow();
    expect(() => checkDerivedName(postgres, 'x'.repeat(63))).not.toThrow();
  });

  it('use one timestamp: UTC YYYYMMDDHHMMSS', () => {
    expect(nameStamp(new Date('2026-11-27T14:12:33.456Z'))).toBe('20261127141233');
  });
});
