import { describe, expect, it } from 'vitest';
import { maskUrl, redact, redactDeep, registerSecret } from '../../src/engine/redact.js';

describe('redaction', () => {
  it('masks the password of a connection URL and keeps the rest', () => {
    expect(maskUrl('postgres://app:hunter2xyz@db1:5432/app?sslmode=require')).toBe('postgres://app:****@db1:5432/app?sslmode=require');
    expect(maskUrl('mongodb://ops@mongo1:27017/events')).toBe('mongodb://ops@mongo1:27017/events');
  });

  it('scrubs URL credentials inside free text such as driver errors', () => {
    expect(redact('could not connect to postgres://u:p4ss@h/db: refused')).toBe('could not connect to postgres://u:****@h/db: refused');
  });

  it('removes every registered secret, URL-encoded forms included', () => {
    registerSecret('p@ss w/rd-777');
    const text = `a p@ss w/rd-777 b ${encodeURIComponent('p@ss w/rd-777')} c`;
    expect(redact(text)).toBe('a **** b **** c');
  });

  it('redacts every string of a JSON document', () => {
    registerSecret('deepSecret-42');
    expect(redactDeep({ a: ['x deepSecret-42'], b: { c: 'deepSecret-42' }, n: 3 })).toEqual({ a: ['x ****'], b: { c: '****' }, n: 3 });
  });
});
