// The restore journal's settling rule (src/engine/restore-journal.ts): what a dead restore left is
// dropped, never a live database, and only a swap that died half-way is finished.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalDir, listJournal, removeJournal, settleStaged, writeJournal, type StagingOps } from '../../src/engine/restore-journal.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-journal-'));
const saved = process.env.XDG_DATA_HOME;
beforeAll(() => (process.env.XDG_DATA_HOME = home));
afterAll(() => {
  process.env.XDG_DATA_HOME = saved;
  fs.rmSync(home, { recursive: true, force: true });
});

/** Databases as a set of names, with every operation recorded. */
function ops(...names: string[]): StagingOps & { names: Set<string>; calls: string[] } {
  const set = new Set(names);
  const calls: string[] = [];
  return {
    names: set,
    calls,
    exists: async (name) => set.has(name),
    drop: async (name) => {
      calls.push(`drop ${name}`);
      set.delete(name);
    },
    rename: async (from, to) => {
      calls.push(`rename ${from} ${to}`);
      set.delete(from);
      set.add(to);
    },
  };
}

describe('settleStaged', () => {
  it('a staging copy left while staging is dropped; the database it was for is not touched', async () => {
    const db = ops('app', 'app__restoring_1');
    const done = await settleStaged(db, { database: 'app', staged: 'app__restoring_1', phase: 'staging' });
    expect(done).toBe('dropped app__restoring_1, the staging copy of an interrupted restore (app was not touched)');
    expect(db.calls).toEqual(['drop app__restoring_1']);
    expect([...db.names]).toEqual(['app']);
  });

  it('a swap that died with the database moved aside is finished: the complete staged copy renamed into place', async () => {
    const db = ops('app__restoring_1', 'app__pre_restore_1');
    const done = await settleStaged(db, { database: 'app', staged: 'app__restoring_1', phase: 'swapping' });
    expect(done).toBe('finished the interrupted swap: renamed app__restoring_1 to app');
    expect(db.calls).toEqual(['rename app__restoring_1 app']);
  });

  it('a swap that died before the database moved: the staged copy is dropped, the live database stays', async () => {
    const db = ops('app', 'app__restoring_1');
    await settleStaged(db, { database: 'app', staged: 'app__restoring_1', phase: 'swapping' });
    expect(db.calls).toEqual(['drop app__restoring_1']);
    expect([...db.names]).toEqual(['app']);
  });

  it('a staging copy for a new database (none there) is dropped while still staging, never renamed into place half-made', async () => {
    const db = ops('fresh__restoring_1');
    const done = await settleStaged(db, { database: 'fresh', staged: 'fresh__restoring_1', phase: 'staging' });
    expect(db.calls).toEqual(['drop fresh__restoring_1']);
    expect([...db.names]).toEqual([]);
    expect(done).toContain('dropped fresh__restoring_1');
  });

  it('nothing left, or a restore that wrote in place (staged = database): nothing done, undefined', async () => {
    const gone = ops('app');
    expect(await settleStaged(gone, { database: 'app', staged: 'app__restoring_1', phase: 'swapping' })).toBeUndefined();
    expect(gone.calls).toEqual([]);
    const inPlace = ops('app');
    expect(await settleStaged(inPlace, { database: 'app', staged: 'app', phase: 'staging' })).toBeUndefined();
    expect(inPlace.calls).toEqual([]);
  });

  it('a restore test is scratch from the start: whatever of it exists is dropped, once per name', async () => {
    const both = ops('scratch_a', 'scratch_b', 'app');
    const done = await settleStaged(both, { database: 'scratch_a', staged: 'scratch_b', phase: 'swapping', scratch: true });
    expect(both.calls).toEqual(['drop scratch_b', 'drop scratch_a']);
    expect([...both.names]).toEqual(['app']);
    expect(done).toBe('dropped scratch_b, left by an interrupted restore test; dropped scratch_a, left by an interrupted restore test');
    const same = ops('scratch_a');
    await settleStaged(same, { database: 'scratch_a', staged: 'scratch_a', phase: 'staging', scratch: true });
    expect(same.calls).toEqual(['drop scratch_a']);
    const none = ops('app');
    expect(await settleStaged(none, { database: 'scratch_a', staged: 'scratch_a', phase: 'staging', scratch: true })).toBeUndefined();
    expect(none.calls).toEqual([]);
  });
});

describe('the journal files', () => {
  it('entries are listed per store, oldest first; files that are not entries are skipped; removing one that is gone is fine', () => {
    expect(listJournal()).toEqual([]);
    const base = { engine: 'sqlite' as const, backup: 'b', database: 'app', phase: 'staging' as const, command: 'test' };
    // File names sort the other way round from the start times: the list follows the times.
    writeJournal({ ...base, store: 's1', staged: 'a-late', startedAt: '2026-01-02T00:00:00Z' });
    writeJournal({ ...base, store: 's1', staged: 'early', startedAt: '2026-01-01T00:00:00Z' });
    writeJournal({ ...base, store: 's2', staged: 'x/y', startedAt: '2026-01-03T00:00:00Z' });
    fs.writeFileSync(path.join(journalDir(), 's1', 'notes.txt'), 'not an entry');
    // A temp file of an atomic write in progress is not an entry, even when it holds valid JSON.
    fs.writeFileSync(
      path.join(journalDir(), 's1', 'early.json.123.tmp'),
      JSON.stringify({ ...base, store: 's1', staged: 'tmp', startedAt: '2026-01-01T00:00:00Z' }),
    );
    fs.writeFileSync(path.join(journalDir(), 's1', 'broken.json'), '{');
    expect(listJournal('s1').map((entry) => entry.staged)).toEqual(['early', 'a-late']);
    expect(listJournal().map((entry) => entry.staged)).toEqual(['early', 'a-late', 'x/y']);
    expect(listJournal('s2')[0]).toMatchObject({ pid: process.pid, host: os.hostname(), staged: 'x/y' });
    expect(listJournal('nobody')).toEqual([]);
    removeJournal('s1', 'early');
    removeJournal('s1', 'early');
    expect(listJournal('s1').map((entry) => entry.staged)).toEqual(['a-late']);
  });
});
