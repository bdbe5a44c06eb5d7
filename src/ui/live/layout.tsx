// Fitting a live view into the terminal: columns are kept by priority and narrowed or dropped so
// that every row is one line, rows that do not fit are summarised, and colours follow NO_COLOR.
import { Text } from 'ink';
import { visibleControls } from '../../engine/control-chars.js';

export interface ColumnSpec {
  key: string;
  title: string;
  /** Narrowest useful width (a column that cannot get it is dropped). */
  min: number;
  /** Width it grows to when there is room (the flexible column takes whatever is left, up to `max`). */
  preferred: number;
  max?: number;
  /** Lower is kept first. */
  priority: number;
  flex?: boolean;
}

/** A column as wide as its longest value (and its title), within `[low, high]`. */
export function sized(values: string[], title: string, low: number, high: number): Pick<ColumnSpec, 'min' | 'preferred'> {
  const longest = Math.max(title.length, ...values.map((value) => value.length)) + 1;
  return { min: Math.min(Math.max(longest, low), Math.max(low, 10)), preferred: Math.min(Math.max(longest, low), high) };
}

export interface FittedColumn extends ColumnSpec {
  width: number;
}

/** The columns that fit in `width`, in their display order, each with its width. */
export function fitColumns(specs: ColumnSpec[], width: number): FittedColumn[] {
  const byPriority = [...specs].sort((a, b) => a.priority - b.priority);
  const kept: ColumnSpec[] = [];
  let used = 0;
  for (const spec of byPriority) {
    if (used + spec.min > width) continue;
    kept.push(spec);
    used += spec.min;
  }
  const widths = new Map(kept.map((spec) => [spec.key, spec.min]));
  let left = width - used;
  for (const spec of kept) {
    const grow = Math.min(left, spec.preferred - spec.min);
    widths.set(spec.key, spec.min + Math.max(0, grow));
    left -= Math.max(0, grow);
  }
  for (const spec of kept.filter((s) => s.flex)) {
    const grow = Math.min(left, (spec.max ?? Infinity) - widths.get(spec.key)!);
    widths.set(spec.key, widths.get(spec.key)! + grow);
    left -= grow;
  }
  return specs.filter((spec) => widths.has(spec.key)).map((spec) => ({ ...spec, width: widths.get(spec.key)! }));
}

/** `text` in exactly `width` characters: cut with an ellipsis, or padded (one space is kept between columns). */
export function cellText(value: string, width: number): string {
  if (width <= 0) return '';
  // A name or a server's error holding a terminal escape is shown as an escape, and measured so.
  const text = visibleControls(value);
  const room = width - 1;
  if (text.length <= room) return text.padEnd(width);
  return `${text.slice(0, Math.max(0, room - 1))}…`.padEnd(width);
}

export interface ScreenSize {
  columns: number;
  rows: number;
}

/** Rows of data that fit below `reserved` lines, and how many are left out. */
export function fitRows<T>(items: T[], size: ScreenSize, reserved: number): { shown: T[]; hidden: number } {
  const room = Math.max(1, size.rows - reserved);
  if (items.length <= room) return { shown: items, hidden: 0 };
  return { shown: items.slice(0, room - 1), hidden: items.length - (room - 1) };
}

export type StatusTone = 'up' | 'down' | 'unknown';

/** One colour per status in every live view: a down store is red whether or not its breaker is open. */
export function toneColor(tone: StatusTone, color: boolean): string | undefined {
  if (!color) return undefined;
  return tone === 'up' ? 'green' : tone === 'down' ? 'red' : 'gray';
}

/**
 * The view's title and a rule to the right edge. The rule makes every frame depend on the width, so
 * a frame is always redrawn in full after a resize has cleared the screen.
 */
export function TitleLine({ title, columns }: { title: string; columns: number }) {
  return (
    <Text wrap="truncate-end">
      <Text bold>{title}</Text>
      <Text dimColor>{` ${'─'.repeat(Math.max(0, columns - title.length - 2))}`}</Text>
    </Text>
  );
}
