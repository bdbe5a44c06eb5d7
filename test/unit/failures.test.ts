import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getStore, loadConfig } from '../../src/engine/config/load.js';
import { describeFailure, isTransient } from '../../src/engine/engines/failures.js';
import { ENGINES, loadEngine } from '../../src/engine/engines/index.js';

const PASSWORD = 'Qw8-driverLeak-DISTINCTIVE-5150';

async function store(name: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-failures-'));
  const file = path.join(dir, 'c.yaml');
  fs.writeFileSync(
    file,
    [
      'stores:',
      `  pg: { engine: postgres, url: "postgres://app:${PASSWORD}@db1:6543/app", connectTimeout: 2s }`,
      '  mongo: { engine: mongodb, url: "mongodb://m1/ev" }',
      '  lite: { engine: sqlite, path: a.db }',
    ].join('\n'),
  );
  return getStore(await loadConfig({ configPath: file, env: {} }), name);
}

const withCode = (message: string, code: string | number) => Object.assign(new Error(message), { code });

describe('driver failures as operator errors', () => {
  // What an engine's own errors mean comes with its spec, loaded (as in a run) before its store is used.
  beforeAll(async () => {
    for (const engine of ENGINES) await loadEngine(engine);
  });

  it('scrubs a password that a driver message repeats, raw or inside a URL', async () => {
    const pg = await store('pg');
    const failure = describeFailure(pg, new Error(`bad thing for postgres://app:${PASSWORD}@db1:6543/app and ${PASSWORD}`));
    expect(failure.message).not.toContain(PASSWORD);
    expect(failure.message).toContain('postgres://app:****@db1:6543/app');
  });

  it('classifies refused as unreachable, a wrong password as auth, a hang as timeout', async () => {
    const pg = await store('pg');
    expect(describeFailure(pg, withCode('connect ECONNREFUSED 10.0.0.1:6543', 'ECONNREFUSED'))).toMatchObject({ code: 'UNREACHABLE', exitCode: 69 });
    expect(describeFailure(pg, withCode('password authentication failed for user "app"', '28P01'))).toMatchObject({ code: 'AUTH_FAILED', exitCode: 78 });
    const timeout = describeFailure(pg, new Error('timeout expired'));
    expect(timeout).toMatchObject({ code: 'TIMEOUT', exitCode: 69 });
    expect(timeout.message).toContain('db1:6543');
    expect(timeout.message).toContain('2000ms');
    const mongo = await store('mongo');
    expect(describeFailure(mongo, withCode('Authentication failed.', 18))).toMatchObject({ code: 'AUTH_FAILED' });
    const lite = await store('lite');
    expect(describeFailure(lite, withCode('file is not a database', 'SQLITE_NOTADB'))).toMatchObject({ code: 'BAD_DATA', exitCode: 65 });
  });

  it('retries only what can heal: network errors and server restarts, not bad passwords or SQL errors', () => {
    expect(isTransient(withCode('refused', 'ECONNREFUSED'))).toBe(true);
    expect(isTransient(withCode('terminating connection due to administrator command', '57P01'))).toBe(true);
    expect(isTransient(withCode('sorry, too many clients already', '53300'))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { name: 'MongoNetworkError' }))).toBe(true);
    expect(isTransient(withCode('password authentication failed', '28P01'))).toBe(false);
    expect(isTransient(withCode('syntax error at or near "selec"', '42601'))).toBe(false);
    expect(isTransient(withCode('getaddrinfo ENOTFOUND db1', 'ENOTFOUND'))).toBe(false);
  });

  it('a full or read-only local disk is reported as a file-system error with its path, never as the server rejecting the request', async () => {
    for (const name of ['pg', 'mongo', 'lite']) {
      for (const [code, words] of [
        ['ENOSPC', /no space left/],
        ['EROFS', /read-only/],
      ] as const) {
        const error = Object.assign(new Error(`${code}: something, write`), { code, syscall: 'write', path: '/srv/backups/backups/x/payload.enc' });
        const failure = describeFailure(await store(name), error);
        expect(failure.code, `${name} ${code}`).toBe('FAILED');
        expect(failure.message).toMatch(words);
        expect(failure.message).toContain('/srv/backups/backups/x/payload.enc');
        expect(failure.hint).not.toMatch(/server/);
      }
    }
    // A refused connection is still the store's failure.
    expect(describeFailure(await store('pg'), Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' })).code).toBe(
      'UNREACHABLE',
    );
  });
});
