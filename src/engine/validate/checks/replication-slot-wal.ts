// replication.slot-wal: every physical slot on the primary of a replicated PostgreSQL store is in
// use, and none holds back more WAL than validate.slotRetainedWarn (default 1 GiB) /
// slotRetainedFail (default 4 GiB). An inactive slot is a warning: it holds back WAL for ever, and
// the primary's disk fills. One outcome per slot, those no member streams through included.
import type { ResolvedStore } from '../../config/load.js';
import type { SlotReport, Topology } from '../../engines/spec.js';
import { membersOf } from '../../failover/members.js';
import type { Check, CheckOutcome, CheckStatus } from '../registry.js';
import { bytesText, eachReplicatedStore, memberSubject, noSinglePrimary, thresholdsOf, type ReplicationThresholds } from './replication-topology.js';

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2, error: 3 };

/** `owner`: the member the slot belongs to (by the config, or as its WAL receiver names it), if any. */
export function judgeSlotWal(
  store: string,
  primary: string,
  slot: SlotReport,
  owner: string | undefined,
  limits: Pick<ReplicationThresholds, 'slotRetainedWarn' | 'slotRetainedFail'>,
): CheckOutcome {
  const subject = memberSubject(store, `slot ${slot.name}`);
  const retained = slot.retainedBytes ?? 0;
  const whose = owner ? ` (${owner}'s)` : ' (no configured member uses it)';
  const over =
    retained > limits.slotRetainedFail
      ? { status: 'fail' as const, text: `, over validate.slotRetainedFail ${bytesText(limits.slotRetainedFail)}` }
      : retained > limits.slotRetainedWarn
        ? { status: 'warn' as const, text: `, over validate.slotRetainedWarn ${bytesText(limits.slotRetainedWarn)}` }
        : { status: 'pass' as const, text: '' };
  const status: CheckStatus = !slot.active && RANK[over.status] < RANK.warn ? 'warn' : over.status;
  if (!slot.active)
    return {
      subject,
      status,
      reason: `inactive${whose}: nothing streams through it, so it holds back WAL on ${primary} for ever (${bytesText(retained)} now${over.text})`,
      hint: owner
        ? `${owner} should stream through it: see replication.streaming[${memberSubject(store, owner)}]. If ${owner} is gone for good, drop the slot on ${primary}: select pg_drop_replication_slot('${slot.name}')`
        : `If nothing uses it, drop it on ${primary}: select pg_drop_replication_slot('${slot.name}')`,
    };
  const reason = `active${owner ? ` (${owner})` : ''}, holds back ${bytesText(retained)} of WAL on ${primary}${over.text}`;
  if (status === 'pass') return { subject, status, reason };
  return {
    subject,
    status,
    reason,
    hint: `${owner ?? 'The standby using it'} is not keeping up${owner ? `: see replication.lag[${memberSubject(store, owner)}]` : ''}; watch the disk of ${primary}'s pg_wal until it does.`,
  };
}

function judgeStore(topology: Topology, store: ResolvedStore, limits: ReplicationThresholds): CheckOutcome[] {
  if (!topology.primary) return [noSinglePrimary(topology)];
  const owners = new Map<string, string>();
  for (const member of membersOf(store)) if (member.name !== topology.primary) owners.set(member.slot, member.name);
  for (const member of topology.members) if (member.role === 'standby' && member.slot) owners.set(member.slot.name, member.name);
  const slots = topology.slots ?? [];
  if (slots.length === 0) return [{ subject: topology.store, status: 'pass', reason: `no replication slots on the primary ${topology.primary}` }];
  return slots.map((slot) => judgeSlotWal(topology.store, topology.primary!, slot, owners.get(slot.name), limits));
}

export const replicationSlotWal: Check = {
  id: 'replication.slot-wal',
  suite: 'replication',
  title: 'every slot on the primary is in use and holds back less WAL than validate.slotRetainedWarn / slotRetainedFail',
  run: (context) => {
    const limits = thresholdsOf(context.fleet);
    return eachReplicatedStore(context, (topology, store) => judgeStore(topology, store, limits));
  },
};
