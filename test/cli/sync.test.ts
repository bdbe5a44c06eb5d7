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
    const args = ['sync', 'run', '--from', 'lite:orders', '--to', 'main:orders_term', '--batch-size', '500'];
    const job = 'lite.orders->main.orders_term';
    const child = execa(process.execPath, [BIN, ...args], { cwd: sandbox.dir, env: { ...sandbox.env, HOME: sandbox.dir }, reject: false, extendEnv: true });
    let copied = 0;
    for (let i = 0; i < 400 && copied < 3000; i++) {
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
