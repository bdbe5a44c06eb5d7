import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { HealthSnapshot } from '../../src/engine/db/monitor.js';
import { HealthBoard } from '../../src/ui/live/health-board.js';
import { LiveView } from '../../src/ui/live/live-view.js';
import { PoolsBoard } from '../../src/ui/live/pools-board.js';

const snapshot: HealthSnapshot = {
  round: 3,
  takenAt: '2026-11-26T00:00:00.000Z',
  stores: [
    {
      store: 'main',
      engine: 'postgres',
      target: 'postgres://app:****@db1/app',
      status: 'up',
      latencyMs: 4.2,
      serverVersion: '15.20',
      role: 'primary',
      readOnly: false,
      checkedAt: '',
      error: null,
      history: [3, 5, 4.2],
      breaker: 'closed',
      breakerRetryInMs: 0,
    },
    {
      store: 'events',
      engine: 'mongodb',
      target: 'mongodb://m/events',
      status: 'down',
      latencyMs: null,
      serverVersion: null,
      role: null,
      readOnly: null,
      checkedAt: '',
      error: { code: 'UNREACHABLE', message: 'refused' },
      history: [2, null, null],
      breaker: 'open',
      breakerRetryInMs: 8000,
    },
  ],
};

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('live views', () => {
  it('health board shows each store, its latency history and an open breaker', () => {
    const { lastFrame } = render(<HealthBoard snapshot={snapshot} intervalMs={2000} />);
    const frame = lastFrame() ?? '';
    expect(frame).toContain('round 3');
    expect(frame).toMatch(/main\s+postgres\s+4\.20 ms\s+primary/);
    expect(frame).toContain('▁█');
    expect(frame).toMatch(/events\s+mongodb\s+-/);
    expect(frame).toMatch(/breaker open, next try in\s+8s/);
  });

  it('pools board shows client and server connections, and errors per store', () => {
    const { lastFrame } = render(
      <PoolsBoard
        intervalMs={1000}
        snapshot={{
          round: 1,
          reports: [
            {
              store: 'main',
              engine: 'postgres',
              client: { total: 2, idle: 1, waiting: 0, max: 5 },
              server: { active: 1, idle: 3 },
              details: {},
              capacity: null,
            },
            { store: 'dead', engine: 'postgres', error: { code: 'UNREACHABLE', message: 'refused' } },
          ],
        }}
      />,
    );
    expect(lastFrame()).toContain('client 2/5 (idle 1, waiting 0) · server active 1 · idle 3');
    expect(lastFrame()).toContain('UNREACHABLE: refused');
  });

  it('live view polls on its interval and redraws, and quits on q', async () => {
    let polls = 0;
    const { lastFrame, stdin, frames } = render(<LiveView poll={async () => ++polls} intervalMs={20} view={(n) => <Text>{`poll number ${n}`}</Text>} />);
    await wait(150);
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(lastFrame()).toMatch(/poll number \d+/);
    expect(frames.some((frame) => frame.includes('poll number 1'))).toBe(true);
    stdin.write('q');
    await wait(50);
    const after = polls;
    await wait(100);
    expect(polls).toBe(after);
  });
});
