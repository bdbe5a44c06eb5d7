// What the live views share: one line per store, a status mark, the store and engine columns, and
// a board fitted to the terminal (columns narrowed or dropped, rows cut with "… and N more").
import { Box, Text } from 'ink';
import { cellText, fitColumns, fitRows, sized, TitleLine, toneColor, type ColumnSpec, type FittedColumn, type ScreenSize, type StatusTone } from './layout.js';

export interface BoardRow {
  store: string;
  engine: string;
}

/** The mark, store and engine columns every board starts with. */
export function storeColumns(rows: BoardRow[], enginePriority: number): ColumnSpec[] {
  const store = sized(
    rows.map((row) => row.store),
    'store',
    6,
    24,
  );
  const engine = sized(
    rows.map((row) => row.engine),
    'engine',
    7,
    9,
  );
  return [
    { key: 'mark', title: '', min: 2, preferred: 3, priority: 0 },
    { key: 'store', title: 'store', ...store, priority: 2 },
    { key: 'engine', title: 'engine', ...engine, priority: enginePriority },
  ];
}

export interface BoardProps<R extends { store: string }> {
  title: string;
  rows: R[];
  specs: ColumnSpec[];
  size?: ScreenSize;
  color: boolean;
  /** The text of each column but the mark, given the fitted columns (a history fills its width). */
  cells: (columns: FittedColumn[]) => Record<string, (row: R) => string>;
  tone: (row: R) => StatusTone;
  /** ○ while the first answer is awaited, ● after. */
  pending: (row: R) => boolean;
  /** Which cells besides the mark take the row's status colour. */
  painted: (key: string, row: R) => boolean;
}

export function StoreBoard<R extends { store: string }>({ title, rows, specs, size, color, cells, tone, pending, painted }: BoardProps<R>) {
  const screen = size ?? { columns: 100, rows: 24 };
  const columns = fitColumns(specs, screen.columns - 1);
  const { shown, hidden } = fitRows(rows, screen, 3);
  const text = cells(columns);
  return (
    <Box flexDirection="column">
      <TitleLine title={title} columns={screen.columns} />
      <Text wrap="truncate-end">{columns.map((column) => cellText(column.title, column.width)).join('')}</Text>
      {shown.map((row) => {
        const paint = toneColor(tone(row), color);
        return (
          <Text key={row.store} wrap="truncate-end">
            {columns.map((column) => (
              <Text key={column.key} color={column.key === 'mark' || painted(column.key, row) ? paint : undefined}>
                {cellText(column.key === 'mark' ? (pending(row) ? '○' : '●') : text[column.key](row), column.width)}
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

/** The width a fitted column got (0 when it was dropped). */
export function widthOf(columns: FittedColumn[], key: string): number {
  return columns.find((column) => column.key === key)?.width ?? 0;
}
