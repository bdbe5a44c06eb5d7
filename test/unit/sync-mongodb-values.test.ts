// MongoDB values sync reads that the suite's FerretDB cannot store (it has no Decimal128) or that
// must be refused rather than rounded: each in canonical form, or an error naming column and key.
import { Binary, Decimal128, Double, Int32, Long } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { canonicalize, plainDecimal } from '../../src/engine/engines/mongodb/sync.js';
import type { SyncColumn, SyncType } from '../../src/engine/engines/spec.js';

const column = (type: SyncType): SyncColumn => ({ name: 'v', type, nullable: true, native: 'test' });
const read = (type: SyncType, value: unknown, present = true) => canonicalize('t', column(type), value, present, () => [7n]);

describe('MongoDB values in canonical form', () => {
  it('reads Decimal128 in its exponent forms as plain decimals', () => {
    expect(plainDecimal('1.23E+5')).toBe('123000');
    expect(plainDecimal('-1.5E-1')).toBe('-0.15');
    expect(plainDecimal('1E-7')).toBe('0.0000001');
    expect(plainDecimal('12.50')).toBe('12.5');
    expect(read('decimal', Decimal128.fromString('1.2300E+3'))).toBe('1230');
    expect(read('decimal', Decimal128.fromString('-0.00'))).toBe('0');
    expect(() => read('decimal', Decimal128.fromString('NaN'))).toThrow(/t\.v of the row with key 7 holds/);
  });

  it('keeps integers exact and refuses a long past 2^53 in a float column', () => {
    expect(read('integer', new Int32(-5))).toBe(-5n);
    expect(read('integer', Long.fromBigInt(9007199254740993n))).toBe(9007199254740993n);
    expect(() => read('integer', new Double(1))).toThrow(/not a integer/);
    expect(read('float', new Int32(3))).toBe(3);
    expect(() => read('float', Long.fromBigInt(9007199254740993n))).toThrow(/not a float/);
  });

  it('reads UUIDs, instants, JSON null and missing fields', () => {
    expect(read('uuid', new Binary(Buffer.from('a0eebc999c0b4ef8bb6d6bb9bd380a11', 'hex'), 4))).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(read('timestamptz', new Date('2023-11-14T22:13:23.5Z'))).toBe('2023-11-14T22:13:23.500000Z');
    expect(read('json', null, true)).toEqual({ json: null });
    expect(read('json', undefined, false)).toBeNull();
    expect(read('text', null, true)).toBeNull();
    expect(read('json', { a: [new Int32(1), Long.fromNumber(2)], at: new Date(0) })).toEqual({
      json: { a: [1, 2], at: { $date: '1970-01-01T00:00:00.000Z' } },
    });
    expect(() => read('json', { big: Long.fromBigInt(2n ** 60n) })).toThrow(/not a json/);
  });
});
