// The live sync view: one line per job, its position at the target and its last run here.
import type { SyncStatus } from '../../engine/sync/service.js';
import type { ColumnSpec, ScreenSize, StatusTone } from './layout.js';
import { StoreBoard } from './store-board.js';
import { syncStateText } from '../views/sync.js';

export interface SyncSnapshot {
  round: number;
  jobs: SyncStatus[];
}

const COLUMNS: ColumnSpec[] = [
  { key: 'mark', title: '', min: 2, preferred: 3, priority: 0 },
  { key: 'job', title: 'job', min: 10, preferred: 20, priority: 1 },
  { key: 'state', title: 'state', min: 12, preferred: 28, priority: 2, flex: true, max: 60 },
  { key: 'route', title: 'from → to', min: 16, preferred: 44, priority: 4 },
  { key: 'last', title: 'last run here', min: 12, preferred: 28, priority: 3 },
];

type Row = SyncStatus & { store: string };

function tone(row: Row): StatusTone {
  if (!row.checkpoint) return 'unknown';
  // A slot nobody reads (a killed follow) holds the source's WAL: as bad as a stopped run.
  if (row.feed && !row.feed.active) return 'down';
  return row.checkpoint.state === 'done' ? 'up' : 'down';
}

export function SyncBoard({ snapshot, intervalMs, size, color = true }: { snapshot: SyncSnapshot; intervalMs: number; size?: ScreenSize; color?: boolean }) {
  return (
    <StoreBoard
      title={`storage sync status — every ${intervalMs / 1000}s, round ${snapshot.round} · q to quit`}
      rows={snapshot.jobs.map((job) => ({ ...job, store: job.job }))}
      specs={COLUMNS}
      size={size}
      color={color}
      cells={() => ({
        job: (r) => r.job,
        state: (r) =>
          !r.checkpoint
            ? 'never run'
            : r.checkpoint.follow || r.feed
              ? syncStateText(r)
              : r.checkpoint.state === 'done'
                ? `done, ${r.checkpoint.rows} rows`
                : `stopped after ${r.checkpoint.rows} rows (--resume)`,
        route: (r) => `${r.from} → ${r.to}`,
        last: (r) => (r.lastRun ? `${r.lastRun.rows} rows, ${r.lastRun.rowsPerSecond} rows/s` : '-'),
      })}
      tone={tone}
      pending={() => false}
      painted={(key) => key === 'state'}
    />
  );
}
