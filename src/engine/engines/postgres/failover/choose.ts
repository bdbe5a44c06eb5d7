// Choosing a candidate from the topology, and the refusals that say exactly why.
import type { Member, MemberReport, Topology } from '../../spec.js';
import { StorageError } from '../../../errors.js';

export function memberNamed(members: Member[], name: string): Member {
  const found = members.find((member) => member.name === name);
  if (!found)
    throw new StorageError('USAGE', `No member named "${name}".`, {
      hint: `The members are: ${members.map((member) => member.name).join(', ')} (see \`storage failover status\`).`,
    });
  return found;
}

function why(report: MemberReport): string {
  return `${report.name}: ${(report.reasons ?? []).join('; ') || report.role}`;
}

/** The standby to promote in a switchover: the one asked for, or the eligible one with the least lag. */
export function chooseCandidate(topology: Topology, members: Member[], to?: string): Member {
  if (topology.problems.length > 0)
    throw new StorageError('REFUSED', `Refusing the switchover: ${topology.problems.join('; ')}.`, {
      hint: 'A switchover needs exactly one reachable primary; `storage failover promote` is for a primary that is gone.',
      details: { topology },
    });
  if (to) {
    const member = memberNamed(members, to);
    const report = topology.members.find((m) => m.name === member.name)!;
    if (report.role === 'primary') throw new StorageError('REFUSED', `Member "${to}" is already the primary.`, { hint: 'Name a standby with --to.' });
    if (!report.eligible)
      throw new StorageError('REFUSED', `Member "${to}" cannot take over: ${(report.reasons ?? []).join('; ')}.`, {
        hint: 'Fix what is named (or raise --max-lag when only the lag is over), then try again; nothing was changed.',
        details: { topology },
      });
    return member;
  }
  const eligible = topology.members.filter((report) => report.eligible).sort((a, b) => (a.lagBytes ?? 0) - (b.lagBytes ?? 0));
  if (eligible.length === 0) {
    const standbys = topology.members.filter((report) => report.role !== 'primary');
    throw new StorageError('REFUSED', `No standby can take over: ${standbys.map(why).join(' | ') || 'the store has no standbys'}.`, {
      hint: 'Fix what is named for one standby, then try again; nothing was changed.',
      details: { topology },
    });
  }
  return memberNamed(members, eligible[0].name);
}
