// The live health view: a status colour per store, its latency now and a short history, fitted to
// the terminal (columns narrowed or dropped, one line per store).
import type { HealthSnapshot, MonitoredStore } from '../../engine/db/monitor.js';
import { formatLatency, sparkline } from '../format.js';
import type { ColumnSpec, ScreenSize, StatusTone } from './layout.js';
import { storeColumns, StoreBoard, widthOf } from './store-board.js';

function columnsFor(stores: MonitoredStore[]): ColumnSpec[] {
  return [
    ...storeColumns(stores, 6),
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
  return (
    <StoreBoard
      title={`storage db health — every ${intervalMs / 1000}s, round ${snapshot.round} · q to quit`}
      rows={snapshot.stores}
      specs={columnsFor(snapshot.stores)}
      size={size}
      color={color}
      cells={(columns) => ({
        store: (s) => s.store,
        engine: (s) => s.engine,
        latency: (s) => formatLatency(s.latencyMs),
        role: (s) => s.role ?? '-',
        history: (s) => sparkline(s.history.slice(-Math.max(0, widthOf(columns, 'history') - 1))),
        state: (s) => healthState(s, widthOf(columns, 'state')),
      })}
      tone={healthTone}
      pending={(s) => s.status === 'probing'}
      painted={(key, s) => key === 'history' || (key === 'state' && s.status === 'down')}
    />
  );
}
