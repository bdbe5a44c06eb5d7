// The replication checks' judgements on plain topologies: which member is named, with which
// status, reason and hint; the thresholds; the stores the suite applies to.
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/engine/config/load.js';
import type { MemberReport, Topology } from '../../src/engine/engines/spec.js';
import { judgeLag } from '../../src/engine/validate/checks/replication-lag.js';
import { judgePrimary } from '../../src/engine/validate/checks/replication-primary.js';
import { judgeSlotWal } from '../../src/engine/validate/checks/replication-slot-wal.js';
import { judgeSlot } from '../../src/engine/validate/checks/replication-slots.js';
import { judgeStreaming } from '../../src/engine/validate/checks/replication-streaming.js';
import { bytesText, GiB, MiB, replicatedPostgresStores, thresholdsOf } from '../../src/engine/validate/checks/replication-topology.js';
import { ALL_CHECKS, SUITES } from '../../src/engine/validate/checks/index.js';
import { fleetFor } from '../support/fleet.js';

const primary: MemberReport = { name: 'db1', address: '10.0.0.1:5432', reachable: true, role: 'primary', timeline: 2, currentLsn: '0/5000000' };

function standby(name: string, extra: Partial<MemberReport> = {}): MemberReport {
  return {
    name,
    address: `10.0.0.${name.slice(-1)}:5432`,
    reachable: true,
    role: 'standby',
    timeline: 2,
    streaming: true,
    upstream: '10.0.0.1:5432',
    slot: { name, exists: true, active: true, retainedBytes: 0 },
    lagBytes: 0,
    lagSeconds: 0,
    ...extra,
  };
}

function topology(members: MemberReport[], extra: Partial<Topology> = {}): Topology {
  const primaries = members.filter((m) => m.role === 'primary');
  return { store: 'main', engine: 'postgres', primary: primaries.length === 1 ? primaries[0].name : undefined, members, problems: [], ...extra };
}

const down = (name: string): MemberReport => ({ name, address: '10.0.0.9:5432', reachable: false, role: 'unknown', error: 'connect ECONNREFUSED' });

describe('replication.primary', () => {
  it('passes exactly one primary, fails none (naming the unreachable) and two (split brain)', () => {
    expect(judgePrimary(topology([primary, standby('db2')]))).toEqual({
      subject: 'main',
      status: 'pass',
      reason: 'db1 is the only primary (1 standby answer)',
    });
    const none = judgePrimary(topology([down('db1'), standby('db2')]));
    expect(none).toMatchObject({ subject: 'main', status: 'fail', reason: 'no member answers as primary (unreachable: db1): nothing takes writes' });
    expect(none.hint).toContain('storage failover promote main --to MEMBER');
    const two = judgePrimary(topology([primary, { ...primary, name: 'db2' }, standby('db3')]));
    expect(two).toMatchObject({ status: 'fail', reason: '2 members answer as primary (db1, db2): split brain' });
    expect(two.hint).toContain('storage failover rejoin main MEMBER');
  });
});

describe('replication.streaming', () => {
  const judge = (member: MemberReport) => judgeStreaming(topology([primary, member]), member);

  it('passes a streaming standby on the primary timeline, naming its upstream', () => {
    expect(judge(standby('db2'))).toEqual({ subject: 'main/db2', status: 'pass', reason: 'streams from 10.0.0.1:5432 on timeline 2' });
  });

  it('fails a standby not streaming, on another timeline, or unreachable, naming the member and why', () => {
    const cut = judge(standby('db2', { streaming: false, upstream: undefined, replayedLsn: '0/4000000' }));
    expect(cut).toMatchObject({
      subject: 'main/db2',
      status: 'fail',
      reason: 'not streaming from the primary db1: it has no WAL receiver, replayed up to 0/4000000',
    });
    expect(cut.hint).toContain('primary_conninfo');
    expect(judge(standby('db2', { streaming: false })).reason).toContain('its WAL receiver (from 10.0.0.1:5432) is not streaming');
    const old = judge(standby('db2', { timeline: 1 }));
    expect(old).toMatchObject({
      status: 'fail',
      reason: 'streams on timeline 1, the primary db1 is on 2',
      hint: 'It follows an old primary: storage failover rejoin main db2',
    });
    expect(judge(down('db3'))).toMatchObject({ subject: 'main/db3', status: 'fail', reason: 'unreachable: connect ECONNREFUSED' });
  });
});

describe('replication.slots', () => {
  const judge = (member: MemberReport) => judgeSlot(topology([primary, member]), member);

  it('passes a standby streaming through its active slot', () => {
    expect(judge(standby('db2'))).toEqual({ subject: 'main/db2', status: 'pass', reason: 'streams through slot "db2" on db1' });
  });

  it('fails a standby that streams without a slot, whether the slot is missing or just not used', () => {
    const missing = judge(standby('db2', { slot: { name: 'db2', exists: false, active: false } }));
    expect(missing).toMatchObject({ status: 'fail', reason: 'streams without a replication slot (slot "db2" is missing on the primary db1)' });
    expect(missing.hint).toContain("On db1: select pg_create_physical_replication_slot('db2')");
    expect(missing.hint).toContain("on db2: alter system set primary_slot_name = 'db2'");
    const unused = judge(standby('db2', { slot: { name: 'db2', exists: true, active: false } }));
    expect(unused).toMatchObject({ status: 'fail', reason: 'streams without a replication slot (slot "db2" exists on db1, but db2 does not use it)' });
    expect(judge(standby('db2', { streaming: false, slot: { name: 'db2', exists: false, active: false } })).reason).toMatch(/^has no replication slot/);
  });

  it('leaves a non-streaming standby with its slot to the streaming check, and an unreachable one as an error', () => {
    expect(judge(standby('db2', { streaming: false, slot: { name: 'db2', exists: true, active: false } }))).toMatchObject({ status: 'pass' });
    expect(judge(down('db2'))).toMatchObject({ status: 'error', hint: 'See replication.streaming[main/db2].' });
  });
});

describe('replication.slot-wal', () => {
  const limits = { slotRetainedWarn: 1 * GiB, slotRetainedFail: 4 * GiB };

  it('passes an active slot under the thresholds, warns and fails over them', () => {
    expect(judgeSlotWal('main', 'db1', { name: 'db2', active: true, retainedBytes: 2048 }, 'db2', limits)).toEqual({
      subject: 'main/slot db2',
      status: 'pass',
      reason: 'active (db2), holds back 2048 bytes (2.0 KiB) of WAL on db1',
    });
    const warn = judgeSlotWal('main', 'db1', { name: 'db2', active: true, retainedBytes: 2 * GiB }, 'db2', limits);
    expect(warn).toMatchObject({ status: 'warn', reason: expect.stringContaining('over validate.slotRetainedWarn 1073741824 bytes (1.0 GiB)') });
    expect(warn.hint).toContain('replication.lag[main/db2]');
    expect(judgeSlotWal('main', 'db1', { name: 'db2', active: true, retainedBytes: 4 * GiB + 1 }, 'db2', limits).status).toBe('fail');
    expect(judgeSlotWal('main', 'db1', { name: 'db2', active: true, retainedBytes: 4 * GiB }, 'db2', limits).status).toBe('warn');
  });

  it('warns about an inactive slot however little it holds, and fails it over the fail threshold', () => {
    const orphan = judgeSlotWal('main', 'db1', { name: 'orphan', active: false }, undefined, limits);
    expect(orphan).toMatchObject({
      subject: 'main/slot orphan',
      status: 'warn',
      reason: 'inactive (no configured member uses it): nothing streams through it, so it holds back WAL on db1 for ever (0 bytes now)',
      hint: "If nothing uses it, drop it on db1: select pg_drop_replication_slot('orphan')",
    });
    const owned = judgeSlotWal('main', 'db1', { name: 'db3', active: false, retainedBytes: 5 * GiB }, 'db3', limits);
    expect(owned).toMatchObject({ status: 'fail', reason: expect.stringMatching(/^inactive \(db3's\).*over validate\.slotRetainedFail/) });
    expect(owned.hint).toContain('replication.streaming[main/db3]');
  });
});

describe('replication.lag', () => {
  const limits = { lagWarn: 16 * MiB, lagFail: 256 * MiB };
  const judge = (member: MemberReport) => judgeLag(topology([primary, member]), member, limits);

  it('passes under the warn threshold, warns over it, fails over the fail threshold', () => {
    expect(judge(standby('db2', { lagBytes: 100, lagSeconds: 0.25 }))).toEqual({
      subject: 'main/db2',
      status: 'pass',
      reason: '100 bytes behind db1, 0.25 s of replay',
    });
    expect(judge(standby('db2', { lagBytes: 16 * MiB }))).toMatchObject({ status: 'pass' });
    expect(judge(standby('db2', { lagBytes: 16 * MiB + 1 }))).toMatchObject({
      status: 'warn',
      reason: expect.stringContaining('over validate.replicationLagWarn 16777216 bytes (16.0 MiB)'),
    });
    const fail = judge(standby('db2', { lagBytes: 300 * MiB, lagSeconds: undefined }));
    expect(fail).toMatchObject({
      status: 'fail',
      reason: '314572800 bytes (300.0 MiB) behind db1, over validate.replicationLagFail 268435456 bytes (256.0 MiB)',
    });
    expect(fail.hint).toMatch(/^db2 is not keeping up/);
  });

  it('warns about a paused replay, and fails a lag it cannot tell', () => {
    expect(judge(standby('db2', { replayPaused: true, lagBytes: 10 }))).toMatchObject({
      status: 'warn',
      reason: '10 bytes behind db1, 0 s of replay, replay paused',
      hint: expect.stringContaining('select pg_wal_replay_resume()'),
    });
    expect(judge(standby('db2', { lagBytes: undefined }))).toMatchObject({ status: 'fail', reason: expect.stringMatching(/^lag unknown/) });
  });
});

describe('the replication suite', () => {
  it('is registered, and in the default run', () => {
    expect(SUITES).toContain('replication');
    expect(ALL_CHECKS.filter((check) => check.suite === 'replication').map((check) => check.id)).toEqual([
      'replication.primary',
      'replication.streaming',
      'replication.slots',
      'replication.slot-wal',
      'replication.lag',
    ]);
  });

  it('applies to PostgreSQL stores that list standbys only, with thresholds from the config', async () => {
    const fleet = await fleetFor({
      stores: {
        main: { engine: 'postgres', url: 'postgres://a@db1/app', standbys: [{ name: 'db2', url: 'postgres://a@db2/app' }] },
        lone: { engine: 'postgres', url: 'postgres://a@db3/app' },
        none: { engine: 'postgres', url: 'postgres://a@db4/app', standbys: [] },
        docs: { engine: 'mongodb', url: 'mongodb://a@m1/docs' },
      },
      validate: { replicationLagWarn: 5 },
    });
    expect(replicatedPostgresStores(fleet, []).map((store) => store.name)).toEqual(['main']);
    expect(thresholdsOf(fleet)).toEqual({ slotRetainedWarn: GiB, slotRetainedFail: 4 * GiB, lagWarn: 5, lagFail: 256 * MiB });
  });

  it('refuses thresholds where warn is above fail, or that are not byte counts', async () => {
    expect((await checkConfig({ validate: { replicationLagWarn: 300 * MiB } })).issues).toEqual([
      { path: 'validate.replicationLagWarn', message: 'must not be above validate.replicationLagFail' },
    ]);
    expect((await checkConfig({ validate: { slotRetainedFail: 100 } })).issues).toEqual([
      { path: 'validate.slotRetainedWarn', message: 'must not be above validate.slotRetainedFail' },
    ]);
    expect((await checkConfig({ validate: { slotRetainedWarn: 1.5 } })).issues[0].path).toBe('validate.slotRetainedWarn');
    expect((await checkConfig({ validate: { slotRetainedWarn: 0, slotRetainedFail: 10, replicationLagWarn: 1, replicationLagFail: 2 } })).issues).toEqual([]);
  });

  it('reads byte counts exactly, with a binary unit once large', () => {
    expect(bytesText(0)).toBe('0 bytes');
    expect(bytesText(1023)).toBe('1023 bytes');
    expect(bytesText(1536)).toBe('1536 bytes (1.5 KiB)');
    expect(bytesText(GiB)).toBe('1073741824 bytes (1.0 GiB)');
  });
});
