// The live health view: a status colour per store, its latency now and a short history, fitted to
// the terminal (columns narrowed or dropped, one line per store).
import { Box, Text } from 'ink';
import type { HealthSnapshot, MonitoredStore } from '../../engine/db/monitor.js';
import { formatLatency, sparkline } from '../format.js';
import { cellText, fitColumns, fitRows, sized, TitleLine, toneColor, type ColumnSpec, type ScreenSize, type StatusTone } from './layout.js';

function columnsFor(stores: MonitoredStore[]): ColumnSpec[] {
  const store = sized(
    stores.map((s) => s.store),
    'store',
    6,
    24,
  );
  const engine = sized(
    stores.map((s) => s.engine),
    'engine',
    7,
    9,
  );
  return [
    { key: 'mark', title: '', min: 2, preferred: 3, priority: 0 },
    { key: 'store', title: 'store', ...store, priority: 2 },
    { key: 'engine', title: 'engine', ...engine, priority: 6 },
    { key: 'latency', title: 'latency', min: 10, preferred: 11, priority: 3 },
    { key: 'role', title: 'role', min: 11, preferred: 12, priority: 4 },
    { key: 'history', title: 'history', min: 9, preferred: 22, priority: 5 },
    // The state says why a store is down: it grows before the store names do, and takes what is left.
    { key: 'state', title: 'state', min: 20, preferred: 44, max: 80, priority: 1, flex: true },
  ];
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)}s`;
}

/**
 * One description of a store's state: its own last answer, and whether it is being left alone or
 * waited on. In a narrow column the short forms keep what matters visible.
 */
export function healthState(store: MonitoredStore, width = Infinity): string {
  if (store.status === 'probing') return `probing…${store.probingForMs ? ` ${seconds(store.probingForMs)}` : ''}`;
  const version = store.serverVersion ?? 'up';
  const long = store.status === 'up' ? `${version}${store.readOnly ? ' read-only' : ''}` : (store.error?.code ?? 'down');
  const short = store.status === 'up' ? `${version.split(' ')[0]}${store.readOnly ? ' ro' : ''}` : long;
  const answer = long.length < width ? long : short;
  const suffix =
    store.breaker === 'open'
      ? [` · breaker open, next try in ${seconds(store.breakerRetryInMs)}`, ` · retry in ${seconds(store.breakerRetryInMs)}`]
      : store.probingForMs !== undefined && store.probingForMs >= 1000
        ? [` · waiting ${seconds(store.probingForMs)}`, ` · waiting ${seconds(store.probingForMs)}`]
        : ['', ''];
  const full = `${answer}${suffix[0]}`;
  return full.length < width ? full : `${answer}${suffix[1]}`;
}

export function healthTone(store: MonitoredStore): StatusTone {
  return store.status === 'probing' ? 'unknown' : store.status;
}

export function HealthBoard({
  snapshot,
  intervalMs,
  size,
  color = true,
}: {
  snapshot: HealthSnapshot;
  intervalMs: number;
  size?: ScreenSize;
  color?: boolean;
}) {
  const screen = size ?? { columns: 100, rows: 24 };
  const columns = fitColumns(columnsFor(snapshot.stores), screen.columns - 1);
  const { shown, hidden } = fitRows(snapshot.stores, screen, 3);
  const width = (key: string) => columns.find((column) => column.key === key)?.width ?? 0;
  const historyWidth = Math.max(0, width('history') - 1);
  const cells: Record<string, (store: MonitoredStore) => string> = {
    store: (s) => s.store,
    engine: (s) => s.engine,
    latency: (s) => formatLatency(s.latencyMs),
    role: (s) => s.role ?? '-',
    history: (s) => sparkline(s.history.slice(-historyWidth)),
    state: (s) => healthState(s, width('state')),
  };
  return (
    <Box flexDirection="column">
      <TitleLine title={`storage db health — every ${intervalMs / 1000}s, round ${snapshot.round} · q to quit`} columns={screen.columns} />
      <Text wrap="truncate-end">{columns.map((column) => cellText(column.title, column.width)).join('')}</Text>
      {shown.map((store) => {
        const tone = toneColor(healthTone(store), color);
        return (
          <Text key={store.store} wrap="truncate-end">
            {columns.map((column) =>
              column.key === 'mark' ? (
                <Text key="mark" color={tone}>
                  {cellText(store.status === 'probing' ? '○' : '●', column.width)}
                </Text>
              ) : (
                <Text key={column.key} color={column.key === 'history' || (column.key === 'state' && store.status === 'down') ? tone : undefined}>
                  {cellText(cells[column.key](store), column.width)}
                </Text>
              ),
            )}
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
