// The live failover view: one line per member of each replicated store, its role, lag and slot,
// and whether it could take over (the reason when not), fitted to the terminal.
import type { MemberReport, Topology } from '../../engine/engines/spec.js';
import { formatBytes } from '../format.js';
import type { ColumnSpec, ScreenSize, StatusTone } from './layout.js';
import { StoreBoard, widthOf } from './store-board.js';

export interface FailoverSnapshot {
  round: number;
  stores: Topology[];
}

interface MemberRow extends MemberReport {
  /** store/member: the row's key. */
  store: string;
}

const COLUMNS: ColumnSpec[] = [
  { key: 'mark', title: '', min: 2, preferred: 3, priority: 0 },
  { key: 'member', title: 'member', min: 10, preferred: 24, priority: 1 },
  { key: 'role', title: 'role', min: 8, preferred: 10, priority: 2 },
  { key: 'lag', title: 'lag', min: 9, preferred: 16, priority: 4 },
  { key: 'slot', title: 'slot', min: 8, preferred: 20, priority: 6 },
  { key: 'timeline', title: 'tl', min: 4, preferred: 4, priority: 5 },
  { key: 'verdict', title: 'can take over', min: 24, preferred: 50, max: 120, priority: 3, flex: true },
];

function tone(row: MemberRow): StatusTone {
  if (!row.reachable) return 'down';
  return row.role === 'primary' || row.eligible ? 'up' : 'unknown';
}

export function FailoverBoard({
  snapshot,
  intervalMs,
  size,
  color = true,
}: {
  snapshot: FailoverSnapshot;
  intervalMs: number;
  size?: ScreenSize;
  color?: boolean;
}) {
  const rows: MemberRow[] = snapshot.stores.flatMap((topology) => topology.members.map((member) => ({ ...member, store: `${topology.store}/${member.name}` })));
  const problems = snapshot.stores.flatMap((topology) => topology.problems.map((problem) => `${topology.store}: ${problem}`));
  return (
    <StoreBoard
      title={`storage failover status — every ${intervalMs / 1000}s, round ${snapshot.round}${problems.length ? ` · ${problems.join(' · ')}` : ''} · q to quit`}
      rows={rows}
      specs={COLUMNS}
      size={size}
      color={color}
      cells={(columns) => ({
        member: (r) => r.store,
        role: (r) => (r.role === 'standby' && !r.streaming ? 'standby!' : r.role),
        lag: (r) =>
          r.role !== 'standby' ? '-' : `${r.lagBytes === undefined ? '?' : formatBytes(r.lagBytes)}${r.lagSeconds === undefined ? '' : ` ${r.lagSeconds}s`}`,
        slot: (r) => (r.slot ? `${r.slot.name}${r.slot.exists ? (r.slot.active ? '' : ' idle') : ' missing'}` : '-'),
        timeline: (r) => String(r.timeline ?? '-'),
        verdict: (r) => {
          if (r.role === 'primary') return 'primary';
          const text = r.eligible ? 'yes' : `no: ${(r.reasons ?? []).join('; ')}`;
          return text.length < widthOf(columns, 'verdict') ? text : text.slice(0, Math.max(0, widthOf(columns, 'verdict') - 1));
        },
      })}
      tone={tone}
      pending={() => false}
      painted={(key) => key === 'verdict' || key === 'role'}
    />
  );
}
