// Fencing a primary: no new writes (read-only by default), no new connections (every database
// closed to connections; replication is not affected), and no old sessions (terminated). Each
// step is undone by `lift`, and a promoted standby opens the databases the fence closed (the
// closing was replicated to it).
import type { Client } from 'pg';
import { quoteIdent } from '../provider.js';

export interface Fence {
  /** The databases the fence closed to connections. */
  closed: string[];
}

export async function raiseFence(client: Client): Promise<Fence> {
  // This session keeps writing (it closes the databases and later reopens them): a session setting wins over the reloaded default.
  await client.query('set default_transaction_read_only = off');
  const fence: Fence = { closed: [] };
  try {
    await client.query('alter system set default_transaction_read_only = on');
    await client.query('select pg_reload_conf()');
    const open = (await client.query(`select datname from pg_database where datallowconn and not datistemplate`)).rows.map((row) => row.datname as string);
    for (const name of open) {
      await client.query(`alter database ${quoteIdent(name)} allow_connections false`);
      fence.closed.push(name);
    }
    await client.query(`select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`);
    return fence;
  } catch (error) {
    // A fence raised halfway is taken down again before the failure is reported.
    await liftFence(client, fence).catch(() => undefined);
    throw error;
  }
}

/** Opens the databases a fence closed (on the old primary when the switchover is called off, on the new one after promotion). */
export async function openDatabases(client: Client, fence: Fence): Promise<void> {
  for (const name of fence.closed) await client.query(`alter database ${quoteIdent(name)} allow_connections true`);
}

/** Lifts the fence on the old primary: writable and open again. */
export async function liftFence(client: Client, fence: Fence): Promise<void> {
  await client.query('set default_transaction_read_only = off');
  await client.query('alter system reset default_transaction_read_only');
  await client.query('select pg_reload_conf()');
  await openDatabases(client, fence);
}
