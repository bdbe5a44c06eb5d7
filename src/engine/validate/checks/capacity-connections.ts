// capacity.connections: server connections in use stay clear of the limit (PostgreSQL:
// max_connections less the superuser reserve; MongoDB: current vs available). Thresholds from
// validate.connectionsWarnPercent / connectionsFailPercent.
import { poolReports } from '../../db/inspect.js';
import { eachSubject, type Check, type CheckOutcome } from '../registry.js';
import { shellQuote } from '../../system/shell.js';

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
    const selected = [];
    for (const store of fleet.select(stores)) if (!(await fleet.engine(store)).embedded) selected.push(store);
    if (selected.length === 0) return [{ status: 'pass', reason: 'no server stores' }];
    const thresholds = fleet.config.file.validate;
    const [warnAt, failAt] = [thresholds?.connectionsWarnPercent ?? WARN_PERCENT, thresholds?.connectionsFailPercent ?? FAIL_PERCENT];
    return eachSubject(
      context,
      selected,
      (store) => store.name,
      async (store): Promise<CheckOutcome> => {
        const [report] = await poolReports(fleet, [store]);
        if ('error' in report) return { subject: report.store, status: 'error', reason: report.error.message, hint: report.error.hint };
        if (!report.capacity || 'unknown' in report.capacity)
          return { subject: report.store, status: 'warn', reason: report.capacity?.unknown ?? 'the server does not report its connections' };
        return judgeConnections(report.store, report.capacity.used, report.capacity.limit, report.capacity.what, warnAt, failAt);
      },
    );
  },
};
