// What `backup create` does in a repository before its key is unlocked: find the backups of a
// store that a dead run left without a manifest (only that store's, only directories with a
// backup id), with or without a backups/ directory yet.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RepositoryLayout } from '../../src/engine/repository/layout.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-layout-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('a repository layout', () => {
  it('lists the unfinished backups of one store: directories with its id and no manifest', () => {
    const layout = new RepositoryLayout(path.join(home, 'repo'));
    expect(layout.unfinished('lite')).toEqual([]);
    const at = new Date('2026-11-28T10:00:00Z');
    const unfinished = layout.newBackupId('lite', at);
    const complete = layout.newBackupId('lite', new Date('2026-11-28T09:00:00Z'));
    const otherStore = layout.newBackupId('lite-2', at);
    for (const id of [unfinished, complete, otherStore]) fs.mkdirSync(layout.backupDir(id), { recursive: true });
    fs.writeFileSync(path.join(layout.backupDir(unfinished), 'payload.sqlite.zst.enc'), 'x');
    fs.writeFileSync(path.join(layout.backupDir(complete), 'manifest.json'), '{}');
    // A file named like a backup, and a directory that is no backup id, are not backups.
    fs.writeFileSync(path.join(layout.backupsDir, layout.newBackupId('lite', at)), 'stray');
    fs.mkdirSync(path.join(layout.backupsDir, '.hidden-lite-x'));
    expect(unfinished).toMatch(/^20261128T100000Z-lite-[0-9a-f]{6}$/);
    expect(layout.unfinished('lite')).toEqual([unfinished]);
    expect(layout.unfinished('lite-2')).toEqual([otherStore]);
    expect(layout.unfinished('other')).toEqual([]);
  });
});
