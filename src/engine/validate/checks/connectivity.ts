// Suites `connectivity` and `capacity`: every store answers, as the role it is configured as,
// and has connections to spare.
import { probeStore } from '../../db/health.js';
import { poolReports } from '../../db/inspect.js';
import type { Check } from '../registry.js';

const SLOW_MS = 1000;

export const connectivityChecks: Check[] = [
  {
    id: 'connectivity.stores',
    suite: 'connectivity',
    title: 'every store is reachable, authenticated and as configured',
    async run({ fleet, stores }) {
      return Promise.all(
        fleet.select(stores).map(async (store) => {
          const health = await probeStore(fleet, store);
          if (health.status === 'down')
            return { subject: store.name, status: 'fail' as const, reason: `${health.error?.code}: ${health.error?.message}`, hint: health.error?.hint };
          const expected = store.config.engine === 'sqlite' ? undefined : store.config.role;
          if (expected && expected !== health.role) {
            return {
              subject: store.name,
              status: 'fail' as const,
              reason: `configured as ${expected}, answers as ${health.role}`,
              hint: 'A failover may have happened; fix the url or the role in the config.',
            };
          }
          if ((health.latencyMs ?? 0) > SLOW_MS) return { subject: store.name, status: 'warn' as const, reason: `up, but slow: ${health.latencyMs} ms` };
          return { subject: store.name, status: 'pass' as const, reason: `up, ${health.role}, ${health.latencyMs} ms` };
        }),
      );
    },
  },
  {
    id: 'capacity.connections',
    suite: 'capacity',
    title: 'server connections in use stay below the limit (PostgreSQL max_connections, MongoDB available)',
    async run({ fleet, stores }) {
      const networked = fleet.select(stores).filter((store) => store.engine !== 'sqlite');
      if (networked.length === 0) return [{ status: 'pass', reason: 'no server stores' }];
      return (await poolReports(fleet, networked)).map((report) => {
        if ('error' in report) return { subject: report.store, status: 'error' as const, reason: report.error.message, hint: report.error.hint };
        if (report.engine === 'mongodb') {
          const { current, available } = report.server;
          if (current === undefined || available === undefined)
            return { subject: report.store, status: 'warn' as const, reason: 'the server does not report its connections (serverStatus.connections)' };
          const usedMongo = Math.round((current / (current + available)) * 1000) / 10;
          return {
            subject: report.store,
            status: usedMongo > 95 ? ('fail' as const) : usedMongo > 80 ? ('warn' as const) : ('pass' as const),
            reason: `${current} connections, ${available} available (${usedMongo}%)`,
          };
        }
        const used = Number(report.details.usedPercent ?? 0);
        const status = used > 95 ? ('fail' as const) : used > 80 ? ('warn' as const) : ('pass' as const);
        return { subject: report.store, status, reason: `${report.details.used} of ${report.details.maxConnections} connections in use (${used}%)` };
      });
    },
  },
];
