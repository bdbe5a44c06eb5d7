// `storage sync` between real stores: SQLite files and the PostgreSQL server. Values keep their
// exact meaning across engines (integers past 2^53, decimals, instants, bytes, JSON, NULL), a
// killed run resumes to an exact copy, mirror mode deletes exactly what the source lacks, verify
// finds one changed row, and what cannot be mapped is refused with its column and key.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { openTerminal } from '../support/terminal.js';
import { kindsTable, ordersTable } from '../support/sync-tables.js';
import { BIN } from '../support/paths.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

const database = uniqueName('sync');
let sandbox: Sandbox;
let lite: Sqlite.Database;

const pg = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  pgAdmin(async (client) => (await client.query(sql, params)).rows as T[], pgUrlFor(database));

beforeAll(async () => {
  await pgAdmin((client) => client.query(`create database ${database}`));
  sandbox = makeSandbox();
  lite = new Sqlite(path.join(sandbox.dir, 'lite.db'));
  lite.pragma('journal_mode = WAL');
  kindsTable(lite, [
    [
      1,
      9007199254740993n,
      0.1,
      '12.50',
      'zürich ✓',
      1,
      '2023-11-14 22:13:23+00',
      '2023-11-14 22:13:23.123456',
      '2023-11-14',
      Buffer.from([0, 255, 1]),
      '{"a":[1,2,{"b":null}]}',
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
    ],
    [
      2,
      -5,
      -2.5e-10,
      '0.00',
      'tab\there\nnew line\r \\ back\\slash \\N',
      0,
      '2023-11-14T23:13:23.5+01:00',
      '1999-12-31 23:59:59',
      '1970-01-01',
      Buffer.alloc(0),
      '[]',
      null,
    ],
    [3, null, null, null, null, null, null, null, null, null, null, null],
  ]);
  ordersTable(lite, 60_000);
  sandbox.writeConfig({
    stores: { lite: { engine: 'sqlite', path: 'lite.db' }, main: { engine: 'postgres', url: pgUrlFor(database) }, back: { engine: 'sqlite', path: 'back.db' } },
    sync: {
      jobs: {
        kinds: { from: { store: 'lite', table: 'kinds' }, to: { store: 'main', table: 'public.kinds' } },
        kinds_back: { from: { store: 'main', table: 'public.kinds' }, to: { store: 'back', table: 'kinds' } },
        orders: { from: { store: 'lite', table: 'orders' }, to: { store: 'main', table: 'orders' }, batchSize: 500 },
        mirror: { from: { store: 'lite', table: 'orders' }, to: { store: 'main', table: 'orders_mirror' }, mode: 'mirror' },
      },
    },
  });
}, 120_000);

afterAll(async () => {
  lite?.close();
  await pgAdmin((client) => client.query(`drop database if exists ${database} with (force)`));
});

describe('storage sync', () => {
  it('plans without writing, copies every kind of value exactly SQLite → PostgreSQL → SQLite, and verify agrees', async () => {
    const plan = await sandbox.run(['sync', 'plan', 'kinds', '--json']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.json()).toMatchObject({ wouldInsert: 3, wouldUpdate: 0, wouldDelete: 0, target: { exists: false } });
    expect(await pg(`select to_regclass('public.kinds') as t`)).toEqual([{ t: null }]);

    const run = await sandbox.run(['sync', 'run', 'kinds', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ rows: 3, createdTarget: true });
    const [row] = await pg<Record<string, string>>(
      `select big::text, ratio::text, price::text, name, active::text, seen::text, local::text, day::text, encode(raw, 'hex') as raw, doc::text, ref::text from kinds where id = 1`,
    );
    expect(row).toEqual({
      big: '9007199254740993',
      ratio: '0.1',
      price: '12.5',
      name: 'zürich ✓',
      active: 'true',
      seen: '2023-11-14 22:13:23+00',
      local: '2023-11-14 22:13:23.123456',
      day: '2023-11-14',
      raw: '00ff01',
      doc: '{"a": [1, 2, {"b": null}]}',
      ref: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    });
    // The same instant written with another offset is the same value.
    expect((await pg<{ seen: string }>(`select seen::text from kinds where id = 2`))[0].seen).toBe('2023-11-14 22:13:23.5+00');
    // Text that looks like COPY's own escapes arrives as it was.
    expect((await pg<{ name: string }>(`select name from kinds where id = 2`))[0].name).toBe('tab\there\nnew line\r \\ back\\slash \\N');
    expect((await pg<{ n: string }>(`select count(*)::text as n from kinds where id = 3 and big is null and doc is null and raw is null`))[0].n).toBe('1');
    expect((await sandbox.run(['sync', 'verify', 'kinds'])).exitCode).toBe(0);

    // A SQLite store's file must exist (the tool creates only its embedded default).
    new Sqlite(path.join(sandbox.dir, 'back.db')).close();
    const back = await sandbox.run(['sync', 'run', 'kinds_back', '--json']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect((await sandbox.run(['sync', 'verify', 'kinds_back'])).exitCode).toBe(0);
    // Round trip: the copy of the copy equals the original.
    const roundTrip = await sandbox.run(['sync', 'verify', '--from', 'lite:kinds', '--to', 'back:kinds']);
    expect(roundTrip.exitCode, roundTrip.stdout).toBe(0);
    const copy = new Sqlite(path.join(sandbox.dir, 'back.db'), { readonly: true });
    const big = copy.prepare('select big from kinds where id = 1').safeIntegers(true).get() as { big: bigint };
    copy.close();
    expect(big.big).toBe(9007199254740993n);
  });

  it('a run killed mid-way refuses to start over without --resume, and --resume finishes an exact copy', async () => {
    const child = execa(process.execPath, [BIN, 'sync', 'run', 'orders'], {
      cwd: sandbox.dir,
      env: { ...sandbox.env, HOME: sandbox.dir },
      reject: false,
      extendEnv: true,
    });
    // Wait until some batches are committed, then kill -9.
    for (let i = 0; i < 400; i++) {
      const rows = await pg<{ n: string }>(
        `select coalesce((select (checkpoint->>'rows') from storage_sync_checkpoints where job = 'orders'), '0') as n`,
      ).catch(() => [{ n: '0' }]);
      if (Number(rows[0].n) >= 5000) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    child.kill('SIGKILL');
    await child;
    const [{ n: copiedBefore }] = await pg<{ n: string }>(`select count(*)::text as n from orders`);
    expect(Number(copiedBefore)).toBeGreaterThanOrEqual(5000);
    expect(Number(copiedBefore)).toBeLessThan(60_000);
    const [{ checkpoint }] = await pg<{ checkpoint: { rows: number; state: string } }>(`select checkpoint from storage_sync_checkpoints where job = 'orders'`);
    // The checkpoint committed with the rows: exactly what is in the table.
    expect(checkpoint).toMatchObject({ state: 'running', rows: Number(copiedBefore) });

    const again = await sandbox.run(['sync', 'run', 'orders']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/stopped after \d+ rows[\s\S]*--resume/);

    const resumed = await sandbox.run(['sync', 'run', 'orders', '--resume', '--json']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.json().rows).toBe(60_000 - Number(copiedBefore));
    expect((await pg<{ n: string }>(`select count(*)::text as n from orders`))[0].n).toBe('60000');
    expect((await sandbox.run(['sync', 'verify', 'orders'])).exitCode).toBe(0);
    const status = (await sandbox.run(['sync', 'status', 'orders', '--json'])).json().jobs[0];
    expect(status.checkpoint).toMatchObject({ state: 'done', rows: 60_000 });
  }, 180_000);

  it('SIGTERM mid-run ends it with 143, the lock released and whole batches kept; a second run at once is refused (75); --resume finishes', async () => {
    // Small batches: the bulk load into an empty table is fast, and the run must still be going when the signal comes.
    const args = ['sync', 'run', '--from', 'lite:orders', '--to', 'main:orders_term', '--batch-size', '50'];
    const job = 'lite.orders->main.orders_term';
    const child = execa(process.execPath, [BIN, ...args], { cwd: sandbox.dir, env: { ...sandbox.env, HOME: sandbox.dir }, reject: false, extendEnv: true });
    let copied = 0;
    for (let i = 0; i < 400 && copied < 1000; i++) {
      const rows = await pg<{ n: string }>(`select coalesce((select (checkpoint->>'rows') from storage_sync_checkpoints where job = $1), '0') as n`, [
        job,
      ]).catch(() => [{ n: '0' }]);
      copied = Number(rows[0].n);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // While it runs, a second run into the same store waits for nobody: it is refused.
    const second = await sandbox.run(args);
    expect(second.exitCode).toBe(75);
    child.kill('SIGTERM');
    const ended = await child;
    expect(ended.exitCode).toBe(143);
    const [{ n }] = await pg<{ n: string }>(`select count(*)::text as n from orders_term`);
    const [{ checkpoint }] = await pg<{ checkpoint: { rows: number; state: string } }>(`select checkpoint from storage_sync_checkpoints where job = $1`, [job]);
    expect(checkpoint).toMatchObject({ state: 'running', rows: Number(n) });
    const resumed = await sandbox.run([...args, '--resume']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect((await pg<{ n: string }>(`select count(*)::text as n from orders_term`))[0].n).toBe('60000');
    expect((await sandbox.run(['sync', 'verify', '--from', 'lite:orders', '--to', 'main:orders_term'])).exitCode).toBe(0);
  }, 180_000);

  it('verify finds a single changed row and names its key (exit 3); a run puts it back', async () => {
    await pg(`update orders set total = total + 1 where id = 31337`);
    const verify = await sandbox.run(['sync', 'verify', 'orders', '--json']);
    expect(verify.exitCode).toBe(3);
    expect(verify.json()).toMatchObject({ equal: false, difference: { update: 1, insert: 0, extra: 0, samples: [{ key: '31337', kind: 'differs' }] } });
    expect((await sandbox.run(['sync', 'run', 'orders'])).exitCode).toBe(0);
    expect((await sandbox.run(['sync', 'verify', 'orders'])).exitCode).toBe(0);
  }, 120_000);

  it('verify hashes key ranges on both sides in the engines and compares only the differing ones row by row; plan says how many ranges differ', async () => {
    await pg(`update orders set customer = 'changed' where id = 12345`);
    await pg(`delete from orders where id = 40000`);
    await pg(`insert into orders values (70001, 'only here', 1, '2026-01-01T00:00:00Z')`);
    const verify = await sandbox.run(['sync', 'verify', 'orders', '--json']);
    expect(verify.exitCode).toBe(3);
    const { difference } = verify.json();
    expect(difference).toMatchObject({
      update: 1,
      insert: 1,
      extra: 1,
      same: 59_998,
      ranges: { differing: 3, hashedBy: { source: 'engine', target: 'engine' } },
    });
    expect(difference.ranges.total).toBeGreaterThanOrEqual(30);
    expect(difference.samples).toEqual(
      expect.arrayContaining([
        { key: '12345', kind: 'differs' },
        { key: '40000', kind: 'missing at the target' },
        { key: '70001', kind: 'only at the target' },
      ]),
    );
    expect((await sandbox.run(['sync', 'verify', 'orders'])).stdout).toMatch(/3 of \d+ key ranges differ/);
    const plan = await sandbox.run(['sync', 'plan', 'orders', '--json']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    // plan reads every source row itself (proving each maps); the target hashes in PostgreSQL.
    expect(plan.json()).toMatchObject({
      wouldInsert: 1,
      wouldUpdate: 1,
      difference: { ranges: { differing: 3, hashedBy: { source: 'client', target: 'engine' } } },
    });
    expect((await sandbox.run(['sync', 'plan', 'orders'])).stdout).toMatch(/3 of \d+ key ranges differ/);
    expect((await sandbox.run(['sync', 'run', 'orders'])).exitCode).toBe(0);
    await pg(`delete from orders where id = 70001`);
    const again = await sandbox.run(['sync', 'verify', 'orders', '--json']);
    expect(again.exitCode).toBe(0);
    expect(again.json().difference).toMatchObject({ same: 60_000, ranges: { differing: 0 } });
  }, 120_000);

  it("PostgreSQL's server-side range hash equals the hash of the same canonical rows read from SQLite, for every mapped type", async () => {
    // Every kind but JSON (which PostgreSQL cannot put in canonical form, so it is hashed here): floats from both
    // engines, -0, 2^53 + 1, decimals with trailing zeros, instants written with offsets, microseconds, NULLs.
    lite.exec(`create table flat (
      id integer primary key, big integer, ratio real, price decimal(12,2), name text, active boolean,
      seen timestamptz, local timestamp, day date, raw blob, ref uuid)`);
    const insert = lite.prepare('insert into flat values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const rows: unknown[][] = [
      [
        1,
        9007199254740993n,
        0.1,
        '12.50',
        'zürich ✓',
        1,
        '2023-11-14 22:13:23+00',
        '2023-11-14 22:13:23.123456',
        '2023-11-14',
        Buffer.from([0, 255, 1]),
        'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      ],
      [
        2,
        -5,
        -2.5e-10,
        '0.00',
        'tab\there\nnew line\r \\ back\\slash \\N',
        0,
        '2023-11-14T23:13:23.5+01:00',
        '1999-12-31 23:59:59',
        '1970-01-01',
        Buffer.alloc(0),
        null,
      ],
      [3, null, null, null, null, null, null, null, null, null, null],
      [
        4,
        -9223372036854775808n,
        -0,
        '-1.50',
        '',
        'true',
        '2023-11-14T22:13:23.000001Z',
        '2023-11-14T22:13:23',
        '2000-02-29',
        Buffer.from('ab\u0001c'),
        'a0eebc999c0b4ef8bb6d6bb9bd380a12',
      ],
      [5, 9223372036854775807n, 1e300, '100', 'ascii', 'f', '2023-11-14 22:13:23.999999-05:30', '2023-11-14 00:00:00.5', '9999-12-31', Buffer.from([1]), null],
      [6, 0, 123456.789e-20, '0.5', '"quoted"', 0, '2023-11-14T22:13:23Z', '2023-11-14 22:13:23.1', '2023-01-01', Buffer.from('text'), null],
    ];
    for (const row of rows) insert.run(...row);
    // And a table of the kinds SQLite hashes in SQL itself (integers, text, bytes, booleans, dates, uuids).
    lite.exec(`create table plain (id integer primary key, n integer, name text, raw blob, active boolean, day date, ref uuid)`);
    const plain = lite.prepare('insert into plain values (?, ?, ?, ?, ?, ?, ?)');
    for (let i = 1; i <= 3000; i++)
      plain.run(
        i,
        i % 7 === 0 ? null : BigInt(i) * 3000000000000n,
        `name ${i} ✓`,
        Buffer.from([i % 256, 0]),
        i % 2,
        `2023-01-${String((i % 28) + 1).padStart(2, '0')}`,
        i % 5 ? null : `a0eebc99-9c0b-4ef8-bb6d-${String(i).padStart(12, '0')}`,
      );
    for (const table of ['flat', 'plain']) {
      const run = await sandbox.run(['sync', 'run', '--from', `lite:${table}`, '--to', `main:${table}`]);
      expect(run.exitCode, run.stderr).toBe(0);
    }
    const ranges = async (from: string, to: string) => {
      const verify = await sandbox.run(['sync', 'verify', '--from', from, '--to', to, '--json']);
      expect(verify.exitCode, verify.stdout).toBe(0);
      return verify.json().difference.ranges;
    };
    // PostgreSQL hashes each range itself; SQLite's floats, decimals and instants are hashed here from canonical rows.
    expect(await ranges('lite:flat', 'main:flat')).toEqual({ total: 1, differing: 0, hashedBy: { source: 'client', target: 'engine' } });
    expect(await ranges('main:flat', 'lite:flat')).toEqual({ total: 1, differing: 0, hashedBy: { source: 'engine', target: 'client' } });
    // Both engines hash in SQL, and the ranges agree.
    expect(await ranges('lite:plain', 'main:plain')).toMatchObject({ total: 3, differing: 0, hashedBy: { source: 'engine', target: 'engine' } });
    expect(await ranges('main:plain', 'lite:plain')).toMatchObject({ total: 3, differing: 0, hashedBy: { source: 'engine', target: 'engine' } });
    // JSON: PostgreSQL's rows are hashed here (the kinds table was copied by the first test).
    expect(await ranges('lite:kinds', 'main:kinds')).toEqual({ total: 1, differing: 0, hashedBy: { source: 'client', target: 'client' } });
    // One changed value of each kind is seen, in PostgreSQL's hash.
    for (const [column, value] of [
      ['big', '9007199254740992'],
      ['ratio', '0.1000000001'],
      ['price', '12.51'],
      ['name', 'zurich ✓'],
      ['active', 'false'],
      ['seen', '2023-11-14 22:13:23.000001+00'],
      ['local', '2023-11-14 22:13:23.123457'],
      ['day', '2023-11-15'],
      ['raw', '\\x00ff02'],
      ['ref', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'],
    ]) {
      const [before] = await pg<{ v: string | null }>(`select ${column}::text as v from flat where id = 1`);
      await pg(`update flat set ${column} = $1 where id = 1`, [value]);
      const verify = await sandbox.run(['sync', 'verify', '--from', 'lite:flat', '--to', 'main:flat', '--json']);
      expect(verify.exitCode, column).toBe(3);
      expect(verify.json().difference, column).toMatchObject({ update: 1, ranges: { differing: 1 }, samples: [{ key: '1', kind: 'differs' }] });
      await pg(`update flat set ${column} = $1 where id = 1`, [column === 'raw' ? '\\x00ff01' : before.v]);
    }
    expect((await sandbox.run(['sync', 'verify', '--from', 'lite:flat', '--to', 'main:flat'])).exitCode).toBe(0);
  }, 180_000);

  it('mirror mode deletes exactly the rows the source lacks and keeps the rest', async () => {
    // Mirror deletes target rows: it needs the job's name as confirmation (77 without, at no terminal).
    expect((await sandbox.run(['sync', 'run', 'mirror'])).exitCode).toBe(77);
    expect(await pg(`select to_regclass('orders_mirror') as t`)).toEqual([{ t: null }]);
    expect((await sandbox.run(['sync', 'run', 'mirror', '--confirm', 'mirror'])).exitCode).toBe(0);
    await pg(`insert into orders_mirror values (70001, 'only here', 1, 'x'), (70002, 'only here', 2, 'y')`);
    await pg(`update orders_mirror set customer = 'changed' where id = 5`);
    const plan = (await sandbox.run(['sync', 'plan', 'mirror', '--json'])).json();
    expect(plan).toMatchObject({ wouldInsert: 0, wouldUpdate: 1, wouldDelete: 2 });
    const run = await sandbox.run(['sync', 'run', 'mirror', '--confirm', 'mirror', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json().deleted).toBe(2);
    expect((await pg<{ n: string }>(`select count(*)::text as n from orders_mirror`))[0].n).toBe('60000');
    expect((await pg<{ customer: string }>(`select customer from orders_mirror where id = 5`))[0].customer).toBe('customer 5');
    expect((await sandbox.run(['sync', 'verify', 'mirror'])).exitCode).toBe(0);
  }, 120_000);

  it('mirror mode merges the two key-ordered sides: target-only keys before, between and after the source keys are deleted, into SQLite and PostgreSQL', async () => {
    lite.exec(`create table sparse (id integer primary key, name text)`);
    const insert = lite.prepare('insert into sparse values (?, ?)');
    lite.transaction(() => {
      for (let i = 2; i <= 30_000; i += 2) insert.run(i, `even ${i}`);
    })();
    const mirror = (to: string) => [
      'sync',
      'run',
      '--from',
      'lite:sparse',
      '--to',
      to,
      '--mode',
      'mirror',
      '--confirm',
      'lite.sparse->' + to.replace(':', '.'),
      '--json',
    ];
    const first = await sandbox.run(mirror('main:sparse'));
    expect(first.exitCode, first.stderr).toBe(0);
    await pg(
      `insert into sparse values (-7, 'before'), (0, 'before'), (15001, 'between'), (15003, 'between'), (29999, 'between'), (30001, 'after'), (99999, 'after')`,
    );
    const again = await sandbox.run(mirror('main:sparse'));
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json().deleted).toBe(7);
    expect(await pg(`select count(*)::int as n, min(id)::int as lo, max(id)::int as hi, count(*) filter (where id % 2 = 1)::int as odd from sparse`)).toEqual([
      { n: 15_000, lo: 2, hi: 30_000, odd: 0 },
    ]);

    const back = await sandbox.run(mirror('back:sparse'));
    expect(back.exitCode, back.stderr).toBe(0);
    const copy = new Sqlite(path.join(sandbox.dir, 'back.db'));
    copy.exec(`insert into sparse values (1, 'between'), (20001, 'between'), (40000, 'after')`);
    copy.close();
    const backAgain = await sandbox.run(mirror('back:sparse'));
    expect(backAgain.exitCode, backAgain.stderr).toBe(0);
    expect(backAgain.json().deleted).toBe(3);
    expect((await sandbox.run(['sync', 'verify', '--from', 'lite:sparse', '--to', 'back:sparse', '--mode', 'mirror'])).exitCode).toBe(0);
  }, 120_000);

  it('a bulk load into an empty PostgreSQL table from SQLite text lines: values that need escaping or converting take the usual way, exactly', async () => {
    lite.exec(`create table lines (id integer primary key, name text, n integer, active boolean, day date, ref uuid)`);
    const insert = lite.prepare('insert into lines values (?, ?, ?, ?, ?, ?)');
    const awkward = ['tab\there', 'new\nline', 'carriage\rreturn', 'back\\slash', '\\N', '\\Nx', 'x\\N', '', 'plain'];
    lite.transaction(() => {
      for (let i = 1; i <= 9000; i++) {
        const odd = i % 1000 === 0 ? awkward[i / 1000 - 1] : `name ${i}`;
        insert.run(
          i,
          i === 4500 ? 4500n : odd,
          i % 11 === 0 ? null : i * 7,
          [1, 0, 'true', 'f', null][i % 5],
          i === 7777 ? ' 2023-01-02' : '2023-01-01',
          i === 8888 ? 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' : null,
        );
      }
    })();
    const run = await sandbox.run(['sync', 'run', '--from', 'lite:lines', '--to', 'main:lines', '--batch-size', '2000', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ rows: 9000, batches: 5 });
    const got = await pg<{ id: number; name: string }>(`select id::int, name from lines where id % 1000 = 0 or id = 4500 order by id`);
    expect(got.map((row) => row.name)).toEqual([...awkward.slice(0, 4), '4500', ...awkward.slice(4)]);
    expect(await pg(`select count(*)::int as n from lines where n is null`)).toEqual([{ n: 818 }]);
    expect(await pg(`select day::text, ref::text from lines where id in (7777, 8888) order by id`)).toEqual([
      { day: '2023-01-02', ref: null },
      { day: '2023-01-01', ref: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' },
    ]);
    expect(await pg(`select active, count(*)::int as n from lines group by active order by active`)).toEqual([
      { active: false, n: 3600 },
      { active: true, n: 3600 },
      { active: null, n: 1800 },
    ]);
    expect((await sandbox.run(['sync', 'verify', '--from', 'lite:lines', '--to', 'main:lines'])).exitCode).toBe(0);

    // A value that is not what its column holds stops the load, naming it; the batches before it are kept whole.
    lite.exec(`create table lines_bad (id integer primary key, n integer)`);
    const bad = lite.prepare('insert into lines_bad values (?, ?)');
    for (let i = 1; i <= 5000; i++) bad.run(i, i === 4321 ? 1.5 : i);
    const refused = await sandbox.run(['sync', 'run', '--from', 'lite:lines_bad', '--to', 'main:lines_bad', '--batch-size', '1000']);
    expect(refused.exitCode).toBe(65);
    expect(refused.stderr).toMatch(/lines_bad\.n of the row with key 4321 holds 1\.5, which is not a integer/);
    expect(await pg(`select count(*)::int as n, max(id)::int as hi from lines_bad`)).toEqual([{ n: 4000, hi: 4000 }]);
  }, 120_000);

  it('refuses a value that cannot be mapped, naming its column and key, and a target whose columns drifted; nothing is written', async () => {
    lite.exec(`create table bad (id integer primary key, n integer)`);
    lite.prepare(`insert into bad values (1, 5), (2, 'abc')`).run();
    const plan = await sandbox.run(['sync', 'plan', '--from', 'lite:bad', '--to', 'main:bad']);
    expect(plan.exitCode).toBe(65);
    expect(plan.stderr).toMatch(/bad\.n of the row with key 2 holds "abc", which is not a integer/);
    const run = await sandbox.run(['sync', 'run', '--from', 'lite:bad', '--to', 'main:bad']);
    expect(run.exitCode).toBe(65);
    // Nothing of the refused batch reached the target.
    expect(await pg(`select * from bad`)).toEqual([]);

    await pg(`create table drifted (id bigint primary key, customer integer, total bigint not null, updated_at text not null)`);
    const drift = await sandbox.run(['sync', 'plan', '--from', 'lite:orders', '--to', 'main:drifted']);
    expect(drift.exitCode).toBe(1);
    expect(drift.stdout).toMatch(/customer: source text \(TEXT\), target integer \(integer\)/);
    const refused = await sandbox.run(['sync', 'run', '--from', 'lite:orders', '--to', 'main:drifted']);
    expect(refused.exitCode).toBe(1);
    expect(await pg(`select * from drifted`)).toEqual([]);
  });

  it('validate --suite sync: a finished, verified job passes; a failed verify and a stopped run fail (exit 3)', async () => {
    const checks = async () => {
      const run = await sandbox.run(['validate', '--suite', 'sync', '--json']);
      const byId = (id: string, subject: string) => run.json().checks.find((c: { id: string }) => c.id === `${id}[${subject}]`);
      return { exitCode: run.exitCode, byId };
    };
    expect((await sandbox.run(['sync', 'verify', 'orders'])).exitCode).toBe(0);
    let result = await checks();
    expect(result.byId('sync.state', 'orders')).toMatchObject({ status: 'pass' });
    expect(result.byId('sync.verified', 'orders')).toMatchObject({ status: 'pass' });
    expect(result.exitCode).toBe(0);

    await pg(`delete from orders where id = 7`);
    expect((await sandbox.run(['sync', 'verify', 'orders'])).exitCode).toBe(3);
    result = await checks();
    expect(result.byId('sync.verified', 'orders')).toMatchObject({ status: 'fail', reason: expect.stringContaining('1 missing') });
    expect(result.exitCode).toBe(3);

    await pg(`update storage_sync_checkpoints set checkpoint = jsonb_set(checkpoint, '{state}', '"running"') where job = 'orders'`);
    result = await checks();
    expect(result.byId('sync.state', 'orders')).toMatchObject({ status: 'fail', hint: 'storage sync run orders --resume' });
    expect((await sandbox.run(['sync', 'run', 'orders', '--resume'])).exitCode).toBe(0);
    expect((await sandbox.run(['sync', 'verify', 'orders'])).exitCode).toBe(0);
    expect((await checks()).exitCode).toBe(0);
  }, 120_000);

  it('sync status --watch is a live view at a terminal: a stopped run shows as stopped, and q quits', async () => {
    await pg(`update storage_sync_checkpoints set checkpoint = jsonb_set(checkpoint, '{state}', '"running"') where job = 'orders'`);
    const terminal = openTerminal(['sync', 'status', '--watch', '--interval', '1'], { cwd: sandbox.dir, env: sandbox.env });
    try {
      const screen = await terminal.waitFor(/orders +stopped after \d+ rows[\s\S]*mirror +done, 60000 rows/);
      for (const line of screen.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
      terminal.keys('q');
      expect(await terminal.exitCode()).toBe(0);
    } finally {
      terminal.close();
      await pg(`update storage_sync_checkpoints set checkpoint = jsonb_set(checkpoint, '{state}', '"done"') where job = 'orders'`);
    }
  }, 60_000);

  it('takes MongoDB stores too (test/cli/sync-mongodb.test.ts): a collection that is not there is named, not refused as unsupported', async () => {
    const other = makeSandbox();
    other.writeConfig({
      stores: { docs: { engine: 'mongodb', url: `${servers().mongoUrl}/${uniqueName('e14_absent')}` }, lite: { engine: 'sqlite', path: 'l.db' } },
    });
    const missing = await other.run(['sync', 'plan', '--from', 'docs:c', '--to', 'lite:c']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/Store "docs" has no table "c"/);
  });
});
