// No password may appear anywhere the tool writes: tables, CSV, JSON, errors, hints, warnings.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupDirs } from '../support/backups.js';
import { makeSandbox } from '../support/cli.js';
import { pgBinDir } from '../support/pg-cluster.js';
import { APP_PASSWORD, BACKUP_PASSPHRASE, SUPERUSER_PASSWORD, URL_PASSWORD, WRONG_PASSWORD } from '../support/secrets.js';
import { servers } from '../support/servers.js';
import { recordOwnFile } from '../support/written-files.js';

describe('secrets in output', () => {
  it('no command prints a password from the URL, the config or the environment, in any format', async () => {
    const sandbox = makeSandbox();
    const authPort = new URL(servers().pgAuthUrl).port;
    sandbox.writeConfig({
      stores: {
        inurl: { engine: 'postgres', url: `postgres://app:${URL_PASSWORD}@127.0.0.1:1/app`, connectTimeout: '1s' },
        infile: { engine: 'postgres', url: `postgres://postgres@127.0.0.1:${authPort}/postgres`, password: APP_PASSWORD },
        fromenv: { engine: 'mongodb', url: `mongodb://ops@127.0.0.1:1/ev`, connectTimeout: '1s' },
      },
    });
    const env = { STORAGE_STORE_FROMENV_PASSWORD: WRONG_PASSWORD };
    const commands = [
      ['db', 'list'],
      ['db', 'list', '--csv'],
      ['db', 'list', '--json'],
      ['db', 'health'],
      ['db', 'health', '--json'],
      ['db', 'health', '--csv'],
      ['db', 'health', '--watch', '--once'],
      ['db', 'info', 'infile'],
      ['db', 'info', 'inurl', '--json'],
      ['db', 'pools', '--json'],
      ['db', 'pools'],
      ['db', 'create', 'infile', 'x1'],
      ['db', 'drop', 'inurl', 'x1', '--confirm', 'x1', '--json'],
      ['config', 'show'],
      ['config', 'show', '--json'],
      ['config', 'validate'],
      ['config', 'validate', '--json'],
    ];
    const codes: number[] = [];
    for (const args of commands) {
      const result = await sandbox.run(args, { env });
      codes.push(result.exitCode);
      for (const secret of [URL_PASSWORD, APP_PASSWORD, WRONG_PASSWORD]) {
        expect(result.stdout, `${args.join(' ')} stdout`).not.toContain(secret);
        expect(result.stderr, `${args.join(' ')} stderr`).not.toContain(secret);
      }
    }
    // The commands really did fail against these stores (so their error paths were exercised).
    expect(codes.filter((code) => code !== 0).length).toBeGreaterThanOrEqual(8);
  });
});

describe('masking never corrupts what is not a secret', () => {
  it('a password that is a common word (postgres, wrong, apppw) leaves the engine, targets, messages and audit entries intact, and validate warns about it', async () => {
    const sandbox = makeSandbox();
    const url = servers().pgUrl; // trust auth: the password is carried but not needed
    sandbox.writeConfig({ stores: { main: { engine: 'postgres', url, password: 'postgres' } } });
    const env = { STORAGE_VAULT_PASSPHRASE: 'apppw', STORAGE_AUDIT_DIR: path.join(sandbox.dir, 'audit') };

    const listed = await sandbox.run(['db', 'list', '--json'], { env });
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.json().stores[0]).toMatchObject({ store: 'main', engine: 'postgres', target: url, reachable: true });
    const table = await sandbox.run(['db', 'list'], { env });
    expect(table.stdout).toContain(`│ postgres │ ${url}`);
    const widths = new Set(
      table.stdout
        .trim()
        .split('\n')
        .map((line) => line.length),
    );
    expect(widths.size, 'every table line has the same width (borders intact)').toBe(1);
    expect((await sandbox.run(['config', 'show', '--json'], { env })).json().stores.main).toMatchObject({ engine: 'postgres', password: '****' });

    fs.writeFileSync(path.join(sandbox.dir, 'apppw.txt'), 'apppw\n');
    expect((await sandbox.run(['secrets', 'set', 'app-pw', '--from-file', 'apppw.txt'], { env })).exitCode).toBe(0);
    const audit = (await sandbox.run(['audit', 'list', '--json'], { env })).json().entries;
    expect(audit.map((entry: { command: string }) => entry.command)).toContain('storage secrets set app-pw --from-file apppw.txt');

    const wrong = await sandbox.run(['secrets', 'list'], { env: { ...env, STORAGE_VAULT_PASSPHRASE: 'wrong' } });
    expect(wrong.exitCode).toBe(65);
    expect(wrong.stderr).toContain('wrong passphrase or key');

    const validate = await sandbox.run(['validate', '--suite', 'config', '--json'], { env });
    const weak = validate.json().checks.filter((check: { id: string; status: string }) => check.id.startsWith('config.passwords') && check.status === 'warn');
    expect(weak.map((check: { subject: string }) => check.subject).sort()).toEqual(['STORAGE_VAULT_PASSPHRASE', 'main']);
  });
});

describe('credentials in a URL query string', () => {
  it("are masked in db list, config show and the backup manifest, never reach pg_dump's command line, and the tool's own secrets stay out of its environment", async () => {
    const sandbox = makeSandbox();
    const port = new URL(servers().pgAuthUrl).port;
    const url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable&password=${encodeURIComponent(SUPERUSER_PASSWORD)}`;
    // pg_dump and pg_restore behind a wrapper that records what `ps` and /proc would show of them.
    const bin = path.join(sandbox.dir, 'pgbin');
    const record = path.join(sandbox.dir, 'children.log');
    // The wrappers' own record (it holds PGPASSWORD on purpose): the test's file, not the tool's output.
    recordOwnFile(record);
    fs.mkdirSync(bin);
    for (const tool of ['pg_dump', 'pg_restore']) {
      const wrapper = path.join(bin, tool);
      fs.writeFileSync(wrapper, `#!/bin/sh\n{ echo "ARGV $0 $*"; env | sed 's/^/ENV /'; } >> '${record}'\nexec '${path.join(pgBinDir(), tool)}' "$@"\n`);
      fs.chmodSync(wrapper, 0o755);
    }
    sandbox.writeConfig({ stores: { q: { engine: 'postgres', url } }, backup: { repository: './repo' } });
    const env = {
      STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE,
      STORAGE_VAULT_PASSPHRASE: 'Vault-Passphrase-In-Env-5150',
      STORAGE_PG_BIN: bin,
    };
    const masked = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable&password=****`;

    expect((await sandbox.run(['db', 'list', '--json'], { env })).json().stores[0]).toMatchObject({ target: masked, reachable: true });
    expect((await sandbox.run(['config', 'show', '--json'], { env })).json().stores.q.url).toBe(masked);
    const validate = await sandbox.run(['config', 'validate', '--json'], { env });
    expect(validate.json().warnings).toEqual([{ path: 'stores.q.url', message: expect.stringContaining('plaintext password= parameter') }]);

    const created = await sandbox.run(['backup', 'create', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const [dir] = backupDirs(path.join(sandbox.dir, 'repo'));
    const manifest = fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8');
    expect(manifest).not.toContain(SUPERUSER_PASSWORD);
    expect(manifest).toContain('password=****');

    const children = fs.readFileSync(record, 'utf8').split('\n');
    const argv = children.filter((line) => line.startsWith('ARGV'));
    expect(argv.some((line) => line.includes('--dbname'))).toBe(true);
    for (const line of argv) expect(line).not.toContain(SUPERUSER_PASSWORD);
    expect(children).toContain(`ENV PGPASSWORD=${SUPERUSER_PASSWORD}`);
    expect(children.filter((line) => /^ENV STORAGE_/.test(line))).toEqual([]);
    expect(children.join('\n')).not.toContain(BACKUP_PASSPHRASE);
  });
});
