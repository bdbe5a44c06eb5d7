// MongoDB tenant migrations are declarative JSON steps, checked strictly before anything runs: an
// unknown step kind or field, a wrong type or a name MongoDB would refuse is a config error naming
// the file and the step (counted from 1), with a hint listing the steps there are.
import { describe, expect, it } from 'vitest';
import { mongoTenancy } from '../../src/engine/engines/mongodb/tenancy.js';
import { parseSteps } from '../../src/engine/engines/mongodb/tenancy-steps.js';
import { StorageError } from '../../src/engine/errors.js';

const migration = (body: unknown) => ({ name: '0002_price', checksum: 'x', body: typeof body === 'string' ? body : JSON.stringify(body) });

function refusal(body: unknown): StorageError {
  try {
    parseSteps(migration(body));
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('the migration was accepted');
}

describe('MongoDB tenant migration steps', () => {
  it('accept each step kind in its documented form', () => {
    const steps = [
      { createCollection: 'items' },
      { createIndex: { collection: 'items', keys: { name: 1, 'price.amount': -1 }, name: 'items_name', unique: false } },
      { createIndex: { collection: 'items', keys: { sku: 1 }, name: 'items_sku' } },
      { dropIndex: { collection: 'items', name: 'items_name' } },
      { renameField: { collection: 'items', from: 'old', to: 'new' } },
      { setDefault: { collection: 'items', field: 'price', value: 0 } },
      { setDefault: { collection: 'items', field: 'tags', value: { list: [], note: null } } },
      { setDefault: { collection: 'items', field: 'gone', value: null } },
    ];
    expect(parseSteps(migration(steps))).toEqual(steps);
    expect(parseSteps(migration([]))).toEqual([]);
    expect(() => mongoTenancy.checkMigration!(migration(steps))).not.toThrow();
  });

  it('refuse an unknown step kind, naming the file, the step and the steps there are', () => {
    const error = refusal([{ createCollection: 'items' }, { dropCollection: 'items' }]);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('Migration 0002_price.json, step 2 of 2: unknown step "dropCollection". Nothing was applied.');
    expect(error.details).toEqual({ file: '0002_price.json', step: 2 });
    for (const kind of ['createCollection', 'createIndex', 'dropIndex', 'renameField', 'setDefault']) expect(error.hint).toContain(kind);
  });

  it('refuse unknown and missing fields, wrong types and names MongoDB would refuse', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ createIndex: { collection: 'items', keys: { a: 1 }, name: 'a', sparse: true } }, /createIndex has no field "sparse"/],
      [{ createIndex: { collection: 'items', keys: { a: 1 } } }, /createIndex lacks "name"/],
      [{ createIndex: { collection: 'items', keys: { a: 'text' }, name: 'a' } }, /key "a" is "text", not 1 or -1/],
      [{ createIndex: { collection: 'items', keys: {}, name: 'a' } }, /keys is an object/],
      [{ createIndex: { collection: 'items', keys: { a: 1 }, name: 'a', unique: 'yes' } }, /unique is true or false/],
      [{ dropIndex: { collection: 'items', name: '_id_' } }, /other than _id_/],
      [{ renameField: { collection: 'items', from: 'a', to: 'a.b' } }, /overlap/],
      [{ renameField: { collection: 'items', from: '_id', to: 'id' } }, /_id cannot be renamed/],
      [{ renameField: { collection: 'items', from: '$a', to: 'b' } }, /starting with \$/],
      [{ setDefault: { collection: 'items', field: 'price' } }, /setDefault lacks "value"/],
      [{ setDefault: { collection: 'items', field: 'p', value: { $set: 1 } } }, /key "\$set"/],
      [{ createCollection: 'system.views' }, /belong to the server/],
      [{ createCollection: 'a$b' }, /\$ or NUL/],
      [{ createCollection: '' }, /non-empty string/],
      [{ createCollection: 'items', createIndex: {} }, /exactly one key/],
      ['createCollection', /one key, its kind/],
    ];
    for (const [step, expected] of cases) {
      const error = refusal([{ createCollection: 'ok' }, step]);
      expect(error.message, JSON.stringify(step)).toMatch(expected);
      expect(error.message).toContain('0002_price.json, step 2 of 2');
    }
  });

  it('refuse a file that is not JSON, or not an array of steps', () => {
    expect(refusal('[{"createCollection": "items"},]').message).toMatch(/^Migration 0002_price\.json is not JSON: /);
    expect(refusal({ createCollection: 'items' }).message).toBe('Migration 0002_price.json is not a JSON array of steps.');
  });

  it('keep tenant databases to names MongoDB, its tools and FerretDB all take', () => {
    const settings = { prefix: 't_', roles: false, lockTimeoutMs: 5000 };
    expect(mongoTenancy.containerProblem('t_acme-2', settings)).toBeUndefined();
    expect(mongoTenancy.containerProblem(`t_${'a'.repeat(61)}`, settings)).toBeUndefined();
    expect(mongoTenancy.containerProblem(`t_${'a'.repeat(62)}`, settings)).toMatch(/64 bytes, and MongoDB database names are at most 63/);
    expect(mongoTenancy.containerProblem('t_über', settings)).toMatch(/ASCII/);
    expect(mongoTenancy.containerProblem('admin', settings)).toMatch(/server’s own/);
  });
});
