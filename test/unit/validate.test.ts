import { describe, expect, it } from 'vitest';
import { toJUnit } from '../../src/engine/validate/junit.js';
import { runChecks, type Check, type CheckContext } from '../../src/engine/validate/registry.js';

const context = (strict = false) => ({ fleet: {} as CheckContext['fleet'], strict, stores: [], env: {} });
const check = (id: string, run: Check['run']): Check => ({ id, suite: id.split('.')[0], title: `${id} title`, run });

describe('validate check runner', () => {
  it('reports a check that hangs as an error at the timeout, while the others still report', async () => {
    const report = await runChecks(
      [
        check('a.hangs', () => new Promise(() => undefined)),
        check('a.ok', async () => [{ status: 'pass', reason: 'fine' }]),
        check('b.throws', async () => {
          throw Object.assign(new Error('boom'), { hint: 'do x' });
        }),
      ],
      context(),
      150,
    );
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(byId['a.hangs']).toMatchObject({ status: 'error', reason: expect.stringContaining('150 ms') });
    expect(byId['a.ok']).toMatchObject({ status: 'pass' });
    expect(byId['b.throws']).toMatchObject({ status: 'error', reason: 'boom', hint: 'do x' });
    expect(report.ok).toBe(false);
    expect(report.summary).toMatchObject({ pass: 1, error: 2, total: 3 });
  });

  it('starts a check with `after` once those checks are done, even when it is listed first; the others run at once', async () => {
    const events: string[] = [];
    const report = await runChecks(
      [
        { ...check('b.reads', async () => (events.push('reads'), [{ status: 'pass', reason: 'read' }])), after: ['b.writes'] },
        check('b.writes', async () => {
          events.push('writes:start');
          await new Promise((resolve) => setTimeout(resolve, 50));
          events.push('writes:end');
          return [{ status: 'pass', reason: 'wrote' }];
        }),
        check('c.free', async () => (events.push('free'), [{ status: 'pass', reason: 'ok' }])),
      ],
      context(),
      1000,
    );
    expect(report.ok).toBe(true);
    expect(events.indexOf('reads')).toBeGreaterThan(events.indexOf('writes:end'));
    expect(events.indexOf('free')).toBeLessThan(events.indexOf('writes:end'));
  });

  it('names per-subject outcomes, allows warnings unless strict', async () => {
    const checks = [
      check('c.stores', async () => [
        { subject: 'main', status: 'pass', reason: 'up' },
        { subject: 'db2', status: 'warn', reason: 'slow' },
      ]),
    ];
    const lenient = await runChecks(checks, context(false), 1000);
    expect(lenient.checks.map((c) => c.id)).toEqual(['c.stores[main]', 'c.stores[db2]']);
    expect(lenient.ok).toBe(true);
    expect((await runChecks(checks, context(true), 1000)).ok).toBe(false);
  });

  it('writes JUnit XML CI systems read: testsuites > testsuite > testcase, with failure and error elements', async () => {
    const report = await runChecks(
      [
        check('x.bad', async () => [{ status: 'fail', reason: 'too old <1h> & "stale"', hint: 'take one' }]),
        check('y.err', async () => [{ status: 'error', reason: 'down' }]),
        check('y.fine', async () => [{ status: 'pass', reason: 'ok' }]),
      ],
      context(),
      1000,
    );
    const xml = toJUnit(report);
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="storage validate" tests="3" failures="1" errors="1"/);
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toContain('<failure message="too old &lt;1h&gt; &amp; &quot;stale&quot;">');
    expect(xml).toContain('<error message="down">');
    expect(xml.match(/<\/testcase>/g)).toHaveLength(3);
    expect(xml.trim().endsWith('</testsuites>')).toBe(true);
  });
});
