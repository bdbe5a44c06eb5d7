// The vault through the binary: values never on the command line or in output (unless
// --reveal), secret: references resolved at connect time, confirmation and in-use rules.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { BIN } from '../support/paths.js';
import { SUPERUSER_PASSWORD, WRONG_PASSWORD } from '../support/secrets.js';
import { servers } from '../support/servers.js';

describe('storage secrets', () => {
  it('stores a password in the vault and a store uses it through secret:NAME, printing it nowhere', async () => {
    const sandbox = makeSandbox();
    const keyFile = path.join(sandbox.dir, 'vault.key');
    fs.writeFileSync(keyFile, Buffer.alloc(32, 7).toString('base64'), { mode: 0o600 });
    const port = new URL(servers().pgAuthUrl).port;
    sandbox.writeConfig({
      stores: { secure: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/postgres`, password: 'secret:secure-pw' } },
      vault: { keyFile: 'vault.key' },
    });
    const before = await sandbox.run(['db', 'health', '--json']);
    expect(before.exitCode).toBe(78);
    expect(before.json().stores[0].error.code).toBe('SECRET_UNRESOLVED');

    const set = await sandbox.run(['secrets', 'set', 'secure-pw', '--from-env', 'THE_PW'], { env: { THE_PW: SUPERUSER_PASSWORD } });
    expect(set.exitCode, set.stderr).toBe(0);
    const health = await sandbox.run(['db', 'health', '--json']);
    expect(health.exitCode, health.stdout).toBe(0);
    const list = await sandbox.run(['secrets', 'list', '--json']);
    expect(list.json().secrets).toEqual([expect.objectContaining({ name: 'secure-pw', usedBy: ['secure'] })]);
    const masked = await sandbox.run(['secrets', 'get', 'secure-pw']);
    expect(masked.stdout).toContain('****');
    const vaultFile = path.join(sandbox.env.XDG_CONFIG_HOME, 'storage', 'vault.json');
    expect(fs.statSync(vaultFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(vaultFile, 'utf8')).not.toContain(SUPERUSER_PASSWORD);
    // Refused (77), not failed (1): issue 10 item 14.
    const inUse = await sandbox.run(['secrets', 'remove', 'secure-pw', '--confirm', 'secure-pw']);
    expect(inUse.exitCode).toBe(77);
    expect(inUse.stderr).toContain('used by secure');
    const audited = (await sandbox.run(['audit', 'list', '--json'])).json().entries.at(-1);
    expect(audited).toMatchObject({ command: 'storage secrets remove secure-pw --confirm secure-pw', outcome: 'refused', exitCode: 77 });
  });

  it('--reveal prints the value and is audited; without a value source and no TTY it refuses (64); remove needs confirmation (77)', async () => {
    const sandbox = makeSandbox();
    const env = { STORAGE_VAULT_PASSPHRASE: 'a vault passphrase for tests', STORAGE_AUDIT_DIR: path.join(sandbox.dir, 'audit') };
    expect((await sandbox.run(['secrets', 'set', 'api-token'], { env })).exitCode).toBe(64);
    expect((await sandbox.run(['secrets', 'set', 'api-token', '--generate', '--length', '40'], { env })).exitCode).toBe(0);
    const revealed = await sandbox.run(['secrets', 'get', 'api-token', '--reveal'], { env });
    expect(revealed.exitCode).toBe(0);
    expect(revealed.stdout.trim()).toMatch(/^[A-Za-z0-9_-]{40}$/);
    const audit = (await sandbox.run(['audit', 'list', '--json'], { env })).json().entries.map((e: { command: string }) => e.command);
    expect(audit).toEqual(['storage secrets set api-token', 'storage secrets set api-token --generate --length 40', 'storage secrets get api-token --reveal']);
    expect((await sandbox.run(['secrets', 'remove', 'api-token'], { env })).exitCode).toBe(77);
    expect((await sandbox.run(['secrets', 'remove', 'api-token', '--confirm', 'api-token'], { env })).exitCode).toBe(0);
    const wrong = await sandbox.run(['secrets', 'list'], { env: { ...env, STORAGE_VAULT_PASSPHRASE: 'not it at all' } });
    expect(wrong.exitCode).toBe(65);
    const none = await sandbox.run(['secrets', 'list'], { env: { STORAGE_AUDIT_DIR: env.STORAGE_AUDIT_DIR } });
    expect(none.exitCode).toBe(78);
  });
});

describe('replacing and restoring secrets', () => {
  it('replacing a secret a store uses needs --force without a TTY (77, audited refused), keeps the old value as a version, and rollback brings it back', async () => {
    const sandbox = makeSandbox();
    const port = new URL(servers().pgAuthUrl).port;
    sandbox.writeConfig({ stores: { secure: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/postgres`, password: 'secret:secure-pw' } } });
    const env = {
      STORAGE_VAULT_PASSPHRASE: 'versions test passphrase',
      STORAGE_AUDIT_DIR: path.join(sandbox.dir, 'audit'),
      RIGHT: SUPERUSER_PASSWORD,
      TYPO: WRONG_PASSWORD,
    };
    expect((await sandbox.run(['secrets', 'set', 'secure-pw', '--from-env', 'RIGHT'], { env })).exitCode).toBe(0);

    const refused = await sandbox.run(['secrets', 'set', 'secure-pw', '--from-env', 'TYPO'], { env });
    expect(refused.exitCode).toBe(77);
    expect(refused.stderr).toContain('--force');
    expect((await sandbox.run(['db', 'health', 'secure', '--json'], { env })).exitCode, 'the store still works').toBe(0);

    const replaced = await sandbox.run(['secrets', 'set', 'secure-pw', '--from-env', 'TYPO', '--force', '--json'], { env });
    expect(replaced.json()).toMatchObject({ stored: true, version: 2, replaced: 1 });
    expect((await sandbox.run(['db', 'health', 'secure', '--json'], { env })).json().stores[0].error.code).toBe('AUTH_FAILED');
    expect((await sandbox.run(['secrets', 'get', 'secure-pw', '--version', '1', '--json'], { env })).json()).toMatchObject({ version: 1, value: '****' });

    expect((await sandbox.run(['secrets', 'rollback', 'secure-pw'], { env })).exitCode).toBe(77);
    const rolled = await sandbox.run(['secrets', 'rollback', 'secure-pw', '--force', '--json'], { env });
    expect(rolled.json()).toMatchObject({ restored: 1, version: 3, replaced: 2 });
    expect((await sandbox.run(['db', 'health', 'secure', '--json'], { env })).exitCode, 'the store works again').toBe(0);
    expect((await sandbox.run(['secrets', 'list', '--json'], { env })).json().secrets[0]).toMatchObject({ name: 'secure-pw', version: 3, versions: [2, 1] });

    const audit = (await sandbox.run(['audit', 'list', '--json'], { env }))
      .json()
      .entries.map((e: { command: string; outcome: string }) => [e.command, e.outcome]);
    expect(audit).toEqual([
      ['storage secrets set secure-pw --from-env RIGHT', 'ok'],
      ['storage secrets set secure-pw --from-env TYPO', 'refused'],
      ['storage secrets set secure-pw --from-env TYPO --force --json', 'ok'],
      ['storage secrets rollback secure-pw', 'refused'],
      ['storage secrets rollback secure-pw --force --json', 'ok'],
    ]);
  });

  it('at a terminal, replacing asks for the name; the wrong answer changes nothing', async () => {
    const sandbox = makeSandbox();
    const env = { STORAGE_VAULT_PASSPHRASE: 'tty test passphrase', V1: 'first-value-111', V2: 'second-value-222' };
    expect((await sandbox.run(['secrets', 'set', 'api', '--from-env', 'V1'], { env })).exitCode).toBe(0);
    const atTerminal = (answer: string) =>
      execa('script', ['-qec', `${process.execPath} ${BIN} secrets set api --from-env V2`, '/dev/null'], {
        cwd: sandbox.dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env, ...env, CI: '' },
        extendEnv: false,
        input: `${answer}\n`,
        reject: false,
        timeout: 30_000,
      });
    const wrong = await atTerminal('nope');
    expect(wrong.stdout).toContain('already exists (version 1)');
    expect(wrong.exitCode).toBe(77);
    expect((await sandbox.run(['secrets', 'get', 'api', '--reveal'], { env })).stdout.trim()).toBe('first-value-111');
    const right = await atTerminal('api');
    expect(right.exitCode, right.stdout).toBe(0);
    expect((await sandbox.run(['secrets', 'get', 'api', '--reveal'], { env })).stdout.trim()).toBe('second-value-222');
    expect((await sandbox.run(['secrets', 'get', 'api', '--version', '1', '--reveal'], { env })).stdout.trim()).toBe('first-value-111');
  });
});

describe('concurrent vault writes', () => {
  it('two `secrets set` at once on a passphrase vault both keep their secret, round after round', async () => {
    const sandbox = makeSandbox();
    const env = { STORAGE_VAULT_PASSPHRASE: 'concurrent cli passphrase' };
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(['a', 'b'].map((who) => sandbox.run(['secrets', 'set', `${who}-${round}`, '--generate'], { env })));
      expect(results.map((result) => result.exitCode)).toEqual([0, 0]);
    }
    const names = (await sandbox.run(['secrets', 'list', '--json'], { env })).json().secrets.map((s: { name: string }) => s.name);
    expect(names).toEqual(['a-0', 'a-1', 'a-2', 'b-0', 'b-1', 'b-2']);
  });
});

describe('secret values from stdin and their size', () => {
  it('--from-file - reads the value from stdin; a value over 64 KiB is refused (64) before it is loaded', async () => {
    const sandbox = makeSandbox();
    const env = { STORAGE_VAULT_PASSPHRASE: 'stdin test passphrase' };
    const piped = await execa(process.execPath, [BIN, 'secrets', 'set', 'piped', '--from-file', '-'], {
      cwd: sandbox.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env, ...env },
      extendEnv: false,
      input: 'from-stdin-value-77\n',
      reject: false,
    });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect((await sandbox.run(['secrets', 'get', 'piped', '--reveal'], { env })).stdout).toBe('from-stdin-value-77');

    const big = path.join(sandbox.dir, 'big.bin');
    fs.writeFileSync(big, Buffer.alloc(67 * 1024 * 1024, 0x61));
    const refused = await sandbox.run(['secrets', 'set', 'big', '--from-file', big], { env });
    expect(refused.exitCode).toBe(64);
    expect(refused.stderr).toContain('at most 64 KiB');
    expect((await sandbox.run(['secrets', 'list', '--json'], { env })).json().secrets.map((s: { name: string }) => s.name)).toEqual(['piped']);
  });
});

describe('backup keys from the vault', () => {
  it('a backup repository keyed by secret:NAME opens through the vault, and not without its key', async () => {
    const sandbox = makeSandbox();
    const env = { STORAGE_VAULT_PASSPHRASE: 'vault for the backup key' };
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'a.db' } }, backup: { repository: './repo', encryption: { key: 'secret:backup-key' } } });
    fs.writeFileSync(path.join(sandbox.dir, 'a.db'), '');
    const missing = await sandbox.run(['backup', 'create'], { env });
    expect(missing.exitCode).toBe(78);
    expect(missing.stderr).toContain('backup-key');
    expect((await sandbox.run(['secrets', 'set', 'backup-key', '--generate'], { env })).exitCode).toBe(0);
    const created = await sandbox.run(['backup', 'create'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    expect((await sandbox.run(['backup', 'verify', '--latest', '--read-data'], { env })).exitCode).toBe(0);
    expect((await sandbox.run(['backup', 'list'])).exitCode).toBe(78);
  });
});
