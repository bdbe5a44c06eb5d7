// Plain formatting of sizes, latencies and cells, shared by tables, CSV and live views.

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}

export function formatObjects(objects: Record<string, number> | null): string {
  if (!objects) return '-';
  return (
    Object.entries(objects)
      .filter(([, count]) => count > 0)
      .map(([kind, count]) => `${count} ${kind.replace(/_/g, ' ')}`)
      .join(', ') || 'empty'
  );
}

export function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

const BARS = '▁▂▃▄▅▆▇█';

/** A one-line chart of recent values; gaps (null) show as a dot. */
export function sparkline(values: Array<number | null>): string {
  const present = values.filter((value): value is number => value !== null);
  if (present.length === 0) return values.map(() => '·').join('');
  const min = Math.min(...present);
  const max = Math.max(...present);
  return values
    .map((value) => {
      if (value === null) return '·';
      if (max === min) return BARS[0];
      return BARS[Math.min(BARS.length - 1, Math.floor(((value - min) / (max - min)) * BARS.length))];
    })
    .join('');
}
