// Vitest global setup for `npm run mutation` (vitest.mutation.config.ts): only the servers the
// mutation run's tests use. PostgreSQL is the local server on 127.0.0.1:5432 (or
// $STORAGE_TEST_PG_URL); the password-auth server for the rotation tests is a throwaway cluster
// (or $STORAGE_TEST_PG_AUTH_URL); no MongoDB server (the MongoDB rotation test uses its own
// wire-protocol stand-in). Each Stryker worker runs this once, not once per mutant.
import type { TestProject } from 'vitest/node';
import net from 'node:net';
import { startCluster } from '../support/pg-cluster.js';
import { SUPERUSER_PASSWORD } from '../support/secrets.js';

/** The first free port from `first` on (a fixed range, so a run's cluster is easy to tell apart). */
async function portFrom(first: number): Promise<number> {
  for (let port = first; port < first + 100; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${first}-${first + 99} for the password-auth PostgreSQL cluster`);
}

export default async function setup(project: TestProject): Promise<() => void> {
  const stops: Array<() => void> = [];
  const pgUrl = process.env.STORAGE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  let pgAuthUrl = process.env.STORAGE_TEST_PG_AUTH_URL;
  if (!pgAuthUrl) {
    const cluster = startCluster(await portFrom(Number(process.env.STORAGE_MUTATION_PG_PORT ?? 56100)), { password: SUPERUSER_PASSWORD });
    stops.push(() => cluster.stop());
    pgAuthUrl = cluster.url;
  }
  project.provide('servers', { pgUrl, pgAuthUrl, mongoUrl: 'mongodb://127.0.0.1:1/no-mongodb-in-mutation-runs' });
  return () => {
    for (const stop of stops.reverse()) stop();
  };
}
