// replication.slots: every standby of a replicated PostgreSQL store streams through a replication
// slot on the primary. Without one the primary recycles WAL the standby may still need, and a
// standby that falls behind can no longer catch up.
import type { MemberReport, Topology } from '../../engines/spec.js';
import type { Check, CheckOutcome } from '../registry.js';
import { eachReplicatedStore, memberSubject, noSinglePrimary, standbysOf, unreachable } from './replication-topology.js';

const sqlText = (value: string) => `'${value.replace(/'/g, "''")}'`;

export function judgeSlot(topology: Topology, member: MemberReport): CheckOutcome {
  const subject = memberSubject(topology.store, member.name);
  if (member.role === 'unknown') return unreachable(topology.store, member);
  const primary = topology.primary ?? 'the primary';
  const slot = member.slot;
  const name = slot?.name ?? member.name;
  const useIt = `on ${member.name}: alter system set primary_slot_name = ${sqlText(name)}; select pg_reload_conf()`;
  if (!slot?.exists)
    return {
      subject,
      status: 'fail',
      reason: `${member.streaming ? 'streams without a replication slot' : 'has no replication slot'} (slot "${name}" is missing on the primary ${primary})`,
      hint: `Without a slot ${primary} may recycle WAL ${member.name} still needs. On ${primary}: select pg_create_physical_replication_slot(${sqlText(name)}); then, ${useIt}`,
    };
  if (slot.active) return { subject, status: 'pass', reason: `streams through slot "${name}" on ${primary}` };
  if (member.streaming)
    return {
      subject,
      status: 'fail',
      reason: `streams without a replication slot (slot "${name}" exists on ${primary}, but ${member.name} does not use it)`,
      hint: `Make it stream through its slot: ${useIt}`,
    };
  // Not streaming: replication.streaming fails it, and replication.slot-wal warns about the idle slot.
  return { subject, status: 'pass', reason: `has its slot "${name}" on ${primary} (idle while it does not stream)` };
}

export const replicationSlots: Check = {
  id: 'replication.slots',
  suite: 'replication',
  title: 'every standby streams through a replication slot on the primary',
  run: (context) =>
    eachReplicatedStore(context, (topology) =>
      topology.primary ? standbysOf(topology).map((member) => judgeSlot(topology, member)) : [noSinglePrimary(topology)],
    ),
};
