// What follows every promotion: the new primary proves it takes a write, gets a slot for each
// other member, and the other standbys follow it.
import type { Client } from 'pg';
import type { PostgresProvider } from '../provider.js';
import type { Member } from '../../spec.js';
import { parseStoreUrl } from '../../../config/store-url.js';
import { StorageError } from '../../../errors.js';
import { adminUrl } from './topology.js';
import type { Steps } from './steps.js';

/** Waits until the member answers as a primary and assigns a transaction id (it takes writes). */
export async function proveWritable(client: Client, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const row = (await client.query('select pg_is_in_recovery() as recovery')).rows[0];
      if (!row.recovery) {
        const xid = (await client.query('select txid_current()::text as xid')).rows[0].xid;
        return Number(xid);
      }
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline)
      throw new StorageError('OUTCOME_UNKNOWN', 'The promoted member did not leave recovery in time.', {
        hint: 'Run `storage failover status` to see each member.',
      });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** libpq connection settings for a standby to stream from `member` (the password goes only into the server's own config). */
export function conninfoFor(member: Member, password: string | undefined, applicationName: string): string {
  const url = parseStoreUrl(member.url);
  const [host, port] = (url?.hosts[0] ?? 'localhost').split(':');
  const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const parts = [`host=${quote(host)}`, `port=${port ?? '5432'}`, `user=${quote(url?.username || 'postgres')}`, `application_name=${quote(applicationName)}`];
  const secret = password ?? url?.password;
  if (secret) parts.push(`password=${quote(secret)}`);
  return parts.join(' ');
}

export async function ensureSlot(client: Client, slot: string): Promise<void> {
  await client.query(`select pg_create_physical_replication_slot($1, true) where not exists (select 1 from pg_replication_slots where slot_name = $1)`, [slot]);
}

/** Points a running standby at the new primary (PostgreSQL reloads primary_conninfo without a restart). */
export async function repointStandby(provider: PostgresProvider, standby: Member, conninfo: string): Promise<void> {
  const client = await provider.memberClient(adminUrl(standby));
  try {
    await client.query(`alter system set primary_conninfo = '${conninfo.replace(/'/g, "''")}'`);
    await client.query(`alter system set primary_slot_name = '${standby.slot}'`);
    await client.query('select pg_reload_conf()');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Waits until `member` streams from its primary (a standby's WAL receiver says streaming). */
export async function waitStreaming(provider: PostgresProvider, member: Member, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = await provider.memberClient(adminUrl(member)).catch(() => undefined);
    if (client) {
      try {
        const row = (await client.query(`select status from pg_stat_wal_receiver`)).rows[0];
        if (row?.status === 'streaming') return true;
      } catch {
        // still starting
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** A standby that does not stream from the new primary soon (it received WAL the new primary never had) is named, with the way back. */
export async function warnUnlessStreaming(provider: PostgresProvider, standby: Member, primary: Member, store: string, steps: Steps): Promise<void> {
  if (await waitStreaming(provider, standby, 10_000)) return;
  steps.warn(
    `"${standby.name}" does not stream from "${primary.name}" yet (it may hold WAL "${primary.name}" never had); if it stays so, run \`storage failover rejoin ${store} ${standby.name}\` where its data directory is.`,
  );
}
