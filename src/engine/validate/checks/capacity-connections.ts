// capacity.connections: server connections in use stay clear of the limit (PostgreSQL:
// max_connections less the superuser reserve; MongoDB: current vs available). Thresholds from
// validate.connectionsWarnPercent / connectionsFailPercent.
import { poolReports } from '../../db/inspect.js';
import { eachSubject, type Check, type CheckOutcome } from '../registry.js';
import { shellQuote } from '../../shell.js';

export const WARN_PERCENT = 80;
export const FAIL_PERCENT = 95;

export function judgeConnections(store: string, used: number, limit: number, what: string, warnAt = WARN_PERCENT, failAt = FAIL_PERCENT): CheckOutcome {
  const percent = limit > 0 ? Math.round((used / limit) * 1000) / 10 : 100;
  const reason = `${used} of ${limit} ${what} in use (${percent}%)`;
  if (percent > failAt)
    return {
      subject: store,
      status: 'fail',
      reason,
      hint: 'New connections will soon be refused: find idle or leaked sessions (storage db pools), or raise the limit.',
    };
  if (percent > warnAt) return { subject: store, status: 'warn', reason, hint: `Over ${warnAt}%: look at storage db pools ${shellQuote(store)}.` };
  return { subject: store, status: 'pass', reason };
}

export const capacityConnections: Check = {
  id: 'capacity.connections',
  suite: 'capacity',
  title: 'server connections in use stay below the limit',
  async run(context) {
    const { fleet, stores } = context;
    const networked = fleet.select(stores).filter((store) => store.engine !== 'sqlite');
    if (networked.length === 0) return [{ status: 'pass', reason: 'no server stores' }];
    const thresholds = fleet.config.file.validate;
    const [warnAt, failAt] = [thresholds?.connectionsWarnPercent ?? WARN_PERCENT, thresholds?.connectionsFailPercent ?? FAIL_PERCENT];
    return eachSubject(
      context,
      networked,
      (store) => store.name,
      async (store): Promise<CheckOutcome> => {
        const [report] = await poolReports(fleet, [store]);
        if ('error' in report) return { subject: report.store, status: 'error', reason: report.error.message, hint: report.error.hint };
        if (report.engine === 'mongodb') {
          const { current, available } = report.server;
          if (current === undefined || available === undefined)
            return { subject: report.store, status: 'warn', reason: 'the server does not report its connections (serverStatus.connections)' };
          return judgeConnections(report.store, current, current + available, 'connections', warnAt, failAt);
        }
        const { used, maxConnections, reserved } = report.details as { used: number; maxConnections: number; reserved?: number };
        return judgeConnections(report.store, used, maxConnections - (reserved ?? 0), 'non-reserved connections', warnAt, failAt);
      },
    );
  },
};
