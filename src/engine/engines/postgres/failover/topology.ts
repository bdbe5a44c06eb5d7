// What each member of a replicated PostgreSQL store says about itself, and which standbys could
// take the primary role now (with every reason one could not).
import type { Client } from 'pg';
import type { PostgresProvider } from '../provider.js';
import type { FailoverContext, Member, MemberReport, SlotReport, Topology } from '../../spec.js';
import { parseStoreUrl } from '../../../config/store-url.js';
import { lsnBytes } from './lsn.js';
import { withUrlParts } from '../../target.js';

export interface Probe {
  member: Member;
  report: MemberReport;
  client?: Client;
}

const SELF_SQL = `
select pg_is_in_recovery() as recovery,
  case when pg_is_in_recovery() then null else pg_current_wal_flush_lsn()::text end as flush_lsn,
  case when pg_is_in_recovery() then null else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end as primary_tli,
  pg_last_wal_receive_lsn()::text as received_lsn,
  pg_last_wal_replay_lsn()::text as replayed_lsn,
  case when pg_is_in_recovery() then pg_is_wal_replay_paused() end as paused,
  (select timeline_id from pg_control_checkpoint()) as checkpoint_tli,
  (select min_recovery_end_timeline from pg_control_recovery()) as recovery_tli`;

const RECEIVER_SQL = `select status, slot_name, received_tli, sender_host, sender_port from pg_stat_wal_receiver`;

const SLOTS_SQL = `
select s.slot_name, s.active, s.active_pid,
  case when s.restart_lsn is null then null else pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint end as retained,
  r.sync_state, extract(epoch from r.replay_lag)::float8 as replay_lag
from pg_replication_slots s left join pg_stat_replication r on r.pid = s.active_pid
where s.slot_type = 'physical'`;

/**
 * Where failover connects on a member: template1, which a fence never closes (it closes every
 * other database to new connections, and the closing replicates to the standbys).
 */
export function adminUrl(member: Member): string {
  return withUrlParts(member.url, { database: 'template1' });
}

export function memberAddress(member: Member): string {
  const url = parseStoreUrl(member.url);
  const host = url?.hosts[0] ?? member.name;
  return /:\d+$/.test(host) ? host : `${host}:5432`;
}

/** Connects to one member and reads its role and WAL positions; an unreachable member is reported, not thrown. */
export async function probeMember(provider: PostgresProvider, member: Member, keep = false): Promise<Probe> {
  const report: MemberReport = { name: member.name, address: memberAddress(member), reachable: false, role: 'unknown' };
  let client: Client | undefined;
  try {
    client = await provider.memberClient(adminUrl(member));
    const self = (await client.query(SELF_SQL)).rows[0];
    report.reachable = true;
    if (!self.recovery) {
      report.role = 'primary';
      report.currentLsn = self.flush_lsn;
      report.timeline = Number(self.primary_tli);
    } else {
      report.role = 'standby';
      report.receivedLsn = self.received_lsn ?? undefined;
      report.replayedLsn = self.replayed_lsn ?? undefined;
      report.replayPaused = Boolean(self.paused);
      const receiver = (await client.query(RECEIVER_SQL)).rows[0];
      report.streaming = receiver?.status === 'streaming';
      if (receiver?.slot_name) report.slot = { name: receiver.slot_name, exists: false, active: false };
      report.timeline = Number(receiver?.received_tli ?? (self.recovery_tli || self.checkpoint_tli));
      if (receiver?.sender_host) report.upstream = `${receiver.sender_host}:${receiver.sender_port}`;
    }
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error);
    await client?.end().catch(() => undefined);
    client = undefined;
  }
  if (client && !keep) {
    await client.end().catch(() => undefined);
    client = undefined;
  }
  return { member, report, client };
}

interface SlotRow {
  slot_name: string;
  active: boolean;
  retained: string | null;
  sync_state: string | null;
  replay_lag: number | null;
}

/**
 * Fills in, from the primary's view, each standby's slot, lag and sync state, and judges each
 * standby. Returns every physical slot on the primary (none without a primary).
 */
export async function judge(primary: Probe | undefined, probes: Probe[], maxLagBytes: number, primaryClient?: Client): Promise<SlotReport[]> {
  let slots: SlotRow[] = [];
  if (primary && primaryClient) slots = (await primaryClient.query(SLOTS_SQL)).rows;
  for (const { member, report } of probes) {
    if (report.role !== 'standby') continue;
    const reasons: string[] = [];
    const slot = slots.find((row) => row.slot_name === (report.slot?.name ?? member.slot));
    if (primary) {
      report.slot = {
        name: report.slot?.name ?? member.slot,
        exists: Boolean(slot),
        active: Boolean(slot?.active) && report.slot !== undefined,
        ...(slot?.retained ? { retainedBytes: Number(slot.retained) } : {}),
      };
      if (slot?.active && report.slot.exists) {
        report.syncState = slot.sync_state ?? undefined;
        if (slot.replay_lag !== null) report.lagSeconds = Number(slot.replay_lag.toFixed(3));
      }
      if (primary.report.currentLsn && report.replayedLsn) report.lagBytes = lsnBytes(report.replayedLsn, primary.report.currentLsn);
      if (report.lagSeconds === undefined && report.lagBytes === 0) report.lagSeconds = 0;
    }
    if (!primary) reasons.push('no reachable primary to compare with (lag unknown)');
    if (!report.streaming) reasons.push('not streaming from the primary');
    if (primary && report.timeline !== primary.report.timeline) reasons.push(`on timeline ${report.timeline}, the primary is on ${primary.report.timeline}`);
    if (primary && (!report.slot?.exists || !(report.streaming && report.slot && report.slot.active)))
      reasons.push(
        report.slot?.exists
          ? `its slot "${report.slot.name}" is not in use`
          : `streams without a replication slot (slot "${report.slot?.name ?? member.slot}" missing on the primary): it can fall behind unseen`,
      );
    if (report.lagBytes === undefined && primary) reasons.push('lag unknown');
    else if (report.lagBytes !== undefined && report.lagBytes > maxLagBytes) reasons.push(`lag ${report.lagBytes} bytes is over the limit of ${maxLagBytes}`);
    report.eligible = reasons.length === 0;
    report.reasons = reasons;
  }
  for (const { report } of probes) {
    if (report.role === 'unknown') {
      report.eligible = false;
      report.reasons = [`unreachable: ${report.error ?? 'no answer'}`];
    }
  }
  return slots.map((row) => ({ name: row.slot_name, active: Boolean(row.active), ...(row.retained ? { retainedBytes: Number(row.retained) } : {}) }));
}

export async function readTopology(context: FailoverContext<PostgresProvider>, maxLagBytes: number): Promise<{ topology: Topology; probes: Probe[] }> {
  const probes = await Promise.all(context.members.map((member) => probeMember(context.provider, member, true)));
  try {
    const primaries = probes.filter((probe) => probe.report.role === 'primary');
    const problems: string[] = [];
    if (primaries.length === 0) problems.push('no member answers as primary');
    if (primaries.length > 1) problems.push(`${primaries.length} members answer as primary (${primaries.map((p) => p.member.name).join(', ')}): split brain`);
    const primary = primaries.length === 1 ? primaries[0] : undefined;
    const slots = await judge(primary, probes, maxLagBytes, primary?.client);
    return {
      topology: {
        store: context.store.name,
        engine: 'postgres',
        primary: primary?.member.name,
        members: probes.map((probe) => probe.report),
        problems,
        ...(primary ? { slots } : {}),
      },
      probes,
    };
  } finally {
    await Promise.all(probes.map((probe) => probe.client?.end().catch(() => undefined)));
  }
}
