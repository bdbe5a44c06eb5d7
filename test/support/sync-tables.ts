// The SQLite tables the sync tests copy between engines: `kinds` (one column of every mappable
// kind, rows given by the test) and `orders` (many plain rows, for batches, kills and mirrors).
import type Sqlite from 'better-sqlite3';

/** Creates `kinds` with one column per canonical type and inserts `rows` (12 values each, in column order). */
export function kindsTable(db: Sqlite.Database, rows: unknown[][]): void {
  db.exec(`create table kinds (
    id integer primary key, big integer, ratio real, price decimal(12,2), name text, active boolean,
    seen timestamptz, local timestamp, day date, raw blob, doc json, ref uuid)`);
  const insert = db.prepare('insert into kinds values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  for (const row of rows) insert.run(...row);
}

/** Creates `orders` with ids 1..count. */
export function ordersTable(db: Sqlite.Database, count: number): void {
  db.exec(`create table orders (id integer primary key, customer text not null, total integer not null, updated_at text not null)`);
  const order = db.prepare('insert into orders values (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= count; i++) order.run(i, `customer ${i % 97}`, i * 3, `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`);
  })();
}
