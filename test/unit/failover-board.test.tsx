import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { Topology } from '../../src/engine/engines/spec.js';
import { FailoverBoard } from '../../src/ui/live/failover-board.js';

const topology: Topology = {
  store: 'main',
  engine: 'postgres',
  primary: 'pg1',
  problems: [],
  members: [
    { name: 'pg1', address: '10.0.0.1:5432', reachable: true, role: 'primary', timeline: 2, currentLsn: '0/3000000' },
    {
      name: 'pg2',
      address: '10.0.0.2:5432',
      reachable: true,
      role: 'standby',
      timeline: 2,
      streaming: true,
      lagBytes: 0,
      lagSeconds: 0,
      slot: { name: 'pg2', exists: true, active: true },
      eligible: true,
      reasons: [],
    },
    {
      name: 'pg3',
      address: '10.0.0.3:5432',
      reachable: true,
      role: 'standby',
      timeline: 2,
      streaming: false,
      slot: { name: 'pg3', exists: false, active: false },
      eligible: false,
      reasons: ['not streaming from the primary', 'streams without a replication slot'],
    },
    { name: 'pg4', address: '10.0.0.4:5432', reachable: false, role: 'unknown', eligible: false, reasons: ['unreachable: connect ECONNREFUSED'] },
  ],
};

describe('the live failover view', () => {
  it('shows one line per member with its role, and why a standby cannot take over, in a narrow terminal too', () => {
    for (const columns of [120, 60]) {
      const { lastFrame, unmount } = render(
        <FailoverBoard snapshot={{ round: 2, stores: [topology] }} intervalMs={2000} size={{ columns, rows: 20 }} color={false} />,
      );
      const lines = lastFrame()!.split('\n');
      unmount();
      expect(lines[0]).toContain('round 2');
      expect(lines.find((line) => line.includes('main/pg1'))).toMatch(/primary/);
      expect(lines.find((line) => line.includes('main/pg2'))).toMatch(/yes/);
      expect(lines.find((line) => line.includes('main/pg3'))).toMatch(/no: not streaming/);
      expect(lines.find((line) => line.includes('main/pg4'))).toMatch(/no: unreachable/);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(columns);
    }
  });

  it('names a store without a primary in its title', () => {
    const { lastFrame, unmount } = render(
      <FailoverBoard
        snapshot={{ round: 1, stores: [{ ...topology, primary: undefined, problems: ['no member answers as primary'] }] }}
        intervalMs={2000}
        size={{ columns: 120, rows: 20 }}
        color={false}
      />,
    );
    expect(lastFrame()!.split('\n')[0]).toContain('main: no member answers as primary');
    unmount();
  });
});
