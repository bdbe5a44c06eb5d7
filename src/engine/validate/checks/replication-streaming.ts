// replication.streaming: every standby of a replicated PostgreSQL store is up and its WAL receiver
// streams (on the primary's timeline). One outcome per member that is not the primary.
import type { MemberReport, Topology } from '../../engines/spec.js';
import type { Check, CheckOutcome } from '../registry.js';
import { shellQuote } from '../../system/shell.js';
import { eachReplicatedStore, memberSubject, noSinglePrimary, standbysOf, statusHint } from './replication-topology.js';

export function judgeStreaming(topology: Topology, member: MemberReport): CheckOutcome {
  const subject = memberSubject(topology.store, member.name);
  const primary = topology.members.find((other) => other.name === topology.primary);
  if (member.role === 'unknown')
    return {
      subject,
      status: 'fail',
      reason: `unreachable: ${member.error ?? 'no answer'}`,
      hint: `Start ${member.name} (${member.address}) or fix the network path to it; then ${statusHint(topology.store)}`,
    };
  if (!member.streaming)
    return {
      subject,
      status: 'fail',
      reason: `not streaming from the primary${primary ? ` ${primary.name}` : ''}: ${member.upstream ? `its WAL receiver (from ${member.upstream}) is not streaming` : 'it has no WAL receiver'}${member.replayedLsn ? `, replayed up to ${member.replayedLsn}` : ''}`,
      hint: `Read ${member.name}'s server log, and check its primary_conninfo reaches the primary (and the primary's pg_hba.conf lets it replicate). A member that diverged comes back with storage failover rejoin ${shellQuote(topology.store)} ${shellQuote(member.name)}`,
    };
  if (primary && member.timeline !== undefined && primary.timeline !== undefined && member.timeline !== primary.timeline)
    return {
      subject,
      status: 'fail',
      reason: `streams on timeline ${member.timeline}, the primary ${primary.name} is on ${primary.timeline}`,
      hint: `It follows an old primary: storage failover rejoin ${shellQuote(topology.store)} ${shellQuote(member.name)}`,
    };
  return {
    subject,
    status: 'pass',
    reason: `streams from ${member.upstream ?? 'its upstream'}${member.timeline !== undefined ? ` on timeline ${member.timeline}` : ''}`,
  };
}

export const replicationStreaming: Check = {
  id: 'replication.streaming',
  suite: 'replication',
  title: 'every standby streams from the primary',
  run: (context) =>
    eachReplicatedStore(context, (topology) => {
      const standbys = standbysOf(topology);
      // Every member answers as primary (split brain): no standby to judge, and it is no pass.
      return standbys.length > 0 ? standbys.map((member) => judgeStreaming(topology, member)) : [noSinglePrimary(topology)];
    }),
};
