// Every switchover, promotion and rejoin, one JSON line each, kept beside the tool's other state.
import fs from 'node:fs';
import path from 'node:path';
import { userPaths } from '../config/paths.js';
import type { FailoverEvent } from '../engines/spec.js';
import { fsyncFile } from '../system/files.js';
import { ensurePrivateDir } from '../system/private-dir.js';

export function historyFile(): string {
  return process.env.STORAGE_FAILOVER_HISTORY ?? path.join(userPaths().state, 'failover-history.jsonl');
}

export function recordEvent(event: FailoverEvent & { operator: string }): void {
  const file = historyFile();
  ensurePrivateDir(path.dirname(file));
  fs.appendFileSync(file, `${JSON.stringify(event)}\n`, { mode: 0o600 });
  fsyncFile(file);
}

export function readHistory(store?: string): Array<FailoverEvent & { operator: string }> {
  const file = historyFile();
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return []; // a line cut by a crash mid-write
      }
    })
    .filter((event) => !store || event.store === store);
}
