import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { servers } from '../support/servers.js';

describe('storage secrets rotate', () => {
  it('refuses without confirmation (77), says SQLite has no credentials (64), and --dry-run changes nothing', async () => {
    const sandbox = makeSandbox();
    const env = { STORAGE_VAULT_PASSPHRASE: 'rotate test passphrase', ROT: 'whatever-1234' };
    sandbox.writeConfig({
      stores: {
        pgs: { engine: 'postgres', url: `postgres://someone@127.0.0.1:${new URL(servers().pgAuthUrl).port}/postgres`, password: 'secret:pgs-pw' },
        lite: { engine: 'sqlite', path: 'x.db' },
      },
    });
    expect((await sandbox.run(['secrets', 'set', 'pgs-pw', '--from-env', 'ROT'], { env })).exitCode).toBe(0);
    expect((await sandbox.run(['secrets', 'rotate', 'pgs'], { env })).exitCode).toBe(77);
    const lite = await sandbox.run(['secrets', 'rotate', 'lite', '--confirm', 'lite'], { env });
    expect(lite.exitCode).toBe(64);
    expect(lite.stderr).toContain('no server credentials');
    const dry = await sandbox.run(['secrets', 'rotate', 'pgs', '--dry-run', '--json'], { env });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({ dryRun: true, rotated: false, user: 'someone', secret: 'pgs-pw' });
  });

  it('on a server without user management (FerretDB v1) it fails cleanly and changes nothing', async () => {
    const sandbox = makeSandbox();
    const env = { STORAGE_VAULT_PASSPHRASE: 'rotate test passphrase', ROT: 'mongo-pw-1234' };
    sandbox.writeConfig({ stores: { m: { engine: 'mongodb', url: `mongodb://app@${new URL(servers().mongoUrl).host}/ev`, password: 'secret:m-pw' } } });
    expect((await sandbox.run(['secrets', 'set', 'm-pw', '--from-env', 'ROT'], { env })).exitCode).toBe(0);
    const result = await sandbox.run(['secrets', 'rotate', 'm', '--confirm', 'm'], { env });
    expect(result.exitCode).not.toBe(0);
    const after = await sandbox.run(['secrets', 'get', 'm-pw', '--reveal'], { env });
    expect(after.stdout.trim()).toBe('mongo-pw-1234');
  });
});
