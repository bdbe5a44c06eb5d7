// `storage failover` on real replicated PostgreSQL 15 clusters (a primary and standbys on loopback,
// each through a physical slot). A writer keeps a ledger of acknowledged commits during each
// scenario; afterwards every acknowledged id must be on the new primary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemberReport, Topology } from '../../src/engine/engines/spec.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { servers } from '../support/servers.js';
import { openTerminal } from '../support/terminal.js';
import { currentPrimary, LedgerWriter, query, startReplicatedSet, type ReplicatedSet } from '../support/replication.js';

const LONG = 180_000;

async function status(sandbox: Sandbox) {
  const result = await sandbox.run(['failover', 'status', 'main', '--json']);
  return { exitCode: result.exitCode, topology: result.json().stores[0] as Topology };
}

function member(topology: Topology, name: string): MemberReport {
  return topology.members.find((m) => m.name === name)!;
}

async function untilStreaming(sandbox: Sandbox, names: string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { topology } = await status(sandbox);
    if (names.every((name) => member(topology, name).streaming)) return topology;
    if (Date.now() > deadline) return topology;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A throwaway replicated set and a sandbox whose config names it as store "main", for one describe block. */
function replicatedWorld(
  names: string[],
  setOptions: Parameters<typeof startReplicatedSet>[1] = {},
  options: { ledger?: boolean; config?: Parameters<ReplicatedSet['storeConfig']>[0] } = {},
): { set: ReplicatedSet; sandbox: Sandbox } {
  const world = {} as { set: ReplicatedSet; sandbox: Sandbox };
  beforeAll(async () => {
    world.set = await startReplicatedSet(names, setOptions);
    if (options.ledger) await LedgerWriter.prepare(world.set);
    world.sandbox = makeSandbox();
    world.sandbox.writeConfig({ stores: { main: world.set.storeConfig(options.config) } });
  }, LONG);
  afterAll(() => world.set?.destroy());
  return world;
}

describe('planned switchover', () => {
  const world = replicatedWorld(['pg1', 'pg2', 'pg3'], { settings: { autovacuum: 'off' } }, { ledger: true });

  it('status shows each member, its slot and lag, and which standbys could take over', async () => {
    const { exitCode, topology } = await status(world.sandbox);
    expect(exitCode).toBe(0);
    expect(topology.primary).toBe('pg1');
    expect(member(topology, 'pg1')).toMatchObject({ role: 'primary', timeline: 1 });
    for (const name of ['pg2', 'pg3'])
      expect(member(topology, name)).toMatchObject({
        role: 'standby',
        streaming: true,
        timeline: 1,
        slot: { name, exists: true, active: true },
        eligible: true,
        reasons: [],
      });
    const table = await world.sandbox.run(['failover', 'status', 'main']);
    expect(table.stdout).toMatch(/pg2 .*standby.*yes/);
  });

  it(
    'status --watch is a live view at a terminal that shows a standby going away, and q quits',
    async () => {
      const terminal = openTerminal(['failover', 'status', 'main', '--watch', '--interval', '1'], { cwd: world.sandbox.dir, env: world.sandbox.env });
      try {
        await terminal.waitFor(/main\/pg1 +primary[\s\S]*main\/pg3 +standby .*yes/);
        world.set.pgCtl('pg3', 'stop', '-m', 'fast', '-w');
        const screen = await terminal.waitFor(/main\/pg3 .*no: unreachable/);
        for (const line of screen.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
        terminal.keys('q');
        expect(await terminal.exitCode()).toBe(0);
      } finally {
        world.set.pgCtl('pg3', 'start', '-w', '-l', `${world.set.dir}/pg3.log`);
        terminal.close();
      }
      await untilStreaming(world.sandbox, ['pg3']);
    },
    LONG,
  );

  it('refuses without --confirm and without a TTY (77), changing nothing', async () => {
    const refused = await world.sandbox.run(['failover', 'switchover', 'main', '--to', 'pg2']);
    expect(refused.exitCode).toBe(77);
    expect((await currentPrimary(world.set))?.name).toBe('pg1');
  });

  it(
    'moves the primary with the writer running: no acknowledged commit lost, the old primary streams from the new one',
    async () => {
      const writer = new LedgerWriter(world.set);
      writer.start();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const result = await world.sandbox.run(['failover', 'switchover', 'main', '--to', 'pg2', '--confirm', 'main', '--json'], { timeoutMs: 120_000 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await writer.stop();
      expect(result.exitCode, result.stderr).toBe(0);
      const event = result.json();
      expect(event).toMatchObject({ kind: 'switchover', from: 'pg1', to: 'pg2', timeline: 2 });
      expect(event.unavailableMs).toBeGreaterThan(0);
      expect((await currentPrimary(world.set))?.name).toBe('pg2');
      expect(writer.acknowledged.length).toBeGreaterThan(10);
      expect(await writer.missingOn(world.set.node('pg2'))).toEqual([]);
      // The writer's own rows after the switch went to pg2; pg1 and pg3 follow it on timeline 2.
      const topology = await untilStreaming(world.sandbox, ['pg1', 'pg3']);
      expect(topology.primary).toBe('pg2');
      for (const name of ['pg1', 'pg3']) expect(member(topology, name)).toMatchObject({ role: 'standby', streaming: true, timeline: 2, eligible: true });
      // The fence is gone from the new primary: fresh connections to every database work and take writes.
      await query(world.set.node('pg2').url, 'insert into ledger (id) values (-1)');
      const history = (await world.sandbox.run(['failover', 'history', 'main', '--json'])).json().events;
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({ kind: 'switchover', from: 'pg1', to: 'pg2', timeline: 2 });
      const audit = (await world.sandbox.run(['audit', 'list', '--json'])).json();
      expect(JSON.stringify(audit)).toContain('failover switchover main');
    },
    LONG,
  );

  it(
    'moves it back to the rejoined old primary',
    async () => {
      const result = await world.sandbox.run(['failover', 'switchover', 'main', '--to', 'pg1', '--confirm', 'main', '--json'], { timeoutMs: 120_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      expect((await currentPrimary(world.set))?.name).toBe('pg1');
      const topology = await untilStreaming(world.sandbox, ['pg2', 'pg3']);
      expect(member(topology, 'pg2')).toMatchObject({ role: 'standby', streaming: true, timeline: 3 });
    },
    LONG,
  );

  it(
    'refuses a lagging candidate naming the lag, and calls off a switchover whose candidate does not catch up, leaving the old primary writable',
    async () => {
      await query(world.set.node('pg2').url, 'select pg_wal_replay_pause()');
      try {
        await query(world.set.node('pg1').url, 'insert into ledger (id) select -1000 - g from generate_series(1, 2000) g');
        const lagging = await world.sandbox.run(['failover', 'switchover', 'main', '--to', 'pg2', '--max-lag', '1', '--confirm', 'main']);
        expect(lagging.exitCode).toBe(1);
        expect(lagging.stderr).toMatch(/"pg2" cannot take over: lag \d+ bytes is over the limit of 1/);
        expect((await currentPrimary(world.set))?.name).toBe('pg1');

        const writer = new LedgerWriter(world.set);
        writer.start();
        const timedOut = await world.sandbox.run(['failover', 'switchover', 'main', '--to', 'pg2', '--timeout', '1s', '--confirm', 'main']);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await writer.stop();
        expect(timedOut.exitCode).toBe(1);
        expect(timedOut.stderr).toMatch(/did not catch up within 1s/);
        expect((await currentPrimary(world.set))?.name).toBe('pg1');
        // The fence is lifted: a new session on pg1 is writable by default.
        const [row] = await query<{ ro: string }>(world.set.node('pg1').url, 'show default_transaction_read_only');
        expect(row).toEqual({ default_transaction_read_only: 'off' });
        await query(world.set.node('pg1').url, 'insert into ledger (id) values (-2)');
        expect(await writer.missingOn(world.set.node('pg1'))).toEqual([]);
      } finally {
        await query(world.set.node('pg2').url, 'select pg_wal_replay_resume()');
      }
    },
    LONG,
  );
});

describe('a standby without a slot', () => {
  const world = replicatedWorld(['a1', 'a2'], { slots: false });

  it('is refused as a candidate, saying why, and nothing changes', async () => {
    const { topology } = await status(world.sandbox);
    expect(member(topology, 'a2')).toMatchObject({ role: 'standby', streaming: true, eligible: false });
    expect(member(topology, 'a2').reasons!.join(' ')).toMatch(/without a replication slot/);
    const refused = await world.sandbox.run(['failover', 'switchover', 'main', '--confirm', 'main']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/No standby can take over: a2: .*without a replication slot/);
    expect((await currentPrimary(world.set))?.name).toBe('a1');
  });
});

describe('unplanned promotion', () => {
  const world = replicatedWorld(['p1', 'p2', 'p3'], { settings: { autovacuum: 'off' } }, { ledger: true });

  it(
    'reports the exact commits the candidate never got, refuses them without --accept-data-loss, and the old primary rejoins at once',
    async () => {
      const writer = new LedgerWriter(world.set);
      writer.start();
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The standbys stop receiving; the primary goes on acknowledging commits they never get.
      // p3 first, so p2 (the candidate) holds at least what p3 has and p3 can follow it.
      for (const name of ['p3', 'p2']) {
        await query(world.set.node(name).url, "alter system set primary_conninfo = ''");
        await query(world.set.node(name).url, 'select pg_reload_conf()');
      }
      await new Promise((resolve) => setTimeout(resolve, 700));
      await writer.stop();
      world.set.kill9('p1');
      const missing = await writer.missingOn(world.set.node('p2'));
      expect(missing.length).toBeGreaterThan(0);

      // The dead member is named by its own address.
      const { exitCode: statusExit, topology: afterKill } = await status(world.sandbox);
      expect(statusExit).toBe(1);
      expect(member(afterKill, 'p1').reasons!.join(' ')).toContain(`127.0.0.1:${world.set.node('p1').port}`);

      const ahead = await world.sandbox.run(['failover', 'switchover', 'main', '--confirm', 'main']);
      expect(ahead.exitCode).toBe(1); // no primary: a switchover is not the tool

      const refused = await world.sandbox.run(['failover', 'promote', 'main', '--to', 'p2', '--confirm', 'main', '--json']);
      expect(refused.exitCode).toBe(1);
      const error = refused.json().error;
      expect(error.message).toContain(`never got ${missing.length} committed transaction(s)`);
      expect(await currentPrimary(world.set)).toBeUndefined();

      const promoted = await world.sandbox.run(['failover', 'promote', 'main', '--to', 'p2', '--accept-data-loss', '--confirm', 'main', '--json'], {
        timeoutMs: 120_000,
      });
      expect(promoted.exitCode, promoted.stderr).toBe(0);
      expect(promoted.json()).toMatchObject({ kind: 'promote', from: 'p1', to: 'p2', timeline: 2, loss: { known: true, commits: missing.length } });
      expect((await currentPrimary(world.set))?.name).toBe('p2');

      const rejoined = await world.sandbox.run(['failover', 'rejoin', 'main', 'p1', '--json'], { timeoutMs: 120_000 });
      expect(rejoined.exitCode, rejoined.stderr).toBe(0);
      expect(rejoined.json().steps.join('\n')).toMatch(/pg_rewind p1 from p2: rewound/);
      const topology = await untilStreaming(world.sandbox, ['p1', 'p3']);
      expect(member(topology, 'p1')).toMatchObject({ role: 'standby', streaming: true, timeline: 2 });
      expect(member(topology, 'p3')).toMatchObject({ role: 'standby', streaming: true, timeline: 2 });
      // The rewound member holds what the new primary holds: none of the lost commits.
      const [{ count }] = await query<{ count: string }>(world.set.node('p1').url, `select count(*) from ledger where id = any($1)`, [missing]);
      expect(Number(count)).toBe(0);
      const history = (await world.sandbox.run(['failover', 'history', 'main', '--json'])).json().events;
      expect(history.map((e: { kind: string }) => e.kind)).toEqual(['promote', 'rejoin']);
    },
    LONG,
  );
});

describe('synchronous replication', () => {
  const world = replicatedWorld(['s1', 's2'], { settings: { autovacuum: 'off', synchronous_standby_names: "'*'" } }, { ledger: true });

  it(
    'loses no acknowledged commit when the primary is killed under load; what the standby never got was never acknowledged',
    async () => {
      const writer = new LedgerWriter(world.set);
      writer.start();
      await new Promise((resolve) => setTimeout(resolve, 700));
      world.set.kill9('s1');
      await writer.stop();
      expect(writer.acknowledged.length).toBeGreaterThan(10);
      const asked = await world.sandbox.run(['failover', 'promote', 'main', '--to', 's2', '--confirm', 'main', '--json'], { timeoutMs: 120_000 });
      // At most the one commit in flight when the primary died (a single writer) is in its WAL and not on s2.
      const loss = asked.exitCode === 0 ? asked.json().loss : asked.json().error.details.loss;
      expect(loss).toMatchObject({ known: true });
      expect(loss.commits).toBeLessThanOrEqual(1);
      if (asked.exitCode !== 0) {
        expect(asked.exitCode).toBe(1);
        expect(
          (await world.sandbox.run(['failover', 'promote', 'main', '--to', 's2', '--accept-data-loss', '--confirm', 'main'], { timeoutMs: 120_000 })).exitCode,
        ).toBe(0);
      }
      expect((await currentPrimary(world.set))?.name).toBe('s2');
      expect(await writer.missingOn(world.set.node('s2'))).toEqual([]);
    },
    LONG,
  );
});

describe('a switchover without local control of the old primary', () => {
  const world = replicatedWorld(['r1', 'r2'], {}, { config: { withoutControl: ['r1'] } });

  it(
    'promotes the standby, leaves the old primary fenced and says what to do on its host',
    async () => {
      const result = await world.sandbox.run(['failover', 'switchover', 'main', '--confirm', 'main'], { timeoutMs: 120_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/"r1" is left fenced \(read-only, closed to connections\)/);
      expect((await query<{ recovery: boolean }>(world.set.node('r2').url, 'select pg_is_in_recovery() as recovery'))[0].recovery).toBe(false);
      await query(world.set.node('r2').url, 'create table after_switch (x int)');
      // The old primary takes no new connections to its databases, and new sessions default to read-only.
      await expect(query(world.set.node('r1').url, 'select 1')).rejects.toThrow(/not currently accepting connections/);
      const [row] = await query<{ default_transaction_read_only: string }>(
        world.set.node('r1').url.replace(/\/postgres$/, '/template1'),
        'show default_transaction_read_only',
      );
      expect(row.default_transaction_read_only).toBe('on');
      const rejoin = await world.sandbox.run(['failover', 'rejoin', 'main', 'r1']);
      expect(rejoin.exitCode).toBe(64);
      expect(rejoin.stderr).toMatch(/has no local control/);
    },
    LONG,
  );
});

describe('failover on engines without it here', () => {
  it('SQLite has no replication and a standalone MongoDB server (FerretDB) has no replica set: both refused with 64 saying so', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({
      stores: {
        lite: { engine: 'sqlite', path: 'lite.db' },
        docs: { engine: 'mongodb', url: `${servers().mongoUrl}/failover_docs` },
      },
    });
    const lite = await sandbox.run(['failover', 'status', 'lite']);
    expect(lite.exitCode).toBe(64);
    expect(lite.stderr).toMatch(/SQLite has no replication/);
    const docs = await sandbox.run(['failover', 'switchover', 'docs', '--confirm', 'docs']);
    expect(docs.exitCode).toBe(64);
    expect(docs.stderr).toMatch(/standalone MongoDB server/);
    // Without a store, status covers the stores that replicate: the standalone one is named and left out.
    const all = await sandbox.run(['failover', 'status', '--json']);
    expect(all.exitCode).toBe(0);
    expect(all.json().stores).toEqual([]);
    expect(all.json().warnings.join(' ')).toMatch(/Left out: .*standalone MongoDB server/);
  });
});
