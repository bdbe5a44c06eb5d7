// replication.lag: every standby of a replicated PostgreSQL store has replayed to within
// validate.replicationLagWarn (default 16 MiB) / replicationLagFail (default 256 MiB) of the
// primary's flushed WAL. A paused replay warns: the lag only grows.
import type { MemberReport, Topology } from '../../engines/spec.js';
import type { Check, CheckOutcome } from '../registry.js';
import {
  bytesText,
  eachReplicatedStore,
  memberSubject,
  noSinglePrimary,
  standbysOf,
  thresholdsOf,
  unreachable,
  type ReplicationThresholds,
} from './replication-topology.js';

export function judgeLag(topology: Topology, member: MemberReport, limits: Pick<ReplicationThresholds, 'lagWarn' | 'lagFail'>): CheckOutcome {
  const subject = memberSubject(topology.store, member.name);
  if (member.role === 'unknown') return unreachable(topology.store, member);
  const primary = topology.primary ?? 'the primary';
  if (member.lagBytes === undefined)
    return {
      subject,
      status: 'fail',
      reason: `lag unknown: ${member.name} reports no replayed WAL position`,
      hint: `Read ${member.name}'s server log: it has not replayed anything from ${primary}.`,
    };
  const seconds = member.lagSeconds !== undefined ? `, ${member.lagSeconds} s of replay` : '';
  const paused = member.replayPaused ? ', replay paused' : '';
  const reason = `${bytesText(member.lagBytes)} behind ${primary}${seconds}${paused}`;
  const behind = `${member.name} is not keeping up: look at its disk and CPU, the network from ${primary}, and long queries on it that hold replay back (pg_stat_activity).`;
  if (member.lagBytes > limits.lagFail)
    return { subject, status: 'fail', reason: `${reason}, over validate.replicationLagFail ${bytesText(limits.lagFail)}`, hint: behind };
  if (member.replayPaused)
    return { subject, status: 'warn', reason, hint: `If nobody paused it on purpose, resume it on ${member.name}: select pg_wal_replay_resume()` };
  if (member.lagBytes > limits.lagWarn)
    return { subject, status: 'warn', reason: `${reason}, over validate.replicationLagWarn ${bytesText(limits.lagWarn)}`, hint: behind };
  return { subject, status: 'pass', reason };
}

export const replicationLag: Check = {
  id: 'replication.lag',
  suite: 'replication',
  title: 'every standby replays within validate.replicationLagWarn / replicationLagFail of the primary',
  run: (context) => {
    const limits = thresholdsOf(context.fleet);
    return eachReplicatedStore(context, (topology) =>
      topology.primary ? standbysOf(topology).map((member) => judgeLag(topology, member, limits)) : [noSinglePrimary(topology)],
    );
  },
};
