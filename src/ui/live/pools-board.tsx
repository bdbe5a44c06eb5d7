// The live pools view: this tool's client pool and the server's connections per store, how long
// each store took to answer, and a short history of it, fitted to the terminal.
import { Box, Text } from 'ink';
import type { PoolsSnapshot, WatchedPools } from '../../engine/db/monitor.js';
import { formatLatency, sparkline } from '../format.js';
import { cellText, fitColumns, fitRows, sized, TitleLine, toneColor, type ColumnSpec, type ScreenSize, type StatusTone } from './layout.js';

export type { PoolsSnapshot } from '../../engine/db/monitor.js';

function columnsFor(reports: WatchedPools[]): ColumnSpec[] {
  const store = sized(
    reports.map((r) => r.store),
    'store',
    6,
    24,
  );
  const engine = sized(
    reports.map((r) => r.engine),
    'engine',
    7,
    9,
  );
  return [
    { key: 'mark', title: '', min: 2, preferred: 3, priority: 0 },
    { key: 'store', title: 'store', ...store, priority: 2 },
    { key: 'engine', title: 'engine', ...engine, priority: 5 },
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
  const screen = size ?? { columns: 100, rows: 24 };
  const columns = fitColumns(columnsFor(snapshot.reports), screen.columns - 1);
  const { shown, hidden } = fitRows(snapshot.reports, screen, 3);
  const historyWidth = Math.max(0, (columns.find((column) => column.key === 'history')?.width ?? 0) - 1);
  const cells: Record<string, (report: WatchedPools) => string> = {
    store: (r) => r.store,
    engine: (r) => r.engine,
    latency: (r) => formatLatency(r.latencyMs),
    history: (r) => sparkline((r.history ?? []).slice(-historyWidth)),
    pools: poolsText,
  };
  return (
    <Box flexDirection="column">
      <TitleLine title={`storage db pools — every ${intervalMs / 1000}s, round ${snapshot.round} · q to quit`} columns={screen.columns} />
      <Text wrap="truncate-end">{columns.map((column) => cellText(column.title, column.width)).join('')}</Text>
      {shown.map((report) => {
        const paint = toneColor(tone(report), color);
        return (
          <Text key={report.store} wrap="truncate-end">
            {columns.map((column) => (
              <Text
                key={column.key}
                color={
                  column.key === 'mark' || column.key === 'history' || (column.key === 'pools' && 'error' in report && !report.pending) ? paint : undefined
                }
              >
                {cellText(column.key === 'mark' ? (report.pending ? '○' : '●') : cells[column.key](report), column.width)}
              </Text>
            ))}
          </Text>
        );
      })}
      {hidden > 0 && (
        <Text dimColor={color} wrap="truncate-end">
          … and {hidden} more store{hidden === 1 ? '' : 's'} (a taller window shows them)
        </Text>
      )}
    </Box>
  );
}
