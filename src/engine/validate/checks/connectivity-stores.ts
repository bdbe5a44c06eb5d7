// connectivity.stores: every store answers, authenticated, in the role it is configured as, and
// not slowly.
import { parseDuration } from '../../config/duration.js';
import { probeStore, type StoreHealth } from '../../db/health.js';
import { eachSubject, type Check, type CheckOutcome } from '../registry.js';

/** A round trip slower than this is worth a warning (validate.slowLatency). */
export const SLOW_MS = 1000;

export function judgeConnectivity(health: StoreHealth, expectedRole: string | undefined, slowMs = SLOW_MS): CheckOutcome {
  const subject = health.store;
  if (health.status === 'down') return { subject, status: 'fail', reason: `${health.error?.code}: ${health.error?.message}`, hint: health.error?.hint };
  // Writable (primary or standalone) against read-only (standby) is what matters: a primary whose
  // standbys are all disconnected answers as standalone, and still takes writes.
  const writable = health.role !== 'standby';
  if (expectedRole && (expectedRole === 'standby') === writable)
    return {
      subject,
      status: 'fail',
      reason: `configured as ${expectedRole}, answers as ${health.role}`,
      hint: 'A failover may have happened: check the topology, then fix the url or the role in the config.',
    };
  if (expectedRole === 'primary' && health.role === 'standalone')
    return { subject, status: 'warn', reason: 'configured as primary, but no standby is replicating from it', hint: 'Check the standbys (storage db health).' };
  if ((health.latencyMs ?? 0) > slowMs)
    return {
      subject,
      status: 'warn',
      reason: `up, but slow: ${health.latencyMs} ms (over ${slowMs} ms)`,
      hint: 'Check the network path and the server load (or validate.slowLatency).',
    };
  return { subject, status: 'pass', reason: `up, ${health.role}, ${health.latencyMs} ms` };
}

export const connectivityStores: Check = {
  id: 'connectivity.stores',
  suite: 'connectivity',
  title: 'every store is reachable, authenticated and in its configured role',
  async run(context) {
    const { fleet, stores } = context;
    const slow = fleet.config.file.validate?.slowLatency;
    const slowMs = slow ? parseDuration(slow)! : SLOW_MS;
    return eachSubject(
      context,
      fleet.select(stores),
      (store) => store.name,
      async (store) => {
        const role = store.config.engine === 'sqlite' ? undefined : store.config.role;
        return judgeConnectivity(await probeStore(fleet, store), role, slowMs);
      },
    );
  },
};
