// What cron sees: no TTY, no stdin, no colour; one timestamped line per step on stderr, the
// summary on stdout, documented exit codes; and a pg_dump too old for the server is named.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';
import { pgUrlFor } from '../support/servers.js';

const ESC = String.fromCharCode(27);
const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

describe('backups in cron', () => {
  it('prints plain timestamped step lines on stderr and the summary on stdout, without ANSI codes', async () => {
    const sandbox = makeSandbox();
    const created = await sandbox.run(['backup', 'create', '--verify'], { env: { ...env, TERM: 'xterm-256color' } });
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stdout + created.stderr).not.toContain(ESC);
    const steps = created.stderr.split('\n').filter((line) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ /.test(line));
    expect(steps.length).toBeGreaterThanOrEqual(6);
    expect(steps.some((line) => /read the snapshot's pages .*.*done/.test(line))).toBe(true);
    expect(steps.some((line) => /write the manifest: done/.test(line))).toBe(true);
    expect(created.stdout).toMatch(/local.*complete/);
    expect(created.stdout).not.toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
  });

  it('names a pg_dump older than the server and keeps no backup', async () => {
    const sandbox = makeSandbox();
    const fakeBin = path.join(sandbox.dir, 'old-pg');
    fs.mkdirSync(fakeBin);
    fs.writeFileSync(path.join(fakeBin, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n', { mode: 0o755 });
    sandbox.writeConfig({ stores: { main: { engine: 'postgres', url: pgUrlFor('postgres') } }, backup: { repository: './repo' } });
    const result = await sandbox.run(['backup', 'create', 'main'], { env: { ...env, STORAGE_PG_BIN: fakeBin } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/version 9, older than the server \(\d+\)/);
    expect(fs.readdirSync(path.join(sandbox.dir, 'repo', 'backups'))).toEqual([]);
  });
});
