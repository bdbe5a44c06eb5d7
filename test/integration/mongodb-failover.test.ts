// MongoDB failover. No real replica set can run on these machines, so the replica-set tests talk
// to a STAND-IN wire server (test/support/replset-wire-server.ts) that answers only the
// replica-set commands; the standalone refusal runs against the real FerretDB server.
import { afterEach, describe, expect, it } from 'vitest';
import type { FailoverCapability, FailoverContext } from '../../src/engine/engines/spec.js';
import { StorageError } from '../../src/engine/errors.js';
import type { Fleet } from '../../src/engine/fleet.js';
import type { Progress } from '../../src/engine/progress.js';
import { fleetFor } from '../support/fleet.js';
import { ReplSetWireServer, type ReplSetScenario } from '../support/replset-wire-server.js';
import { servers } from '../support/servers.js';

const LAG = { maxLagBytes: 16 * 2 ** 20 };
const A = 'h-alpha.rs.test:27017';
const B = 'h-bravo.rs.test:27017';
const C = 'h-charlie.rs.test:27017';

/** Records the steps the capability reports. */
function recorder(): Progress & { titles: string[] } {
  const titles: string[] = [];
  return { titles, step: (title) => (titles.push(title), () => undefined), warn: () => undefined };
}

async function failure(work: Promise<unknown>): Promise<StorageError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

let fleet: Fleet | undefined;
let stand: ReplSetWireServer | undefined;

afterEach(async () => {
  await fleet?.close();
  await stand?.stop();
  fleet = stand = undefined;
});

async function failoverFor(url: string): Promise<{ impl: FailoverCapability; context: FailoverContext }> {
  fleet = await fleetFor({ stores: { h_rs: { engine: 'mongodb', url } } });
  const { impl, store, provider } = await fleet.capability('h_rs', 'failover');
  return { impl, context: { store, provider, members: [] } };
}

async function standIn(scenario: ReplSetScenario) {
  stand = await ReplSetWireServer.start(scenario);
  return { stand, ...(await failoverFor(stand.url('h_failover'))) };
}

const healthySet: ReplSetScenario = {
  members: [
    { name: A, state: 'PRIMARY' },
    { name: B, state: 'SECONDARY', lagSeconds: 2 },
    { name: C, state: 'SECONDARY', lagSeconds: 0 },
  ],
};

describe('MongoDB failover on a simulated replica set (STAND-IN wire server: no real replica set can run here)', () => {
  it('topology: roles, optimes and lag in seconds from replSetGetStatus; a lagging, an unreachable and a priority-0 member are not eligible', async () => {
    const { impl, context } = await standIn({
      members: [
        { name: A, state: 'PRIMARY' },
        { name: B, state: 'SECONDARY', lagSeconds: 1 },
        { name: C, state: 'SECONDARY', lagSeconds: 45 },
        { name: 'h-delta.rs.test:27017', state: 'SECONDARY', health: 0 },
        { name: 'h-echo.rs.test:27017', state: 'SECONDARY', passive: true },
        { name: 'h-fox.rs.test:27017', state: 'RECOVERING', lagSeconds: 3 },
      ],
    });
    const topology = await impl.topology(context, LAG);
    expect(topology).toMatchObject({ store: 'h_rs', engine: 'mongodb', primary: A });
    const [alpha, bravo, charlie, delta, echo, fox] = topology.members;
    expect(alpha).toMatchObject({ name: A, address: A, role: 'primary', reachable: true });
    expect(alpha.currentLsn).toMatch(/^\d{4}-\d\d-\d\dT.*Z \(ts \d+:1, term 3\)$/);
    expect(bravo).toMatchObject({ name: B, role: 'standby', streaming: true, lagSeconds: 1, eligible: true, reasons: [], upstream: A });
    expect(bravo.replayedLsn).toMatch(/ \(ts \d+:1, term 3\)$/);
    expect(bravo.receivedLsn).toBe(bravo.replayedLsn);
    expect(charlie).toMatchObject({ role: 'standby', lagSeconds: 45, eligible: false });
    expect(charlie.reasons).toEqual([expect.stringMatching(/not caught up: 45 s behind the primary \(over 10 s; .*byte limit does not apply/)]);
    expect(delta).toMatchObject({ reachable: false, streaming: false, eligible: false });
    expect(delta.error).toMatch(/Connection refused/);
    expect(delta.reasons).toContainEqual(expect.stringMatching(/not healthy/));
    expect(echo).toMatchObject({ eligible: false, reasons: [expect.stringMatching(/priority 0/)] });
    expect(fox).toMatchObject({ role: 'unknown', reasons: ['its state is RECOVERING'] });
    expect(topology.problems).toEqual([expect.stringMatching(/^h-delta\.rs\.test:27017 is unreachable/)]);
  });

  it('topology: a set with no primary says so, and no lag can be measured', async () => {
    const { impl, context } = await standIn({
      self: A,
      members: [
        { name: A, state: 'SECONDARY' },
        { name: B, state: 'SECONDARY' },
      ],
    });
    const topology = await impl.topology(context, LAG);
    expect(topology.primary).toBeUndefined();
    expect(topology.problems).toEqual([expect.stringMatching(/No member is primary/)]);
    expect(topology.members[0]).toMatchObject({ eligible: false, reasons: [expect.stringMatching(/lag is unknown/)] });
    const error = await failure(impl.switchover(context, { maxLagBytes: LAG.maxLagBytes, timeoutMs: 5000 }, recorder()));
    expect(error).toMatchObject({ code: 'REFUSED' });
    expect(error.message).toMatch(/has no primary: a switchover needs exactly one/);
  });

  it('switchover: sends replSetStepDown with the catch-up period, survives the dropped connection, and reports the newly elected primary', async () => {
    const { stand, impl, context } = await standIn({ ...healthySet, electAfterMs: 400 });
    const progress = recorder();
    const event = await impl.switchover(context, { maxLagBytes: LAG.maxLagBytes, timeoutMs: 8000 }, progress);
    expect(stand.commands('replSetStepDown')).toEqual([expect.objectContaining({ replSetStepDown: 60, secondaryCatchUpPeriodSecs: 8 })]);
    expect(event).toMatchObject({
      kind: 'switchover',
      store: 'h_rs',
      from: A,
      to: B,
      oldPrimary: expect.stringMatching(/is a secondary and will not seek election for 60 s/),
    });
    expect(Date.parse(event.at)).not.toBeNaN();
    expect(event.durationMs).toBeGreaterThanOrEqual(400);
    expect(event.lsn).toMatch(/term 3/);
    expect(event.steps).toEqual([
      `${A} is primary; caught up: ${B}, ${C}`,
      expect.stringMatching(/stepped down and dropped its connections \(replSetStepDown 60 s, catch-up up to 8 s\)/),
      `the replica set elected ${B}`,
    ]);
    expect(progress.titles).toEqual(['Checking the replica set', `Asking ${A} to step down`, 'Waiting for the replica set to elect a new primary']);
    // It watched the set after the step-down, and asked for nothing else.
    const after = stand.received.slice(stand.received.indexOf(stand.commands('replSetStepDown')[0]) + 1);
    expect(after.filter((command) => Object.keys(command)[0] === 'replSetGetStatus').length).toBeGreaterThanOrEqual(1);
  });

  it('switchover --to: allowed for the only caught-up secondary; refused (nothing sent) when MongoDB could elect another, or the member is lagging', async () => {
    const lagging: ReplSetScenario = {
      ...healthySet,
      members: [healthySet.members[0], { name: B, state: 'SECONDARY', lagSeconds: 30 }, healthySet.members[2]],
    };
    let { stand, impl, context } = await standIn(lagging);
    const refusedLagging = await failure(impl.switchover(context, { to: B, maxLagBytes: LAG.maxLagBytes, timeoutMs: 5000 }, recorder()));
    expect(refusedLagging).toMatchObject({ code: 'REFUSED', exitCode: 1 });
    expect(refusedLagging.message).toMatch(/"h-bravo.rs.test:27017" is not an eligible secondary .*not caught up: 30 s behind/);
    expect(stand.commands('replSetStepDown')).toEqual([]);
    const event = await impl.switchover(context, { to: C, maxLagBytes: LAG.maxLagBytes, timeoutMs: 5000 }, recorder());
    expect(event).toMatchObject({ from: A, to: C });
    expect(stand.commands('replSetStepDown')).toHaveLength(1);
    await fleet?.close();
    await stand.stop();

    ({ stand, impl, context } = await standIn(healthySet));
    const refusedChoice = await failure(impl.switchover(context, { to: C, maxLagBytes: LAG.maxLagBytes, timeoutMs: 5000 }, recorder()));
    expect(refusedChoice).toMatchObject({ code: 'REFUSED' });
    expect(refusedChoice.message).toMatch(/MongoDB elects the new primary itself/);
    const refusedPrimary = await failure(impl.switchover(context, { to: A, maxLagBytes: LAG.maxLagBytes, timeoutMs: 5000 }, recorder()));
    expect(refusedPrimary.message).toMatch(/not an eligible secondary .*it is the primary/);
    expect(stand.commands('replSetStepDown')).toEqual([]);
  });

  it('switchover: refused (REFUSED, nothing sent) when no secondary is caught up', async () => {
    const { stand, impl, context } = await standIn({
      members: [
        { name: A, state: 'PRIMARY' },
        { name: B, state: 'SECONDARY', lagSeconds: 60 },
        { name: C, state: 'SECONDARY', lagSeconds: 12 },
      ],
    });
    const error = await failure(impl.switchover(context, { maxLagBytes: LAG.maxLagBytes, timeoutMs: 5000 }, recorder()));
    expect(error).toMatchObject({ code: 'REFUSED', exitCode: 1 });
    expect(error.message).toMatch(/No secondary of store "h_rs" is caught up .*12 s behind.*Nothing was sent/);
    expect((error.details?.members as unknown[]).length).toBe(3);
    expect(stand.commands('replSetStepDown')).toEqual([]);
  });

  it('switchover: refused when the primary answers that it cannot step down (it stays primary)', async () => {
    const { stand, impl, context } = await standIn({ ...healthySet, refuseStepDown: true });
    const error = await failure(impl.switchover(context, { maxLagBytes: LAG.maxLagBytes, timeoutMs: 5000 }, recorder()));
    expect(error).toMatchObject({ code: 'REFUSED' });
    expect(error.message).toMatch(/h-alpha.rs.test:27017 refused to step down: No electable secondaries caught up .*nothing changed/);
    expect(stand.commands('replSetStepDown')).toHaveLength(1);
    expect((await impl.topology(context, LAG)).primary).toBe(A);
  });

  it('switchover: the outcome is unknown (exit 4, last reports kept) when no new primary appears in time', async () => {
    const { stand, impl, context } = await standIn({ ...healthySet, electAfterMs: null });
    const started = Date.now();
    const error = await failure(impl.switchover(context, { maxLagBytes: LAG.maxLagBytes, timeoutMs: 1500 }, recorder()));
    expect(error).toMatchObject({ code: 'OUTCOME_UNKNOWN', exitCode: 4 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(stand.commands('replSetStepDown')).toEqual([expect.objectContaining({ replSetStepDown: 60, secondaryCatchUpPeriodSecs: 2 })]);
    const members = error.details?.members as Array<{ name: string; role: string }>;
    expect(members.map((member) => member.role)).toEqual(['standby', 'standby', 'standby']);
  });

  it('promote and rejoin: refused with 64, MongoDB elects its own primary', async () => {
    const { stand, impl, context } = await standIn(healthySet);
    const promote = await failure(impl.promote(context, { to: B, acceptDataLoss: true }, recorder()));
    expect(promote).toMatchObject({ code: 'UNSUPPORTED', exitCode: 64 });
    expect(promote.message).toMatch(/MongoDB elects its own primary/);
    expect(promote.hint).toMatch(/storage failover switchover h_rs/);
    const rejoin = await failure(impl.rejoin(context, { member: A }, recorder()));
    expect(rejoin).toMatchObject({ code: 'UNSUPPORTED', exitCode: 64 });
    expect(rejoin.message).toMatch(/rejoin their replica set by themselves/);
    expect(stand.commands('replSetStepDown')).toEqual([]);
  });
});

describe('MongoDB failover on the real FerretDB server (a standalone)', () => {
  function ferretUrl(): string {
    const url = new URL(servers().mongoUrl);
    url.pathname = '/h_failover';
    return url.toString();
  }

  it('topology, switchover, promote and rejoin refuse a standalone server with UNSUPPORTED (64)', async () => {
    const { impl, context } = await failoverFor(ferretUrl());
    // Each attempt starts only when awaited: one rejected before its turn would be an unhandled rejection.
    const attempts = [
      () => impl.topology(context, LAG),
      () => impl.switchover(context, { maxLagBytes: LAG.maxLagBytes, timeoutMs: 5000 }, recorder()),
      () => impl.promote(context, { to: 'x:27017', acceptDataLoss: false }, recorder()),
      () => impl.rejoin(context, { member: 'x:27017' }, recorder()),
    ];
    for (const attempt of attempts) {
      const error = await failure(attempt());
      expect(error).toMatchObject({ code: 'UNSUPPORTED', exitCode: 64 });
      expect(error.message).toBe('Store "h_rs" is a standalone MongoDB server (no replica set): there is nothing to fail over to.');
      expect(error.hint).toMatch(/replica set/);
    }
  });
});
