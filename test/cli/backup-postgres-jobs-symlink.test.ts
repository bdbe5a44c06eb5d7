// `backup create --jobs` stores each of pg_dump's files once pg_dump has closed it. Whether it is
// closed is read from /proc, which names an open file by its real path: with the repository on a
// symlinked directory (a linked volume, macOS's /tmp) that is not the path pg_dump was given, and
// the table still being dumped must not look finished and be stored cut short.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { pgAdmin, pgUrlFor, uniqueName } from '../support/servers.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

describe('PostgreSQL --jobs backup into a repository reached through a symlink', () => {
  const source = uniqueName('atk_jobs_link');
  const target = `${source}_r`;

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${source}`));
    // One table large enough that pg_dump is still writing it across several looks at the directory.
    await pgAdmin(
      (client) =>
        client.query(`create table small as select g as id, md5(g::text) as t from generate_series(1, 20000) g;
                      create table large as select g as id, md5(g::text) || md5((g + 1)::text) as t from generate_series(1, 1000000) g;`),
      pgUrlFor(source),
    );
  }, 120_000);

  afterAll(async () => {
    await pgAdmin(async (client) => {
      for (const db of [source, target]) await client.query(`drop database if exists "${db}" with (force)`);
    });
  });

  // compression: none, so pg_dump compresses (zlib, slower than it is read back): a file taken while
  // still written is read to its current end long before pg_dump has finished it.
  it('stores every file whole: the restore has every row of the large table', async () => {
    const sandbox = makeSandbox();
    fs.mkdirSync(path.join(sandbox.dir, 'volume'));
    fs.symlinkSync(path.join(sandbox.dir, 'volume'), path.join(sandbox.dir, 'repo'));
    sandbox.writeConfig({
      stores: { main: { engine: 'postgres', url: pgUrlFor(source) } },
      backup: { repository: path.join(sandbox.dir, 'repo'), compression: 'none' },
    });
    const created = await sandbox.run(['backup', 'create', 'main', '--jobs', '2', '--json'], { env, timeoutMs: 120_000 });
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = created.json().stores[0].backup;
    const restored = await sandbox.run(['backup', 'restore', backup.id, '--to', 'main', '--database', target, '--json'], { env, timeoutMs: 120_000 });
    expect(restored.exitCode, restored.stderr).toBe(0);
    const count = async (database: string) =>
      pgAdmin(async (client) => Number((await client.query('select count(*)::int as n from large')).rows[0].n), pgUrlFor(database));
    expect(await count(target)).toBe(1_000_000);
    expect(await count(target)).toBe(await count(source));
  }, 240_000);
});
