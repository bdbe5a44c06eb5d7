// How failover results read at a terminal: the members table and a switchover/promotion summary.
import type { FailoverEvent, Topology } from '../../engine/engines/spec.js';
import { formatBytes } from '../format.js';
import { renderTable } from '../output.js';

const HEADERS = ['member', 'address', 'role', 'tl', 'lsn (flushed / replayed)', 'lag', 'slot', 'sync', 'can take over'];

export function topologyTable(topology: Topology): string {
  const rows = topology.members.map((m) => [
    m.name,
    m.address,
    m.role === 'standby' ? `standby${m.streaming ? '' : ' (not streaming)'}${m.replayPaused ? ' (replay paused)' : ''}` : m.role,
    m.timeline ?? '-',
    m.role === 'primary' ? (m.currentLsn ?? '-') : `${m.receivedLsn ?? '-'} / ${m.replayedLsn ?? '-'}`,
    m.role === 'standby' ? `${m.lagBytes === undefined ? '?' : formatBytes(m.lagBytes)}${m.lagSeconds === undefined ? '' : ` ${m.lagSeconds}s`}` : '-',
    m.slot ? `${m.slot.name}${m.slot.exists ? (m.slot.active ? '' : ' (inactive)') : ' (missing)'}` : '-',
    m.syncState ?? '-',
    m.role === 'primary' ? '-' : m.eligible ? 'yes' : `no: ${(m.reasons ?? []).join('; ')}`,
  ]);
  const problems = topology.problems.map((problem) => `! ${problem}`);
  return [`store ${topology.store} (${topology.engine}), primary: ${topology.primary ?? 'none'}`, renderTable(HEADERS, rows), ...problems].join('\n');
}

export function eventSummary(event: FailoverEvent): string {
  const lines = [
    `${event.kind === 'promote' ? 'Promoted' : event.kind === 'rejoin' ? 'Rejoined' : 'Switched over'} ${event.kind === 'rejoin' ? `${event.from} as a standby of ${event.to}` : `store ${event.store}: ${event.from ?? '?'} → ${event.to}`}${event.timeline ? ` (timeline ${event.timeline})` : ''} in ${event.durationMs} ms.`,
  ];
  if (event.unavailableMs !== undefined) lines.push(`Writes were unavailable for ${event.unavailableMs} ms.`);
  if (event.loss)
    lines.push(
      event.loss.known
        ? `Loss window: ${event.loss.commits ?? 0} commit(s), ${event.loss.bytes ?? 0} bytes of WAL (${event.loss.from} → ${event.loss.to}).`
        : `Loss window: unknown after ${event.loss.from}.`,
    );
  if (event.oldPrimary && event.kind !== 'rejoin') lines.push(`Old primary ${event.from ?? ''}: ${event.oldPrimary}.`);
  return lines.join('\n');
}
