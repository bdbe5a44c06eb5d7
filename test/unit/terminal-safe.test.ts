// The one way text reaches a terminal (src/ui/output.ts terminalSafe, and the live views' cells):
// control characters the tool did not write are shown as escapes; its own colours stay.
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/engine/config/load.js';
import { cellText } from '../../src/ui/live/layout.js';
import { boxTable, ESC } from '../../src/ui/table.js';
import { terminalSafe } from '../../src/ui/output.js';

const HOSTILE = `${ESC}]0;pwned\u0007${ESC}[2J\rX\u009b31m${ESC}[8mhidden\u007f`;
const SHOWN = String.raw`\u001b]0;pwned\u0007\u001b[2J\rX\u009b31m\u001b[8mhidden\u007f`;

describe('terminal-safe text', () => {
  it('shows every control character as the escape JSON writes, keeping line feeds and tabs', () => {
    expect(terminalSafe(`a${HOSTILE}\n\tb`, false)).toBe(`a${SHOWN}\n\tb`);
    // Escaping twice changes nothing more (text passes writeOut after renderTable did it).
    expect(terminalSafe(terminalSafe(HOSTILE, false), false)).toBe(SHOWN);
  });

  it("with colour on, keeps the tool's own colour codes (and only those): a table still draws in colour", () => {
    const table = boxTable(['name'], [[`x${HOSTILE}`]], { color: true });
    const shown = terminalSafe(table, true);
    expect(shown).toContain(`${ESC}[90m┌`);
    expect(shown).toContain(`${ESC}[36m name`);
    expect(shown).toContain(`x${SHOWN}`);
    // Not the hidden-text SGR (8) nor anything else the name carried.
    // eslint-disable-next-line no-control-regex
    expect(shown.replace(/\u001b\[(?:0|1|2|3[1-3]|36|39|90)m/g, '')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    // Colour off: even the tool's own codes would be escaped (it writes none then).
    expect(terminalSafe(`${ESC}[31mno${ESC}[0m`, false)).toBe(String.raw`\u001b[31mno\u001b[0m`);
  });

  it('keeps a JSON document meaning the same string: C1 and DEL become \\u escapes JSON reads back', () => {
    const json = JSON.stringify({ name: `db${HOSTILE}` });
    expect(JSON.parse(terminalSafe(json, false))).toEqual({ name: `db${HOSTILE}` });
    // eslint-disable-next-line no-control-regex
    expect(terminalSafe(json, false)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('live views show a cell holding controls escaped, and cut it to its width as shown', () => {
    const cell = cellText(`db${HOSTILE}`, 12);
    expect(cell).toBe(`${String.raw`db\u001b]0`}… `);
    expect(cell).toHaveLength(12);
  });

  it('a config key holding a C1 control (U+009B, a CSI) is quoted with it escaped too', async () => {
    const { issues } = await checkConfig({ stores: { 'a\u009b2Jb': { engine: 'sqlite', path: 'x.db' } } });
    const shown = issues.map((issue) => issue.path).join('\n');
    expect(shown).not.toContain('\u009b');
    expect(shown).toContain(String.raw`"a\u009b2Jb"`);
  });
});
