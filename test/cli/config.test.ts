import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { APP_PASSWORD, URL_PASSWORD } from '../support/secrets.js';

describe('storage config', () => {
  it('validate lists every bad field with its path and exits 78', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig('stores:\n  main: { engine: postgres, url: "mysql://x" }\n  lite: { engine: sqlite }\nbackup: { compression: zip }\n');
    const result = await sandbox.run(['config', 'validate']);
    expect(result.exitCode).toBe(78);
    for (const field of ['stores.main.url', 'stores.lite.path', 'backup.compression']) expect(result.stderr).toContain(field);
    const json = await sandbox.run(['config', 'validate', '--json']);
    expect(json.exitCode).toBe(78);
    const issues = json.json().error.details.issues.map((issue: { path: string }) => issue.path);
    expect(issues).toEqual(expect.arrayContaining(['stores.main.url', 'stores.lite.path', 'backup.compression']));
  });

  it('every command refuses an invalid config with 78, not a crash', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig('stores:\n  main: { engine: oracle, url: "x" }\n');
    const result = await sandbox.run(['db', 'health']);
    expect(result.exitCode).toBe(78);
    expect(result.stderr).toContain('stores.main.engine');
  });

  it('show masks passwords from the file and the URL, and keeps secret: references as names', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({
      stores: {
        main: { engine: 'postgres', url: `postgres://app:${URL_PASSWORD}@db1:5432/app` },
        other: { engine: 'postgres', url: 'postgres://app@db2/app', password: APP_PASSWORD },
        vaulted: { engine: 'mongodb', url: 'mongodb://ops@m1/events', password: 'secret:events-pw' },
      },
    });
    const result = await sandbox.run(['config', 'show']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('postgres://app:****@db1:5432/app');
    expect(result.stdout).toContain('secret:events-pw');
    expect(result.stdout).not.toContain(URL_PASSWORD);
    expect(result.stdout).not.toContain(APP_PASSWORD);
    const validate = await sandbox.run(['config', 'validate', '--json']);
    expect(validate.exitCode).toBe(0);
    const warned = validate.json().warnings.map((warning: { path: string }) => warning.path);
    // A secret: reference is not a warning here; `storage validate --suite config` checks that it resolves.
    expect(warned.sort()).toEqual(['stores.main.url', 'stores.other.password']);
  });

  it('a store whose secret: reference cannot be resolved fails at connect with 78 naming the secret', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { vaulted: { engine: 'postgres', url: 'postgres://app@127.0.0.1:5432/app', password: 'secret:main-pg' } } });
    const result = await sandbox.run(['db', 'health', '--json']);
    expect(result.exitCode).toBe(78);
    expect(result.json().stores[0].error).toMatchObject({ code: 'SECRET_UNRESOLVED', message: expect.stringContaining('main-pg') });
  });

  it('STORAGE_CONFIG and --config choose the file', async () => {
    const sandbox = makeSandbox();
    const file = sandbox.writeConfig({ stores: { fromenv: { engine: 'sqlite', path: 'e.db' } } }, 'elsewhere.yaml');
    const viaEnv = await sandbox.run(['db', 'list', '--no-probe', '--json'], { env: { STORAGE_CONFIG: file } });
    expect(viaEnv.json().stores.map((s: { store: string }) => s.store)).toEqual(['fromenv']);
    const viaFlag = await sandbox.run(['db', 'list', '--no-probe', '--json', '--config', file]);
    expect(viaFlag.json().stores.map((s: { store: string }) => s.store)).toEqual(['fromenv']);
  });
});
