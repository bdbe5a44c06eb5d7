// What a tenant still needs and what is wrong with its ledger; which tenant names are accepted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations, pendingFor } from '../../src/engine/tenant/migrations.js';
import { checkTenantName } from '../../src/engine/tenant/names.js';

const m = (name: string, checksum = `c-${name}`) => ({ name, checksum, body: '' });
const applied = (name: string, checksum = `c-${name}`) => ({ tenant: 'a', name, checksum, appliedAt: 'then' });

describe('pendingFor', () => {
  it('lists the migrations not applied, in order', () => {
    expect(pendingFor('a', [m('001'), m('002'), m('003')], [applied('001')])).toEqual({ pending: [m('002'), m('003')], problems: [] });
    expect(pendingFor('a', [m('001')], [applied('001')])).toEqual({ pending: [], problems: [] });
  });
  it('names an edited applied file, a vanished one, and a new one ordered before an applied one', () => {
    const { problems } = pendingFor('a', [m('001', 'changed'), m('0015'), m('003')], [applied('001'), applied('002'), applied('003')]);
    expect(problems.map((p) => `${p.migration}: ${p.problem.split(' (')[0]}`)).toEqual([
      '001: edited after it was applied',
      '002: applied, but its file is gone',
      '0015: new, but ordered before 003, which is already applied',
    ]);
  });
});

describe('loadMigrations', () => {
  it('reads the files with the extension in name order, each with its SHA-256', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-migrations-'));
    fs.writeFileSync(path.join(dir, '002_b.sql'), 'b');
    fs.writeFileSync(path.join(dir, '001_a.sql'), 'a');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
    const loaded = loadMigrations(dir, '.sql');
    expect(loaded.map((x) => x.name)).toEqual(['001_a', '002_b']);
    expect(loaded[0].checksum).toBe('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
    expect(loadMigrations(undefined, '.sql')).toEqual([]);
    expect(() => loadMigrations(path.join(dir, 'nope'), '.sql')).toThrow(/does not exist/);
  });
});

describe('checkTenantName', () => {
  it('accepts lower-case names of any script with digits, _ and -', () => {
    for (const name of ['acme', 'a1', 'zürich', '東京', 'a_b-c', 'select']) expect(() => checkTenantName(name), name).not.toThrow();
  });
  it('refuses upper case (suggesting the lower-case name), a leading digit or _, spaces, dots, slashes and non-NFC text', () => {
    expect(() => checkTenantName('Acme')).toThrow(expect.objectContaining({ exitCode: 64, hint: expect.stringContaining('"acme"') }));
    for (const name of ['1a', '_a', 'a b', 'a.b', 'a/b', '', 'zürich'.normalize('NFD')]) expect(() => checkTenantName(name), name).toThrow();
  });
});
