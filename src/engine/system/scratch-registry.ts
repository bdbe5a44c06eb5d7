// Scratch that may hold decrypted data (the temporary archive `pg_restore -j` needs) must not
// outlive its run. While it exists it is registered twice: with the cleanup registry (an
// interrupted run removes it before exiting) and in a small file in the user state dir naming
// it and the run's pid, so that when no handler could run (kill -9, power loss) the next
// command of any kind removes it (`sweepAbandonedScratch`, called when the config is loaded).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from './processes.js';
import { randomSuffix } from './files.js';
import { onCleanup } from '../cleanup.js';
import { userPaths } from '../config/paths.js';
import { ensurePrivateDir } from './private-dir.js';

interface ScratchEntry {
  path: string;
  pid: number;
  host: string;
  what: string;
  createdAt: string;
}

function registryDir(): string {
  return path.join(userPaths().state, 'scratch');
}

/** Registers `dir` (created by the caller, 0700) as scratch of this run; returns the function that removes it and its registration. */
export function holdScratch(dir: string, what: string): () => void {
  const registry = ensurePrivateDir(registryDir());
  const file = path.join(registry, `${process.pid}-${randomSuffix()}.json`);
  const entry: ScratchEntry = { path: path.resolve(dir), pid: process.pid, host: os.hostname(), what, createdAt: new Date().toISOString() };
  fs.writeFileSync(file, JSON.stringify(entry), { mode: 0o600 });
  const release = () => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(file, { force: true });
    unregister();
  };
  const unregister = onCleanup(`remove ${what} (${dir})`, release);
  return release;
}

/** Removes the registered scratch of runs on this host that are gone; returns what was removed. */
export function sweepAbandonedScratch(): string[] {
  const registry = registryDir();
  let names: string[];
  try {
    names = fs.readdirSync(registry);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.json'))) {
    const file = path.join(registry, name);
    try {
      const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as ScratchEntry;
      if (entry.host !== os.hostname() || processAlive(entry.pid)) continue;
      fs.rmSync(entry.path, { recursive: true, force: true });
      fs.rmSync(file, { force: true });
      removed.push(entry.path);
    } catch {
      // Another command is sweeping the same entry, or it is not ours: leave it.
    }
  }
  return removed;
}
