// A backup interrupted (SIGINT/SIGTERM) while its dump runs, in-process: the registered cleanup
// removes the unfinished backup and its scratch and releases the lock, and a dump that goes on
// writing afterwards still never gets a manifest. Its own file: once the cleanups have run, the
// process counts as interrupted for good (as the CLI process would, which exits).
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/engine/backup/create.js';
import { openRepository } from '../../src/engine/backup/open.js';
import { runCleanups } from '../../src/engine/cleanup.js';
import type { BackedUpTenant, DumpContext, DumpResult } from '../../src/engine/engines/spec.js';
import { sqliteBackup } from '../../src/engine/engines/sqlite/backup.js';
import { fleetFor } from '../support/fleet.js';
import { refusal } from '../support/refusal.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-backup-interrupted-'));
const savedEnv = { ...process.env };
afterAll(() => {
  process.env = savedEnv;
  fs.rmSync(home, { recursive: true, force: true });
});

describe('a backup interrupted while it dumps', () => {
  it('the cleanup removes the unfinished backup and its scratch and frees the lock; a dump that writes on gets no manifest (FAILED); a dump that fails after is reported as itself', async () => {
    process.env.XDG_DATA_HOME = path.join(home, 'xdg-data');
    process.env.XDG_CONFIG_HOME = path.join(home, 'xdg-config');
    const data = path.join(home, 'data');
    fs.mkdirSync(data);
    const db = new Sqlite(path.join(data, 'app.db'));
    db.exec("create table events (id integer primary key, note text); insert into events (note) values ('one')");
    db.close();
    const fleet = await fleetFor({
      stores: { lite: { engine: 'sqlite', path: path.join(data, 'app.db') } },
      backup: { repository: path.join(home, 'repo'), encryption: { enabled: false }, compression: 'none' },
    });
    const repo = await openRepository(fleet, undefined, { create: true, env: {} });
    const tenant = { name: 't', container: 'app', status: 'active', createdAt: '2026-01-01T00:00:00.000Z', ledger: [] } as unknown as BackedUpTenant;
    const seen: Record<string, unknown> = {};
    const writesOn = {
      tenant,
      dump: async (context: DumpContext): Promise<DumpResult> => {
        const result = await sqliteBackup.dump(context as DumpContext<never>);
        fs.writeFileSync(path.join(context.scratch, 'temp'), 'x');
        seen.failedCleanups = await runCleanups();
        seen.dirLeft = fs.existsSync(context.dir);
        seen.scratchLeft = fs.existsSync(context.scratch);
        seen.lockLeft = fs.existsSync(path.join(repo.locksDir, 'lite.lock'));
        // The dump tool was still writing: its output lands after the cleanup.
        fs.mkdirSync(context.dir, { recursive: true });
        fs.writeFileSync(path.join(context.dir, result.files[0].name), 'late bytes');
        return result;
      },
    };
    const error = await refusal(createBackup(fleet, repo, 'lite', { scope: writesOn }));
    expect(seen).toEqual({ failedCleanups: [], dirLeft: false, scratchLeft: false, lockLeft: false });
    expect(error.code).toBe('FAILED');
    expect(error.message).toMatch(/^Backup \S+-lite-\S+ was interrupted before its manifest was written\.$/);
    expect(fs.readdirSync(repo.backupsDir)).toEqual([]);
    expect(fs.readdirSync(repo.tmpDir)).toEqual([]);
    expect(repo.list()).toEqual([]);

    // Interrupted, then the dump fails: its own error, not a complaint about what the cleanup already removed.
    const failsAfter = {
      tenant,
      dump: async (): Promise<DumpResult> => {
        await runCleanups();
        throw new Error('the dump tool was killed by the signal too');
      },
    };
    const second = await refusal(createBackup(fleet, repo, 'lite', { scope: failsAfter }));
    expect(second.message).toContain('the dump tool was killed by the signal too');
    expect(fs.readdirSync(repo.backupsDir)).toEqual([]);
    expect(fs.readdirSync(repo.tmpDir)).toEqual([]);
    await fleet.close();
  });
});
