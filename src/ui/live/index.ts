// Entry point the commands load lazily, so Ink and React stay out of start-up.
import { HealthMonitor } from '../../engine/db/monitor.js';
import { poolReports } from '../../engine/db/inspect.js';
import type { ResolvedStore } from '../../engine/config/load.js';
import type { Fleet } from '../../engine/fleet.js';
import { createElement } from 'react';
import { HealthBoard } from './health-board.js';
import { PoolsBoard, type PoolsSnapshot } from './pools-board.js';
import { runLiveView } from './live-view.js';

export async function watchHealth(fleet: Fleet, stores: ResolvedStore[], intervalMs: number): Promise<void> {
  const monitor = new HealthMonitor(fleet, stores, { breaker: { failureThreshold: 3, coolDownMs: Math.max(10_000, intervalMs * 5) } });
  await runLiveView({ poll: () => monitor.tick(), intervalMs, view: (snapshot) => createElement(HealthBoard, { snapshot, intervalMs }) });
}

export async function watchPools(fleet: Fleet, stores: ResolvedStore[], intervalMs: number): Promise<void> {
  let round = 0;
  const poll = async (): Promise<PoolsSnapshot> => ({ reports: await poolReports(fleet, stores), round: ++round });
  await runLiveView({ poll, intervalMs, view: (snapshot) => createElement(PoolsBoard, { snapshot, intervalMs }) });
}
