// test_decoding's text lines, as follow mode reads them from a PostgreSQL slot: quoted names and
// values, doubled quotes, NULLs, unchanged TOAST values, bare numbers and booleans, array types.
import { describe, expect, it } from 'vitest';
import { parseTuple, slotName } from '../../src/engine/engines/postgres/sync-follow.js';

describe('test_decoding tuples', () => {
  it('reads quoted names and values, doubled quotes, NULLs, bare values and unchanged TOAST values', () => {
    const { tuple } = parseTuple(
      `id[bigint]:7 "Odd ""Name"""[text]:'it''s a [x]: y' n[numeric]:null ok[boolean]:true tags[text[]]:'{a,"b c"}' big[text]:unchanged-toast-datum f[double precision]:-1.5e-10`,
    );
    expect([...tuple.entries()]).toEqual([
      ['id', '7'],
      ['Odd "Name"', "it's a [x]: y"],
      ['n', null],
      ['ok', 'true'],
      ['tags', '{a,"b c"}'],
      ['big', undefined],
      ['f', '-1.5e-10'],
    ]);
  });

  it('stops at new-tuple: after an old key, and keeps spaces and newlines inside values', () => {
    const line = `old-key: id[integer]:1 new-tuple: id[integer]:2 v[text]:'two words\nand a line'`;
    const old = parseTuple(line, 'old-key:'.length);
    expect([...old.tuple.entries()]).toEqual([['id', '1']]);
    const next = parseTuple(line.slice(old.end).replace(/^\s*new-tuple:/, ''));
    expect([...next.tuple.entries()]).toEqual([
      ['id', '2'],
      ['v', 'two words\nand a line'],
    ]);
  });

  it('names each job its own valid slot, stable and within 63 bytes', () => {
    expect(slotName('orders')).toBe(slotName('orders'));
    expect(slotName('orders')).not.toBe(slotName('Orders'));
    const long = slotName('lite.orders->main.public.orders_with_a_very_long_name_indeed');
    expect(long).toMatch(/^[a-z0-9_]{1,63}$/);
  });
});
