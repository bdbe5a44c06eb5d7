// The failover topic: each operation asks the store's engine for its failover capability, holds
// the store's lock while it changes roles, and records what happened in the history.
import type { FailoverEvent, Topology } from '../engines/spec.js';
import type { Fleet } from '../fleet.js';
import { silentProgress, type Progress } from '../progress.js';
import { withStoreLock } from '../fleet-lock.js';
import { recordEvent } from './history.js';
import { membersOf } from './members.js';

export const DEFAULT_MAX_LAG_BYTES = 16 * 2 ** 20;

async function context(fleet: Fleet, storeName: string) {
  const { store, provider, impl } = await fleet.capability(storeName, 'failover');
  return { impl, context: { store, provider, members: membersOf(store) } };
}

export async function failoverStatus(fleet: Fleet, storeName: string, options: { maxLagBytes?: number } = {}): Promise<Topology> {
  const { impl, context: ctx } = await context(fleet, storeName);
  return impl.topology(ctx, { maxLagBytes: options.maxLagBytes ?? DEFAULT_MAX_LAG_BYTES });
}

/** The stores that can report a topology (those whose engine has the capability). */
export async function replicatedStores(fleet: Fleet, names: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const name of names) if ((await fleet.engine(fleet.store(name))).failover) found.push(name);
  return found;
}

async function changingRoles(
  fleet: Fleet,
  storeName: string,
  command: string,
  progress: Progress,
  work: (run: Awaited<ReturnType<typeof context>>) => Promise<FailoverEvent>,
): Promise<FailoverEvent> {
  const run = await context(fleet, storeName);
  return withStoreLock(
    fleet,
    storeName,
    command,
    (message) => progress.warn(message),
    async () => {
      const event = await work(run);
      recordEvent({ ...event, operator: command });
      return event;
    },
  );
}

export interface SwitchoverRequest {
  store: string;
  to?: string;
  maxLagBytes?: number;
  timeoutMs?: number;
  command: string;
}

export function switchover(fleet: Fleet, request: SwitchoverRequest, progress: Progress = silentProgress): Promise<FailoverEvent> {
  return changingRoles(fleet, request.store, request.command, progress, ({ impl, context: ctx }) =>
    impl.switchover(ctx, { to: request.to, maxLagBytes: request.maxLagBytes ?? DEFAULT_MAX_LAG_BYTES, timeoutMs: request.timeoutMs ?? 30_000 }, progress),
  );
}

export function promote(
  fleet: Fleet,
  request: { store: string; to: string; acceptDataLoss: boolean; command: string },
  progress: Progress = silentProgress,
): Promise<FailoverEvent> {
  return changingRoles(fleet, request.store, request.command, progress, ({ impl, context: ctx }) =>
    impl.promote(ctx, { to: request.to, acceptDataLoss: request.acceptDataLoss }, progress),
  );
}

export function rejoin(fleet: Fleet, request: { store: string; member: string; command: string }, progress: Progress = silentProgress): Promise<FailoverEvent> {
  return changingRoles(fleet, request.store, request.command, progress, ({ impl, context: ctx }) => impl.rejoin(ctx, { member: request.member }, progress));
}
