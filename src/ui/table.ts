// Boxed tables for people: a rule under the header and none between rows, so twenty backups take
// twenty lines. Written here rather than loaded from a table package: that package and the
// string-width stack under it cost `storage db health` ~15 ms of its start-up (issue 16), for
// what is a few loops over strings.

/** The escape character that starts every terminal colour code. */
export const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');

/** Code points shown two columns wide: CJK, Hangul, full-width forms, most emoji. */
function wide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

/** Combining marks and zero-width characters take no column of their own. */
function zeroWidth(code: number): boolean {
  return (code >= 0x300 && code <= 0x36f) || (code >= 0x200b && code <= 0x200f) || (code >= 0xfe00 && code <= 0xfe0f) || code === 0xfeff;
}

/** The columns `text` takes on a terminal (colour codes take none). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text.replace(ANSI, '')) {
    const code = char.codePointAt(0)!;
    if (code < 0x20 || (code >= 0x7f && code < 0xa0) || zeroWidth(code)) continue;
    width += wide(code) ? 2 : 1;
  }
  return width;
}

const paint = (code: number, on: boolean) => (text: string) => (on ? `${ESC}[${code}m${text}${ESC}[39m` : text);

/** A table of `headers` and `rows` (cells already text; a cell may span lines), boxed with line-drawing characters. */
export function boxTable(headers: string[], rows: string[][], options: { color?: boolean } = {}): string {
  const border = paint(90, options.color === true);
  const head = paint(36, options.color === true);
  const columns = Math.max(headers.length, ...rows.map((row) => row.length));
  const split = (row: string[]) => Array.from({ length: columns }, (_, i) => (row[i] ?? '').split(/\r?\n/));
  const lines = [split(headers), ...rows.map(split)];
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...lines.flatMap((row) => row[i].map(displayWidth))));
  const rule = (left: string, middle: string, right: string) => border(`${left}${widths.map((width) => '─'.repeat(width + 2)).join(middle)}${right}`);
  const render = (row: string[][], style: (text: string) => string) => {
    const height = Math.max(...row.map((cellLines) => cellLines.length));
    return Array.from({ length: height }, (_, line) => {
      const cells = row.map((cellLines, i) => {
        const text = cellLines[line] ?? '';
        return style(` ${text}${' '.repeat(widths[i] - displayWidth(text))} `);
      });
      return `${border('│')}${cells.join(border('│'))}${border('│')}`;
    });
  };
  const out = [rule('┌', '┬', '┐'), ...render(lines[0], head)];
  if (rows.length > 0) out.push(rule('├', '┼', '┤'), ...lines.slice(1).flatMap((row) => render(row, (text) => text)));
  out.push(rule('└', '┴', '┘'));
  return out.join('\n');
}
