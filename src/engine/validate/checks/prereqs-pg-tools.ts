// prereqs.pg-tools: the client programs an engine's backups run are fit for its server (today
// PostgreSQL's pg_dump and pg_restore, at least the server's major version: an older pg_dump
// refuses a newer server). Asked of every store whose engine has client tools.
import { eachSubject, type Check, type CheckOutcome } from '../registry.js';

export const prereqsPgTools: Check = {
  id: 'prereqs.pg-tools',
  suite: 'prereqs',
  title: 'pg_dump and pg_restore are at least the server major version',
  async run(context) {
    const { fleet, stores } = context;
    const withTools = [];
    for (const store of fleet.select(stores)) if ((await fleet.engine(store)).clientTools) withTools.push(store);
    if (withTools.length === 0) return [{ status: 'pass', reason: 'no PostgreSQL stores' }];
    return eachSubject(
      context,
      withTools,
      (store) => store.name,
      async (store): Promise<CheckOutcome> => {
        const { provider, impl } = await fleet.capability(store.name, 'clientTools');
        try {
          return { subject: store.name, ...(await impl.check(provider)) };
        } catch (error) {
          // One unreachable server must not hide the others' answers; connectivity.stores says why.
          return {
            subject: store.name,
            status: 'error',
            reason: `cannot ask the server its version: ${(error as Error).message}`,
            hint: `See connectivity.stores[${store.name}].`,
          };
        }
      },
    );
  },
};
