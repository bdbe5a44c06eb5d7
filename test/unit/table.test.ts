// The boxed tables every human-readable listing prints (src/ui/table.ts): columns as wide as their
// widest cell as a terminal shows it, a rule under the header only, cells over several lines.
import { describe, expect, it } from 'vitest';
import { renderTable } from '../../src/ui/output.js';
import { boxTable, displayWidth } from '../../src/ui/table.js';

const ESC = String.fromCharCode(27);

describe('tables for people', () => {
  it('draws a header, a rule under it and the rows, each column as wide as its widest cell', () => {
    expect(
      boxTable(
        ['store', 'engine'],
        [
          ['local', 'sqlite'],
          ['warehouse', 'postgres'],
        ],
      ),
    ).toBe(
      [
        '┌───────────┬──────────┐',
        '│ store     │ engine   │',
        '├───────────┼──────────┤',
        '│ local     │ sqlite   │',
        '│ warehouse │ postgres │',
        '└───────────┴──────────┘',
      ].join('\n'),
    );
  });

  it('draws only the header when there is no row, and fills short rows with empty cells', () => {
    expect(boxTable(['id', 'size'], [])).toBe(['┌────┬──────┐', '│ id │ size │', '└────┴──────┘'].join('\n'));
    expect(boxTable(['a', 'b'], [['x']])).toBe(['┌───┬───┐', '│ a │ b │', '├───┼───┤', '│ x │   │', '└───┴───┘'].join('\n'));
  });

  it('gives a cell of several lines as many lines in its row', () => {
    expect(
      boxTable(
        ['check', 'problem'],
        [
          ['lag', 'behind\nby 3 s'],
          ['ok', ''],
        ],
      ),
    ).toBe(
      [
        '┌───────┬─────────┐',
        '│ check │ problem │',
        '├───────┼─────────┤',
        '│ lag   │ behind  │',
        '│       │ by 3 s  │',
        '│ ok    │         │',
        '└───────┴─────────┘',
      ].join('\n'),
    );
  });

  it('measures cells as a terminal shows them: colour codes take no column, CJK two, accents none', () => {
    expect(displayWidth(`${ESC}[32mup${ESC}[0m`)).toBe(2);
    expect(displayWidth('日本')).toBe(4);
    expect(displayWidth('é')).toBe(1);
    expect(displayWidth('e\u0301')).toBe(1);
    const lines = boxTable(['name'], [['日本'], [`${ESC}[31mdown${ESC}[0m`]]).split('\n');
    expect(lines[3]).toBe('│ 日本 │');
    expect(lines[4]).toBe(`│ ${ESC}[31mdown${ESC}[0m │`);
    expect(lines[0]).toBe('┌──────┐');
  });

  it('colours the header and the lines only when asked', () => {
    const plain = boxTable(['a'], [['x']]);
    expect(plain).not.toContain(ESC);
    const coloured = boxTable(['a'], [['x']], { color: true });
    expect(coloured).toContain(`${ESC}[36m a ${ESC}[39m`);
    expect(coloured).toContain(`${ESC}[90m┌───┐${ESC}[39m`);
    expect(coloured.replace(new RegExp(`${ESC}\\[\\d+m`, 'g'), '')).toBe(plain);
  });

  it('prints every value the listings hold: missing as -, booleans as yes/no', () => {
    const out = renderTable(['store', 'engine', 'read-only', 'lag'], [['main', 'postgres', false, null]]);
    expect(out).toContain('│ main  │');
    expect(out).toContain('│ no        │ -   │');
  });
});
