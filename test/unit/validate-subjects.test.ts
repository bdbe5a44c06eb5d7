// A check that judges stores one by one keeps the answers it has when the run's timeout cuts it
// short: only the stores that did not answer are errors.
import { describe, expect, it } from 'vitest';
import { eachSubject, runChecks, type Check, type CheckContext } from '../../src/engine/validate/registry.js';

const context: CheckContext = { fleet: {} as CheckContext['fleet'], strict: false, stores: [], env: {} };

describe('validate: per-store outcomes survive the timeout', () => {
  it('the stores that answered keep their outcomes; the hung one is an error', async () => {
    const perStore: Check = {
      id: 'connectivity.fake',
      suite: 'connectivity',
      title: 'fake',
      run: (ctx) =>
        eachSubject(
          ctx,
          ['fast', 'hung', 'slowish'],
          (store) => store,
          (store) =>
            store === 'hung'
              ? new Promise(() => undefined)
              : Promise.resolve({ subject: store, status: store === 'fast' ? ('pass' as const) : ('warn' as const), reason: `${store} answered` }),
        ),
    };
    const report = await runChecks([perStore], context, 200);
    expect(report.timedOut).toBe(true);
    expect(report.checks.map(({ id, status, reason }) => ({ id, status, reason }))).toEqual([
      { id: 'connectivity.fake[fast]', status: 'pass', reason: 'fast answered' },
      { id: 'connectivity.fake[hung]', status: 'error', reason: 'did not finish within 200 ms' },
      { id: 'connectivity.fake[slowish]', status: 'warn', reason: 'slowish answered' },
    ]);
  });

  it('a store whose judge throws is an error of its own, not of the whole check', async () => {
    const outcomes = await eachSubject(
      context,
      ['a', 'b'],
      (store) => store,
      async (store) => {
        if (store === 'b') throw Object.assign(new Error('no route'), { hint: 'check the network' });
        return { subject: store, status: 'pass' as const, reason: 'ok' };
      },
    );
    expect(outcomes).toEqual([
      { subject: 'a', status: 'pass', reason: 'ok' },
      { subject: 'b', status: 'error', reason: 'no route', hint: 'check the network' },
    ]);
  });
});
