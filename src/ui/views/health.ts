// How store health reads in a table, CSV or a one-shot frame.
import type { StoreHealth } from '../../engine/db/health.js';
import { formatLatency } from '../format.js';
import { color, renderCsv, renderTable } from '../output.js';
import { problemLines } from './problems.js';

export const HEALTH_HEADERS = ['store', 'engine', 'status', 'latency', 'version', 'role', 'read-only', 'problem'];

function row(entry: StoreHealth, forCsv: boolean): unknown[] {
  const status = forCsv ? entry.status : entry.status === 'up' ? color.green('up') : color.red('down');
  return [
    entry.store,
    entry.engine,
    status,
    forCsv ? entry.latencyMs : formatLatency(entry.latencyMs),
    entry.serverVersion,
    entry.role,
    entry.readOnly,
    entry.error ? (forCsv ? `${entry.error.code}: ${entry.error.message}` : entry.error.code) : '',
  ];
}

export function healthTable(entries: StoreHealth[]): string {
  const problems = problemLines(entries);
  return (
    renderTable(
      HEALTH_HEADERS,
      entries.map((entry) => row(entry, false)),
    ) + (problems ? `\n${problems}` : '')
  );
}

export function healthCsv(entries: StoreHealth[]): string {
  return renderCsv(
    HEALTH_HEADERS,
    entries.map((entry) => row(entry, true)),
  );
}
