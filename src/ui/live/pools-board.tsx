// The live pools view: this tool's client pool and the server's connections per store, how long
// each store took to answer, and a short history of it, fitted to the terminal.
import type { PoolsSnapshot, WatchedPools } from '../../engine/db/monitor.js';
import { formatLatency, sparkline } from '../format.js';
import type { ColumnSpec, ScreenSize, StatusTone } from './layout.js';
import { storeColumns, StoreBoard, widthOf } from './store-board.js';

export type { PoolsSnapshot } from '../../engine/db/monitor.js';

function columnsFor(reports: WatchedPools[]): ColumnSpec[] {
  return [
    ...storeColumns(reports, 5),
    { key: 'latency', title: 'latency', min: 10, preferred: 11, priority: 3 },
    { key: 'history', title: 'history', min: 9, preferred: 22, priority: 4 },
    { key: 'pools', title: 'connections', min: 24, preferred: 60, max: 160, priority: 1, flex: true },
  ];
}

function serverSummary(server: Record<string, number>): string {
  const entries = Object.entries(server);
  return entries.length === 0 ? 'not reported' : entries.map(([state, count]) => `${state} ${count}`).join(' · ');
}

export function poolsText(report: WatchedPools): string {
  if (report.pending) return `probing…${report.probingForMs ? ` ${Math.ceil(report.probingForMs / 1000)}s` : ''}`;
  const text =
    'error' in report
      ? `${report.error.code}: ${report.error.message}`
      : `client ${report.client.total}/${report.client.max} (idle ${report.client.idle}, waiting ${report.client.waiting}) · server ${serverSummary(report.server)}`;
  if (report.breaker === 'open') return `${text} · breaker open, next try in ${Math.ceil((report.breakerRetryInMs ?? 0) / 1000)}s`;
  return text;
}

function tone(report: WatchedPools): StatusTone {
  return report.pending ? 'unknown' : 'error' in report ? 'down' : 'up';
}

export function PoolsBoard({ snapshot, intervalMs, size, color = true }: { snapshot: PoolsSnapshot; intervalMs: number; size?: ScreenSize; color?: boolean }) {
  return (
    <StoreBoard
      title={`storage db pools — every ${intervalMs / 1000}s, round ${snapshot.round} · q to quit`}
      rows={snapshot.reports}
      specs={columnsFor(snapshot.reports)}
      size={size}
      color={color}
      cells={(columns) => ({
        store: (r) => r.store,
        engine: (r) => r.engine,
        latency: (r) => formatLatency(r.latencyMs),
        history: (r) => sparkline((r.history ?? []).slice(-Math.max(0, widthOf(columns, 'history') - 1))),
        pools: poolsText,
      })}
      tone={tone}
      pending={(r) => Boolean(r.pending)}
      painted={(key, r) => key === 'history' || (key === 'pools' && 'error' in r && !r.pending)}
    />
  );
}
