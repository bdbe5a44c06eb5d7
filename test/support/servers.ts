// What tests use to reach the suite's servers, and small helpers to make and clean up data.
import pg from 'pg';
import { inject } from 'vitest';
import type { TestServers } from '../setup/servers.js';

export function servers(): TestServers {
  return inject('servers');
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** A URL of the same server pointing at another database. */
export function pgUrlFor(database: string, base = servers().pgUrl): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function pgAdmin<T>(work: (client: pg.Client) => Promise<T>, url = servers().pgUrl): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
