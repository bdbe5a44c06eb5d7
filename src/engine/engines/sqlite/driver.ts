// better-sqlite3, the SQLite driver: loaded with require, not import. It is a CommonJS package, and
// an ES import of one first has Node scan its files for their export names (~10 ms of every
// command that opens a SQLite store, `db health` on the default included: issue 16).
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

let driver: typeof BetterSqlite3 | undefined;

/** Opens `file` with better-sqlite3 (loaded on first use). */
export function openDatabase(file: string, options?: BetterSqlite3.Options): BetterSqlite3.Database {
  driver ??= createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  return new driver(file, options);
}
