// A repository edited between `backup create` and its use: a payload file removed from a --jobs
// backup after its first files were read. Restore and export say which file is missing (65), end
// cleanly (no crash from a file stream left opening in a directory already removed), and leave
// nothing behind: no database, no scratch, no partial export. And `--out` naming a file is a
// usage error, not an unexpected one.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

const exists = async (database: string) =>
  ((await pgAdmin((client) => client.query('select 1 from pg_database where datname = $1', [database]))).rowCount ?? 0) > 0;

describe('a --jobs backup with a payload file removed from the repository', () => {
  const source = uniqueName('atk_removed');
  const made: string[] = [source];
  let sandbox: Sandbox;
  let id: string;

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${source}`));
    await pgAdmin(
      (client) =>
        client.query(`create table a as select g as id, md5(g::text) as t from generate_series(1, 20000) g;
                      create table b as select g as id, md5(g::text) as t from generate_series(1, 20000) g;`),
      pgUrlFor(source),
    );
    sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor(source) } }, backup: { repository: './repo' } });
    const created = await sandbox.run(['backup', 'create', 'main', '--jobs', '2', '--json'], { env });
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = created.json().stores[0].backup;
    id = backup.id;
    // The table of contents is the last file read: the data files before it are already decrypted.
    const toc = backup.files.map((file: { name: string }) => file.name).find((name: string) => name.includes('toc'));
    fs.rmSync(path.join(sandbox.dir, 'repo', 'backups', id, toc));
  }, 120_000);

  afterAll(async () => {
    await pgAdmin(async (client) => {
      for (const db of made) await client.query(`drop database if exists "${db}" with (force)`);
    });
  });

  const scratchLeft = () => {
    const dir = path.join(sandbox.dir, 'repo', 'tmp');
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  };

  it('export exits 65 naming the missing file, without a crash, and leaves nothing in --out', async () => {
    const out = path.join(sandbox.dir, 'out');
    const result = await sandbox.run(['backup', 'export', id, '--out', out], { env });
    expect(result.exitCode, result.stderr).toBe(65);
    expect(result.stderr).toMatch(/toc%2Edat.*is missing/);
    expect(result.stderr).not.toMatch(/Unhandled|node:events|ENOENT/);
    expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
  });

  it('restore exits 65 naming the missing file, creates no database and leaves no scratch', async () => {
    const target = `${source}_r`;
    made.push(target);
    const result = await sandbox.run(['backup', 'restore', id, '--to', 'main', '--database', target], { env });
    expect(result.exitCode, result.stderr).toBe(65);
    expect(result.stderr).toMatch(/toc%2Edat.*is missing/);
    expect(result.stderr).not.toMatch(/Unhandled|node:events|ENOENT/);
    expect(await exists(target)).toBe(false);
    expect(scratchLeft()).toEqual([]);
  });

  it('export --out naming a file is a usage error (64); the file is untouched', async () => {
    const file = path.join(sandbox.dir, 'a-file');
    fs.writeFileSync(file, 'keep');
    const result = await sandbox.run(['backup', 'export', id, '--out', file], { env });
    expect(result.exitCode, result.stderr).toBe(64);
    expect(result.stderr).toMatch(/not a directory/);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep');
  });
});
