// replication.primary: a replicated PostgreSQL store has exactly one member answering as primary
// (none: nothing takes writes; two: split brain, writes may land on both).
import type { Topology } from '../../engines/spec.js';
import type { Check, CheckOutcome } from '../registry.js';
import { shellQuote } from '../../system/shell.js';
import { eachReplicatedStore, statusHint } from './replication-topology.js';

export function judgePrimary(topology: Topology): CheckOutcome {
  const subject = topology.store;
  const store = shellQuote(topology.store);
  const primaries = topology.members.filter((member) => member.role === 'primary').map((member) => member.name);
  const down = topology.members.filter((member) => member.role === 'unknown').map((member) => member.name);
  if (primaries.length === 1) {
    const standbys = topology.members.filter((member) => member.role === 'standby').length;
    return { subject, status: 'pass', reason: `${primaries[0]} is the only primary (${standbys} standby${standbys === 1 ? '' : 's'} answer)` };
  }
  if (primaries.length === 0)
    return {
      subject,
      status: 'fail',
      reason: `no member answers as primary${down.length > 0 ? ` (unreachable: ${down.join(', ')})` : ''}: nothing takes writes`,
      hint: `Bring the primary back; if it is lost for good, promote the most caught-up standby: ${statusHint(topology.store)}, then storage failover promote ${store} --to MEMBER`,
    };
  return {
    subject,
    status: 'fail',
    reason: `${primaries.length} members answer as primary (${primaries.join(', ')}): split brain`,
    hint: `Writes may land on each of them: stop writes to all but the one to keep, then bring the others back as standbys (storage failover rejoin ${store} MEMBER).`,
  };
}

export const replicationPrimary: Check = {
  id: 'replication.primary',
  suite: 'replication',
  title: 'each replicated PostgreSQL store has exactly one primary',
  run: (context) => eachReplicatedStore(context, (topology) => [judgePrimary(topology)]),
};
