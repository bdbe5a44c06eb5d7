// prereqs.pg-tools: the pg_dump and pg_restore backups would use are at least the server's major
// version (an older pg_dump refuses a newer server).
import { pgTool, toolMajor } from '../../backup/postgres.js';
import type { PostgresProvider } from '../../providers/postgres.js';
import { eachSubject, type Check, type CheckOutcome } from '../registry.js';

/** `tools` maps each tool to its major version, or undefined when it is missing or cannot run. */
export function judgePgTools(serverMajor: number, tools: Record<string, number | undefined>): Omit<CheckOutcome, 'subject'> {
  const problems = Object.entries(tools).flatMap(([tool, major]) =>
    major === undefined ? [`${tool} is not installed`] : major < serverMajor ? [`${tool} ${major} is older than the server (${serverMajor})`] : [],
  );
  return problems.length
    ? { status: 'fail', reason: problems.join('; '), hint: `Install postgresql-client-${serverMajor}, or set STORAGE_PG_BIN to the directory of its tools.` }
    : { status: 'pass', reason: `${Object.keys(tools).join(' and ')} fit server ${serverMajor}` };
}

export const prereqsPgTools: Check = {
  id: 'prereqs.pg-tools',
  suite: 'prereqs',
  title: 'pg_dump and pg_restore are at least the server major version',
  async run(context) {
    const { fleet, stores } = context;
    const pgStores = fleet.select(stores).filter((store) => store.engine === 'postgres');
    if (pgStores.length === 0) return [{ status: 'pass', reason: 'no PostgreSQL stores' }];
    return eachSubject(
      context,
      pgStores,
      (store) => store.name,
      async (store): Promise<CheckOutcome> => {
        let serverMajor: number;
        try {
          const provider = (await fleet.provider(store)) as PostgresProvider;
          serverMajor = await provider.withClient(async (client) =>
            Math.floor(Number((await client.query<{ n: string }>("select current_setting('server_version_num') as n")).rows[0].n) / 10000),
          );
        } catch (error) {
          // One unreachable server must not hide the others' answers; connectivity.stores says why.
          return {
            subject: store.name,
            status: 'error',
            reason: `cannot ask the server its version: ${(error as Error).message}`,
            hint: `See connectivity.stores[${store.name}].`,
          };
        }
        const tools: Record<string, number | undefined> = {};
        for (const tool of ['pg_dump', 'pg_restore'] as const)
          tools[tool] = await toolMajor(pgTool(tool, serverMajor)).then(
            (found) => found.major,
            () => undefined,
          );
        return { subject: store.name, ...judgePgTools(serverMajor, tools) };
      },
    );
  },
};
