// Entry point the commands load lazily, so Ink and React stay out of start-up.
import { HealthMonitor, PoolsMonitor, type HealthSnapshot, type PoolsSnapshot } from '../../engine/db/monitor.js';
import type { ResolvedStore } from '../../engine/config/load.js';
import type { Fleet } from '../../engine/fleet.js';
import { createElement } from 'react';
import { colorEnabled } from '../terminal.js';
import { HealthBoard } from './health-board.js';
import { PoolsBoard } from './pools-board.js';
import { FailoverBoard, type FailoverSnapshot } from './failover-board.js';
import { SyncBoard, type SyncSnapshot } from './sync-board.js';
import { runLiveView } from './live-view.js';

/** A store that keeps failing is left alone for a while (at least five rounds) instead of being called every round. */
const breakerFor = (intervalMs: number) => ({ failureThreshold: 3, coolDownMs: Math.max(10_000, intervalMs * 5) });

/** The views draw on stderr, which is a terminal here; NO_COLOR and TERM=dumb turn colour off as everywhere else. */
const liveColor = () => colorEnabled({ stdoutIsTTY: true });

export async function watchHealth(fleet: Fleet, stores: ResolvedStore[], intervalMs: number): Promise<void> {
  const monitor = new HealthMonitor(fleet, stores, { intervalMs, breaker: breakerFor(intervalMs) });
  const color = liveColor();
  await runLiveView<HealthSnapshot>({
    subscribe: (onChange) => monitor.start(onChange),
    view: (snapshot, size) => createElement(HealthBoard, { snapshot, intervalMs, size, color }),
  });
}

export async function watchPools(fleet: Fleet, stores: ResolvedStore[], intervalMs: number): Promise<void> {
  const monitor = new PoolsMonitor(fleet, stores, { intervalMs, breaker: breakerFor(intervalMs) });
  const color = liveColor();
  await runLiveView<PoolsSnapshot>({
    subscribe: (onChange) => monitor.start(onChange),
    view: (snapshot, size) => createElement(PoolsBoard, { snapshot, intervalMs, size, color }),
  });
}

export async function watchFailover(read: () => Promise<FailoverSnapshot['stores']>, intervalMs: number): Promise<void> {
  const color = liveColor();
  let round = 0;
  await runLiveView<FailoverSnapshot>({
    poll: async () => ({ round: ++round, stores: await read() }),
    intervalMs,
    view: (snapshot, size) => createElement(FailoverBoard, { snapshot, intervalMs, size, color }),
  });
}

export async function watchSync(read: () => Promise<SyncSnapshot['jobs']>, intervalMs: number): Promise<void> {
  const color = liveColor();
  let round = 0;
  await runLiveView<SyncSnapshot>({
    poll: async () => ({ round: ++round, jobs: await read() }),
    intervalMs,
    view: (snapshot, size) => createElement(SyncBoard, { snapshot, intervalMs, size, color }),
  });
}
