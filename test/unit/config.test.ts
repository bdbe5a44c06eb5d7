import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverConfig, getStore, loadConfig } from '../../src/engine/config/load.js';
import { describeConfig } from '../../src/engine/config/inspect.js';
import { resolvePassword } from '../../src/engine/config/secrets.js';
import { StorageError } from '../../src/engine/errors.js';
import { redact } from '../../src/engine/redact.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'storage-config-'));
}

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function loadError(options: Parameters<typeof loadConfig>[0]): Promise<StorageError> {
  try {
    await loadConfig(options);
  } catch (error) {
    return error as StorageError;
  }
  throw new Error('expected loadConfig to fail');
}

describe('configuration', () => {
  it('works with no file at all: one embedded SQLite store named local', async () => {
    const dir = tempDir();
    const config = await loadConfig({ cwd: dir, env: { XDG_CONFIG_HOME: path.join(dir, 'c') } });
    expect(config.source.kind).toBe('default');
    expect([...config.stores.keys()]).toEqual(['local']);
    const local = getStore(config, 'local');
    expect(local.engine).toBe('sqlite');
    expect(local.embedded).toBe(true);
  });

  it('finds files in the documented order: --config, STORAGE_CONFIG, ./storage.config.*', async () => {
    const dir = tempDir();
    const flagFile = write(dir, 'flag.yaml', 'stores: {}\n');
    const envFile = write(dir, 'env.json', '{}');
    write(dir, 'storage.config.yml', 'stores: {}\n');
    expect(discoverConfig({ cwd: dir, configPath: flagFile, env: { STORAGE_CONFIG: envFile } })).toEqual({ kind: 'flag', path: flagFile });
    expect(discoverConfig({ cwd: dir, env: { STORAGE_CONFIG: envFile } })).toEqual({ kind: 'env', path: envFile });
    expect(discoverConfig({ cwd: dir, env: {} })).toEqual({ kind: 'cwd', path: path.join(dir, 'storage.config.yml') });
  });

  it('reports every bad field with its path (exit 78)', async () => {
    const dir = tempDir();
    const file = write(
      dir,
      'bad.yaml',
      [
        'stores:',
        '  main: { engine: postgres, url: "http://nope", poolSize: 0 }',
        '  ev: { engine: mongodb }',
        '  lite: { engine: sqlite, path: x.db, colour: red }',
        'backup: { rpo: soon }',
      ].join('\n'),
    );
    const error = await loadError({ configPath: file, cwd: dir, env: {} });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.exitCode).toBe(78);
    const paths = (error.details?.issues as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['stores.main.url', 'stores.main.poolSize', 'stores.ev.url', 'stores.lite', 'backup.rpo']));
    expect(error.message).toContain('stores.main.url');
  });

  it("phrases problems in the operator's words: an unknown engine, a missing one, an unknown key, a bad option", async () => {
    const dir = tempDir();
    const file = write(
      dir,
      'words.yaml',
      [
        'stores:',
        '  legacy: { engine: oracle, url: "oracle://db/x" }',
        '  nameless: { url: "postgres://db/x" }',
        '  main: { engine: postgres, url: "postgres://db/x", pool: 3 }',
        'backup: { compression: lz4 }',
      ].join('\n'),
    );
    const issues = (await loadError({ configPath: file, cwd: dir, env: {} })).details?.issues as { path: string; message: string }[];
    const message = (path: string) => issues.find((issue) => issue.path === path)?.message;
    expect(message('stores.legacy.engine')).toBe('unknown engine "oracle"; expected one of postgres, mongodb, sqlite');
    expect(message('stores.nameless.engine')).toBe('is missing; say which engine this is: one of postgres, mongodb, sqlite');
    expect(message('stores.main')).toBe('unknown key "pool" (check the spelling)');
    expect(message('backup.compression')).toBe('"lz4" is not accepted; expected one of zstd, gzip, none');
    expect(issues.map((issue) => issue.message).join(' ')).not.toMatch(/discriminator|Invalid input|Unrecognized/);
  });

  it('refuses a MongoDB url that names no database (the driver would silently use "test"), in the file and in the environment', async () => {
    const dir = tempDir();
    const file = write(dir, 'mongo.yaml', 'stores:\n  events: { engine: mongodb, url: "mongodb://ops@mongo1:27017" }\n');
    const error = await loadError({ configPath: file, cwd: dir, env: {} });
    expect(error.exitCode).toBe(78);
    expect((error.details?.issues as { path: string; message: string }[])[0]).toMatchObject({
      path: 'stores.events.url',
      message: expect.stringContaining('names no database'),
    });
    const good = write(dir, 'good.yaml', 'stores:\n  events: { engine: mongodb, url: "mongodb://ops@mongo1:27017/events" }\n');
    const viaEnv = await loadError({ configPath: good, cwd: dir, env: { STORAGE_STORE_EVENTS_URL: 'mongodb://mongo1:27017/?authSource=admin' } });
    expect(viaEnv.exitCode).toBe(78);
    expect(viaEnv.message).toContain('STORAGE_STORE_EVENTS_URL');
  });

  it('accepts the multi-host MongoDB url replica sets use, and masks and names every host', async () => {
    const dir = tempDir();
    const file = write(
      dir,
      'rs.yaml',
      'stores:\n  events: { engine: mongodb, url: "mongodb://ops:s3cr%40t-pw@h1:27017,h2:27018/events?replicaSet=rs0&authSource=admin" }\n',
    );
    const config = await loadConfig({ configPath: file, cwd: dir, env: {} });
    const view = describeConfig(config).stores.events;
    expect(view.url).toBe('mongodb://ops:****@h1:27017,h2:27018/events?replicaSet=rs0&authSource=admin');
    expect(redact('connect failed: mongodb://ops:s3cr%40t-pw@h1:27017 and s3cr@t-pw')).not.toMatch(/s3cr/);
    const { storeAddress } = await import('../../src/engine/engines/target.js');
    expect(storeAddress(getStore(config, 'events'))).toBe('h1:27017,h2:27018');
  });

  it('bounds timeouts that drive timers: connectTimeout 30d is refused with the limit (a timer past ~24.8 days fires at once)', async () => {
    const dir = tempDir();
    const file = write(
      dir,
      'timeouts.yaml',
      ['stores:', '  main: { engine: postgres, url: "postgres://db/x", connectTimeout: 30d, statementTimeout: 0ms }', 'defaults: { connectTimeout: 2h }'].join(
        '\n',
      ),
    );
    const issues = (await loadError({ configPath: file, cwd: dir, env: {} })).details?.issues as { path: string; message: string }[];
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'stores.main.connectTimeout', message: 'must be at most 10m (got 30d)' },
        { path: 'stores.main.statementTimeout', message: 'must be at least 1ms' },
        { path: 'defaults.connectTimeout', message: 'must be at most 10m (got 2h)' },
      ]),
    );
  });

  it('reports a YAML syntax error as a config error, not a crash', async () => {
    const dir = tempDir();
    const file = write(dir, 'broken.yaml', 'stores:\n  main: { engine: postgres\n');
    const error = await loadError({ configPath: file, cwd: dir, env: {} });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('not valid YAML');
  });

  it('says clearly when the named config file does not exist', async () => {
    const error = await loadError({ configPath: '/nonexistent/storage.yaml', env: {} });
    expect(error.code).toBe('CONFIG_NOT_FOUND');
    expect(error.exitCode).toBe(78);
  });

  it('applies STORAGE_STORE_<NAME>_URL and _PASSWORD over the file', async () => {
    const dir = tempDir();
    const file = write(dir, 'c.yaml', 'stores:\n  main-db: { engine: postgres, url: "postgres://a@h1/db" }\n');
    const config = await loadConfig({
      configPath: file,
      env: { STORAGE_STORE_MAIN_DB_URL: 'postgres://b@h2:6543/other', STORAGE_STORE_MAIN_DB_PASSWORD: 'envPw-123456' },
    });
    const store = getStore(config, 'main-db');
    expect(store.config.engine === 'postgres' && store.config.url).toBe('postgres://b@h2:6543/other');
    expect(await resolvePassword(store)).toBe('envPw-123456');
    // The password is now known to redaction.
    expect(redact('failed with envPw-123456')).not.toContain('envPw-123456');
  });

  it('rejects an environment override that is not a valid URL, naming the variable', async () => {
    const dir = tempDir();
    const file = write(dir, 'c.yaml', 'stores:\n  main: { engine: postgres, url: "postgres://a@h1/db" }\n');
    const error = await loadError({ configPath: file, env: { STORAGE_STORE_MAIN_URL: 'not a url' } });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('STORAGE_STORE_MAIN_URL');
  });

  it('resolves SQLite paths relative to the config file, not the working directory', async () => {
    const dir = tempDir();
    const file = write(dir, 'c.yaml', 'stores:\n  lite: { engine: sqlite, path: data/app.db }\n');
    const store = getStore(await loadConfig({ configPath: file, cwd: '/', env: {} }), 'lite');
    expect(store.config.engine === 'sqlite' && store.config.path).toBe(path.join(dir, 'data/app.db'));
  });

  it('keeps secret: references unresolved until connect, then names the missing secret', async () => {
    const dir = tempDir();
    const file = write(dir, 'c.yaml', 'stores:\n  main: { engine: postgres, url: "postgres://a@h/db", password: "secret:main-pg" }\n');
    const store = getStore(await loadConfig({ configPath: file, env: {} }), 'main');
    expect(store.config.engine === 'postgres' && store.config.password).toBe('secret:main-pg');
    let error: StorageError | undefined;
    try {
      await resolvePassword(store);
    } catch (caught) {
      error = caught as StorageError;
    }
    expect(error?.code).toBe('SECRET_UNRESOLVED');
    expect(error?.exitCode).toBe(78);
    expect(error?.message).toContain('main-pg');
    expect(error?.hint).toContain('STORAGE_STORE_MAIN_PASSWORD');
    expect(await resolvePassword(store, async (name) => (name === 'main-pg' ? 'fromVault-99' : undefined))).toBe('fromVault-99');
  });

  it('answers an unknown store name with the list of known ones', async () => {
    const dir = tempDir();
    const file = write(dir, 'c.yaml', 'stores:\n  main: { engine: sqlite, path: a.db }\n  events: { engine: sqlite, path: b.db }\n');
    const config = await loadConfig({ configPath: file, env: {} });
    expect(() => getStore(config, 'mian')).toThrow(/Known stores: main, events/);
    try {
      getStore(config, 'mian');
    } catch (error) {
      expect((error as StorageError).exitCode).toBe(64);
    }
  });

  it('shows no backup passphrase or key written in the file, and leaves secret: references readable', async () => {
    const dir = tempDir();
    for (const [encryption, shown] of [
      ['{ key: 0123456789abcdef-plain-key }', { key: '****' }],
      ['{ passphrase: plain-passphrase-words }', { passphrase: '****' }],
      ['{ key: "secret:backup-key" }', { key: 'secret:backup-key' }],
    ] as const) {
      const file = write(dir, 'c.yaml', `backup:\n  encryption: ${encryption}\n`);
      const view = describeConfig(await loadConfig({ configPath: file, env: {} }));
      expect(view.backup).toMatchObject({ encryption: shown });
      expect(JSON.stringify(view)).not.toMatch(/plain-key|plain-passphrase/);
    }
  });
});

describe('config issues name hostile keys safely', () => {
  it('a store name holding a terminal escape is refused, and the issue shows it escaped, not as is', async () => {
    const { checkConfig } = await import('../../src/engine/config/load.js');
    const name = `a${String.fromCharCode(27)}[31mred`;
    const { issues } = await checkConfig({ stores: { [name]: { engine: 'sqlite', path: 'x.db' } } });
    expect(issues.length).toBeGreaterThan(0);
    const shown = issues.map((issue) => issue.path).join('\n');
    expect(shown).not.toContain(String.fromCharCode(27));
    expect(shown).toContain('"a\\u001b[31mred"');
  });
});
