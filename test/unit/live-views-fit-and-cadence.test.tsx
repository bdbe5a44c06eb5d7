// Live views fit the terminal (80×24 and smaller: columns narrowed or dropped, one line per store,
// extra stores summarised), draw each store as its own probe answers on a steady cadence, never
// show a breaker's refusal as the store's failure, and use one colour per status in both views.
import { Box } from 'ink';
import { render as renderInk } from 'ink-testing-library';
import type { ReactElement } from 'react';
import { describe, expect, it } from 'vitest';
import type { ResolvedStore } from '../../src/engine/config/load.js';
import { StoreWatch, type HealthSnapshot, type MonitoredStore, type PoolsSnapshot } from '../../src/engine/db/monitor.js';
import { HealthBoard, healthState } from '../../src/ui/live/health-board.js';
import { fitColumns, toneColor } from '../../src/ui/live/layout.js';
import { PoolsBoard } from '../../src/ui/live/pools-board.js';

const down = (store: string, overrides: Partial<MonitoredStore> = {}): MonitoredStore => ({
  store,
  engine: 'postgres',
  target: '',
  status: 'down',
  latencyMs: null,
  serverVersion: null,
  role: null,
  readOnly: null,
  checkedAt: '',
  error: { code: 'UNREACHABLE', message: 'refused' },
  history: [null, null, null],
  breaker: 'closed',
  breakerRetryInMs: 0,
  ...overrides,
});

const up = (store: string): MonitoredStore => ({
  ...down(store),
  status: 'up',
  latencyMs: 3.5,
  serverVersion: '15.20 (Debian 15.20-0+deb12u1)',
  role: 'primary',
  readOnly: false,
  error: null,
  history: [3, 4, 3.5, 9, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8],
});

/** Renders at a terminal `columns` wide (the test renderer's own terminal is 100 columns). */
function render(view: ReactElement<{ size?: { columns: number } }>) {
  return renderInk(<Box width={view.props.size?.columns ?? 100}>{view}</Box>);
}

const health = (stores: MonitoredStore[]): HealthSnapshot => ({ round: 12, takenAt: '', stores });

function lines(frame: string | undefined): string[] {
  return (frame ?? '').split('\n');
}

describe('live views fit the terminal', () => {
  const stores = [up('main'), down('reporting-replica-in-frankfurt', { breaker: 'open', breakerRetryInMs: 9000 }), up('events-archive'), down('lite')];

  it.each([
    [80, 24],
    [60, 24],
    [40, 24],
  ])('health at %i columns: every line fits, one line per store', (columns, rows) => {
    const frame = lines(render(<HealthBoard snapshot={health(stores)} intervalMs={2000} size={{ columns, rows }} />).lastFrame());
    for (const line of frame) expect(line.length, line).toBeLessThanOrEqual(columns);
    expect(frame).toHaveLength(2 + stores.length);
    for (const [index, store] of stores.entries()) expect(frame[2 + index]).toContain(store.store.slice(0, 4));
  });

  it('at 80 columns the state still says why a store is down and when it is tried again', () => {
    const frame = render(<HealthBoard snapshot={health(stores)} intervalMs={2000} size={{ columns: 80, rows: 24 }} />).lastFrame() ?? '';
    expect(frame).toMatch(/reportin\S*\s.*UNREACHABLE · retry in 9s/);
  });

  it('narrow terminals drop the least useful columns first, keeping store and state', () => {
    const wide = fitColumns(
      [
        { key: 'store', title: 'store', min: 8, preferred: 16, priority: 1 },
        { key: 'engine', title: 'engine', min: 9, preferred: 9, priority: 6 },
        { key: 'state', title: 'state', min: 20, preferred: 40, priority: 2, flex: true },
      ],
      35,
    );
    expect(wide.map((column) => column.key)).toEqual(['store', 'state']);
    expect(wide.reduce((sum, column) => sum + column.width, 0)).toBeLessThanOrEqual(35);
  });

  it('more stores than rows: the frame stays within 24 lines and says how many are hidden', () => {
    const many = Array.from({ length: 40 }, (_, index) => up(`store${index}`));
    const frame = lines(render(<HealthBoard snapshot={health(many)} intervalMs={2000} size={{ columns: 80, rows: 24 }} />).lastFrame());
    expect(frame.length).toBeLessThan(24);
    expect(frame.at(-1)).toMatch(/^… and \d+ more stores/);
    const shown = frame.filter((line) => /store\d+/.test(line)).length;
    expect(shown + Number(/and (\d+) more/.exec(frame.at(-1)!)![1])).toBe(40);
  });

  it('pools at 80 columns: every line fits, one line per store', () => {
    const snapshot: PoolsSnapshot = {
      round: 2,
      reports: [
        {
          store: 'main',
          engine: 'postgres',
          client: { total: 2, idle: 1, waiting: 0, max: 5 },
          server: { active: 1, idle: 30, 'idle in transaction': 2 },
          details: {},
          capacity: null,
          history: [1, 2],
          latencyMs: 2,
        },
        {
          store: 'a-very-long-store-name-indeed',
          engine: 'mongodb',
          error: { code: 'UNREACHABLE', message: 'connect ECONNREFUSED 127.0.0.1:27017 after 3 attempts' },
        },
      ],
    };
    const frame = lines(render(<PoolsBoard snapshot={snapshot} intervalMs={2000} size={{ columns: 80, rows: 24 }} />).lastFrame());
    for (const line of frame) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(frame).toHaveLength(4);
  });
});

describe('one state, one colour', () => {
  it('a down store whose breaker is open shows its own failure and the breaker once, never CIRCUIT_OPEN', () => {
    const text = healthState(down('x', { breaker: 'open', breakerRetryInMs: 8000 }));
    expect(text).toBe('UNREACHABLE · breaker open, next try in 8s');
  });

  it('down is red, up is green, not yet known is grey, in both views; no colour at all when colour is off', () => {
    expect([toneColor('down', true), toneColor('up', true), toneColor('unknown', true)]).toEqual(['red', 'green', 'gray']);
    expect([toneColor('down', false), toneColor('up', false)]).toEqual([undefined, undefined]);
  });
});

describe('the watch keeps its cadence and draws each store as it answers', () => {
  const store = (name: string) => ({ name, engine: 'postgres' }) as ResolvedStore;

  it('a store that has not answered does not hold back the others, or the next round; it is not probed twice at once', async () => {
    let releaseSlow: () => void = () => undefined;
    const calls: string[] = [];
    const watch = new StoreWatch<string>(
      [store('fast'), store('slow')],
      async (s) => {
        calls.push(s.name);
        if (s.name === 'slow') await new Promise<void>((resolve) => (releaseSlow = resolve));
        return { result: `${s.name} answered`, ok: true, latencyMs: 1 };
      },
      { intervalMs: 1_000_000 },
    );
    let answers = 0;
    void watch.startRound(() => answers++);
    await new Promise((resolve) => setImmediate(resolve));
    // The fast store is drawn while the slow one is still probing.
    expect(answers).toBe(1);
    expect(watch.entries().map((entry) => [entry.store.name, entry.last, entry.probingForMs !== undefined])).toEqual([
      ['fast', 'fast answered', false],
      ['slow', undefined, true],
    ]);
    // Next rounds start on time; the slow store is not probed again while its probe is out.
    void watch.startRound(() => answers++);
    await new Promise((resolve) => setImmediate(resolve));
    void watch.startRound(() => answers++);
    await new Promise((resolve) => setImmediate(resolve));
    expect(watch.rounds).toBe(3);
    expect(calls.filter((name) => name === 'slow')).toHaveLength(1);
    expect(calls.filter((name) => name === 'fast')).toHaveLength(3);
    releaseSlow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(watch.entries()[1].last).toBe('slow answered');
  });

  it('an open breaker leaves the store alone and keeps its last real failure on show', async () => {
    let now = 0;
    const clock = { now: () => now, sleep: async () => undefined };
    let calls = 0;
    const watch = new StoreWatch<{ code: string }>(
      [store('dead')],
      async () => {
        calls++;
        return { result: { code: 'UNREACHABLE' }, ok: false, latencyMs: null };
      },
      { intervalMs: 1000, breaker: { failureThreshold: 2, coolDownMs: 10_000 }, clock },
    );
    await watch.startRound(() => undefined);
    await watch.startRound(() => undefined);
    expect(watch.entries()[0]).toMatchObject({ last: { code: 'UNREACHABLE' }, breaker: 'open', breakerRetryInMs: 10_000 });
    now = 5000;
    await watch.startRound(() => undefined);
    expect(calls).toBe(2);
    expect(watch.entries()[0]).toMatchObject({ last: { code: 'UNREACHABLE' }, breaker: 'open', breakerRetryInMs: 5000, history: [null, null, null] });
    now = 10_000;
    await watch.startRound(() => undefined);
    expect(calls).toBe(3);
  });
});
