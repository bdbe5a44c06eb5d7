// `storage validate --suite replication` on real replicated PostgreSQL clusters (a primary and
// standbys on loopback, each through a physical slot unless the set is made without): a healthy
// set passes; a standby cut from its primary, a standby without a slot, an orphan slot and a
// standby whose replay is paused are each named, with the exit code CI gates on.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type CliResult, type Sandbox } from '../support/cli.js';
import { query, startReplicatedSet, type ReplicatedSet } from '../support/replication.js';

const LONG = 180_000;

interface CheckJson {
  id: string;
  suite: string;
  status: string;
  reason: string;
  hint?: string;
}

function byId(result: CliResult): Record<string, CheckJson> {
  return Object.fromEntries((result.json().checks as CheckJson[]).map((check) => [check.id, check]));
}

async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const receiving = async (set: ReplicatedSet, name: string) =>
  (await query<{ n: number }>(set.node(name).url, "select count(*)::int as n from pg_stat_wal_receiver where status = 'streaming'"))[0].n > 0;

describe('storage validate --suite replication', () => {
  let set: ReplicatedSet;
  let sandbox: Sandbox;

  beforeAll(async () => {
    set = await startReplicatedSet(['vr1', 'vr2', 'vr3'], { settings: { autovacuum: 'off' } });
    await query(set.node('vr1').url, 'create table filler (id int, pad text)');
    sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { main: set.storeConfig() } });
    for (const name of ['vr2', 'vr3']) await until(() => receiving(set, name));
  }, LONG);
  afterAll(() => set?.destroy());

  it('passes a healthy set: one primary, every standby streaming through its active slot, no lag', async () => {
    const result = await sandbox.run(['validate', '--suite', 'replication', '--strict', '--json']);
    expect(result.exitCode, result.stdout).toBe(0);
    const checks = byId(result);
    expect(checks['replication.primary[main]']).toMatchObject({
      suite: 'replication',
      status: 'pass',
      reason: expect.stringMatching(/^vr1 is the only primary/),
    });
    for (const name of ['vr2', 'vr3']) {
      expect(checks[`replication.streaming[main/${name}]`]).toMatchObject({
        status: 'pass',
        reason: expect.stringMatching(/^streams from 127\.0\.0\.1:\d+ on timeline 1$/),
      });
      expect(checks[`replication.slots[main/${name}]`]).toMatchObject({ status: 'pass', reason: `streams through slot "${name}" on vr1` });
      expect(checks[`replication.slot-wal[main/slot ${name}]`]).toMatchObject({
        status: 'pass',
        reason: expect.stringMatching(new RegExp(`^active \\(${name}\\)`)),
      });
      expect(checks[`replication.lag[main/${name}]`]).toMatchObject({ status: 'pass', reason: expect.stringMatching(/ behind vr1/) });
    }
    // The primary is judged by replication.primary only, not as a standby.
    expect(checks['replication.streaming[main/vr1]']).toBeUndefined();
    expect(Object.keys(checks).filter((id) => id.startsWith('replication.'))).toHaveLength(9);

    // The default run includes the suite.
    const all = await sandbox.run(['validate', '--json']);
    expect(Object.keys(byId(all))).toEqual(
      expect.arrayContaining(['replication.primary[main]', 'replication.streaming[main/vr2]', 'replication.lag[main/vr3]']),
    );
    // The report at a terminal (or in a CI log) groups the suite like the others.
    const text = await sandbox.run(['validate', '--suite', 'replication']);
    expect(text.stdout).toContain('replication');
    expect(text.stdout).toMatch(/replication\.streaming\[main\/vr2\]/);
  });

  it('skips stores without standbys, saying so, without connecting to them', async () => {
    const other = makeSandbox();
    fs.writeFileSync(path.join(other.dir, 'a.db'), '');
    other.writeConfig({ stores: { lone: { engine: 'postgres', url: 'postgres://x@127.0.0.1:1/x' }, lite: { engine: 'sqlite', path: 'a.db' } } });
    const result = await other.run(['validate', '--suite', 'replication', '--json']);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json().checks).toHaveLength(5);
    for (const check of result.json().checks as CheckJson[]) expect(check).toMatchObject({ status: 'pass', reason: 'no PostgreSQL stores with standbys' });
  });

  it('warns about an inactive slot (it holds back WAL for ever), and fails it over validate.slotRetainedFail', async () => {
    await query(set.node('vr1').url, "select pg_create_physical_replication_slot('orphan', true)");
    try {
      const result = await sandbox.run(['validate', '--suite', 'replication', '--json']);
      expect(result.exitCode, result.stdout).toBe(0);
      const checks = byId(result);
      expect(checks['replication.slot-wal[main/slot orphan]']).toMatchObject({
        status: 'warn',
        reason: expect.stringMatching(/^inactive \(no configured member uses it\): nothing streams through it, so it holds back WAL on vr1 for ever/),
        hint: "If nothing uses it, drop it on vr1: select pg_drop_replication_slot('orphan')",
      });
      expect(checks['replication.slot-wal[main/slot vr2]']).toMatchObject({ status: 'pass' });
      expect((await sandbox.run(['validate', '--suite', 'replication', '--strict'])).exitCode).toBe(3);

      // WAL written since the slot was made is held back; the thresholds are the operator's.
      await query(set.node('vr1').url, "insert into filler select g, repeat('x', 200) from generate_series(1, 5000) g");
      await query(set.node('vr1').url, 'checkpoint');
      sandbox.writeConfig({ stores: { main: set.storeConfig() }, validate: { slotRetainedWarn: 1000, slotRetainedFail: 100_000 } });
      const over = await sandbox.run(['validate', '--suite', 'replication', '--json']);
      expect(over.exitCode).toBe(3);
      expect(byId(over)['replication.slot-wal[main/slot orphan]']).toMatchObject({
        status: 'fail',
        reason: expect.stringMatching(/over validate\.slotRetainedFail 100000 bytes \(97\.7 KiB\)\)$/),
      });
      sandbox.writeConfig({ stores: { main: set.storeConfig() }, validate: { slotRetainedWarn: 2000, slotRetainedFail: 1000 } });
      const contradictory = await sandbox.run(['validate', '--suite', 'replication']);
      expect(contradictory.exitCode).toBe(78);
      expect(contradictory.stderr).toContain('validate.slotRetainedWarn');
    } finally {
      sandbox.writeConfig({ stores: { main: set.storeConfig() } });
      await query(set.node('vr1').url, "select pg_drop_replication_slot('orphan')");
    }
  });

  it('warns about a paused replay, and fails a standby lagging over validate.replicationLagFail', async () => {
    await query(set.node('vr2').url, 'select pg_wal_replay_pause()');
    try {
      await query(set.node('vr1').url, "insert into filler select g, repeat('y', 200) from generate_series(1, 5000) g");
      const paused = await sandbox.run(['validate', '--suite', 'replication', '--json']);
      expect(paused.exitCode, paused.stdout).toBe(0);
      expect(byId(paused)['replication.lag[main/vr2]']).toMatchObject({
        status: 'warn',
        reason: expect.stringMatching(/^\d+ bytes \(.*\) behind vr1.*, replay paused$/),
        hint: expect.stringContaining('select pg_wal_replay_resume()'),
      });
      sandbox.writeConfig({ stores: { main: set.storeConfig() }, validate: { replicationLagWarn: 10, replicationLagFail: 1000 } });
      const lagging = await sandbox.run(['validate', '--suite', 'replication', '--json']);
      expect(lagging.exitCode).toBe(3);
      expect(byId(lagging)['replication.lag[main/vr2]']).toMatchObject({
        status: 'fail',
        reason: expect.stringContaining('over validate.replicationLagFail 1000 bytes'),
      });
      const text = await sandbox.run(['validate', '--suite', 'replication']);
      expect(text.exitCode).toBe(3);
      expect(text.stderr).toContain('1 check did not pass: replication.lag[main/vr2].');
      expect(text.stdout).toMatch(/FAIL +replication\.lag\[main\/vr2\] +\d+ bytes/);
    } finally {
      sandbox.writeConfig({ stores: { main: set.storeConfig() } });
      await query(set.node('vr2').url, 'select pg_wal_replay_resume()');
    }
  });

  it(
    'fails (3) naming a standby whose streaming was cut, in the report and in the JUnit file',
    async () => {
      await query(set.node('vr3').url, "alter system set primary_conninfo = ''");
      await query(set.node('vr3').url, 'select pg_reload_conf()');
      await until(async () => !(await receiving(set, 'vr3')));
      const junit = path.join(sandbox.dir, 'reports', 'replication.xml');
      const result = await sandbox.run(['validate', '--suite', 'replication', '--junit', junit, '--json']);
      expect(result.exitCode).toBe(3);
      const checks = byId(result);
      expect(checks['replication.streaming[main/vr3]']).toMatchObject({
        status: 'fail',
        reason: expect.stringMatching(/^not streaming from the primary vr1: it has no WAL receiver/),
        hint: expect.stringContaining('check its primary_conninfo reaches the primary'),
      });
      expect(checks['replication.streaming[main/vr2]']).toMatchObject({ status: 'pass' });
      // Its slot is still there, idle: it holds back WAL until vr3 streams again.
      expect(checks['replication.slot-wal[main/slot vr3]']).toMatchObject({
        status: 'warn',
        reason: expect.stringMatching(/^inactive \(vr3's\)/),
        hint: expect.stringContaining('replication.streaming[main/vr3]'),
      });
      expect(checks['replication.primary[main]']).toMatchObject({ status: 'pass' });
      const text = await sandbox.run(['validate', '--suite', 'replication']);
      expect(text.exitCode).toBe(3);
      expect(text.stderr).toContain('1 check did not pass: replication.streaming[main/vr3].');
      expect(text.stdout).toMatch(/FAIL +replication\.streaming\[main\/vr3\] +not streaming from the primary vr1/);
      const xml = fs.readFileSync(junit, 'utf8');
      expect(xml).toMatch(/<testsuite name="replication" tests="9" failures="1" errors="0"/);
      expect(xml).toMatch(
        /<testcase classname="storage.replication" name="replication.streaming\[main\/vr3\][^"]*"[^>]*>\s*<failure message="not streaming from the primary vr1/,
      );
      expect(xml).not.toMatch(/name="replication.streaming\[main\/vr2\][^"]*"[^>]*>\s*<failure/);
    },
    LONG,
  );
});

describe('a replicated set without slots', () => {
  let set: ReplicatedSet;
  let sandbox: Sandbox;

  beforeAll(async () => {
    set = await startReplicatedSet(['vs1', 'vs2'], { slots: false });
    sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { main: set.storeConfig() } });
    await until(() => receiving(set, 'vs2'));
  }, LONG);
  afterAll(() => set?.destroy());

  it('fails the slot check (3): the standby streams without a replication slot', async () => {
    const junit = path.join(sandbox.dir, 'slots.xml');
    const result = await sandbox.run(['validate', '--suite', 'replication', '--junit', junit, '--json']);
    expect(result.exitCode).toBe(3);
    const checks = byId(result);
    expect(checks['replication.slots[main/vs2]']).toMatchObject({
      status: 'fail',
      reason: 'streams without a replication slot (slot "vs2" is missing on the primary vs1)',
      hint: expect.stringContaining("select pg_create_physical_replication_slot('vs2')"),
    });
    expect(checks['replication.streaming[main/vs2]']).toMatchObject({ status: 'pass' });
    expect(checks['replication.slot-wal[main]']).toMatchObject({ status: 'pass', reason: 'no replication slots on the primary vs1' });
    const text = await sandbox.run(['validate', '--suite', 'replication']);
    expect(text.exitCode).toBe(3);
    expect(text.stderr).toContain('1 check did not pass: replication.slots[main/vs2].');
    expect(fs.readFileSync(junit, 'utf8')).toMatch(/name="replication.slots\[main\/vs2\][^"]*"[^>]*>\s*<failure message="streams without a replication slot/);
  });

  it('fails a split brain (two members answer as primary), and leaves slots and lag as errors it cannot judge', async () => {
    await query(set.node('vs2').url, 'select pg_promote(true, 30)');
    const result = await sandbox.run(['validate', '--suite', 'replication', '--json']);
    expect(result.exitCode).toBe(3);
    const checks = byId(result);
    expect(checks['replication.primary[main]']).toMatchObject({
      status: 'fail',
      reason: '2 members answer as primary (vs1, vs2): split brain',
      hint: expect.stringContaining('storage failover rejoin main MEMBER'),
    });
    for (const id of ['replication.streaming[main]', 'replication.slots[main]', 'replication.slot-wal[main]', 'replication.lag[main]'])
      expect(checks[id]).toMatchObject({ status: 'error', reason: expect.stringContaining('split brain'), hint: 'See replication.primary[main].' });
  });
});
