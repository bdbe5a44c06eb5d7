// The journal of backup restores: a restore first writes into a staging copy and only renames it
// into place when it is complete, so a killed restore never leaves a half-restored database under
// the requested name. Each staging copy is recorded here before it is made (one small file per
// restore in the user data dir), so whatever a killed run left is known: `validate` and
// `snapshot list` report it, and the next restore of the store (or `snapshot cleanup`) settles it.
// Snapshot restores keep the same facts in their snapshot's catalog record.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from './system/files.js';
import { userPaths } from './config/paths.js';
import type { Engine } from './config/schema.js';

/** staging: the staged copy is being made (partial); swapping: it is complete and being renamed into place. */
export type RestorePhase = 'staging' | 'swapping';

export interface RestoreJournalEntry {
  store: string;
  engine: Engine;
  /** The backup being restored. */
  backup: string;
  /** The database the operator asked for. */
  database: string;
  /** Where the restore writes first; equal to `database` when the target is itself a throwaway (restore tests) or MongoDB (marked in place). */
  staged: string;
  /** Where the data the restore replaces is moved, when it replaces a database. */
  previous?: string;
  /** A restore test: the database is scratch too, and is dropped when settling. */
  scratch?: boolean;
  phase: RestorePhase;
  startedAt: string;
  command: string;
  pid: number;
  host: string;
}

export function journalDir(): string {
  return path.join(userPaths().data, 'restores');
}

function entryFile(store: string, staged: string): string {
  return path.join(journalDir(), store, `${encodeURIComponent(staged)}.json`);
}

export function writeJournal(entry: Omit<RestoreJournalEntry, 'pid' | 'host'>): RestoreJournalEntry {
  const full: RestoreJournalEntry = { ...entry, pid: process.pid, host: os.hostname() };
  writeFileAtomic(entryFile(entry.store, entry.staged), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

export function removeJournal(store: string, staged: string): void {
  fs.rmSync(entryFile(store, staged), { force: true });
}

export function listJournal(store?: string): RestoreJournalEntry[] {
  const dir = journalDir();
  if (!fs.existsSync(dir)) return [];
  const entries: RestoreJournalEntry[] = [];
  for (const name of store ? [store] : fs.readdirSync(dir)) {
    const storeDir = path.join(dir, name);
    if (!fs.existsSync(storeDir)) continue;
    for (const file of fs.readdirSync(storeDir).filter((entry) => entry.endsWith('.json'))) {
      try {
        entries.push(JSON.parse(fs.readFileSync(path.join(storeDir, file), 'utf8')) as RestoreJournalEntry);
      } catch {
        // Written atomically: an unreadable entry is not ours.
      }
    }
  }
  return entries.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** What settling needs from an engine that stages by name (PostgreSQL databases, SQLite files). */
export interface StagingOps {
  exists(name: string): Promise<boolean>;
  drop(name: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

export interface Staged {
  database: string;
  staged: string;
  phase: RestorePhase;
  scratch?: boolean;
}

/**
 * Settles what a dead restore left, never replacing a live database: a staging copy next to the
 * database it was for is dropped (the restore did not happen; the data there now is whatever
 * the applications wrote since). Only when the run died in the middle of its swap (the database
 * already moved aside, the complete staged copy not yet renamed) is the swap finished, which is
 * what the operator confirmed. Returns what was done, or undefined when nothing was left.
 */
export async function settleStaged(ops: StagingOps, { database, staged, phase, scratch }: Staged): Promise<string | undefined> {
  const done: string[] = [];
  if (scratch) {
    // A restore test's target is scratch from the start: nothing of it is kept.
    for (const name of new Set([staged, database])) {
      if (await ops.exists(name)) {
        await ops.drop(name);
        done.push(`dropped ${name}, left by an interrupted restore test`);
      }
    }
  } else if (staged !== database && (await ops.exists(staged))) {
    if (phase === 'swapping' && !(await ops.exists(database))) {
      await ops.rename(staged, database);
      done.push(`finished the interrupted swap: renamed ${staged} to ${database}`);
    } else {
      await ops.drop(staged);
      done.push(`dropped ${staged}, the staging copy of an interrupted restore (${database} was not touched)`);
    }
  }
  return done.length ? done.join('; ') : undefined;
}
