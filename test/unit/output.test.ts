import { describe, expect, it } from 'vitest';
import { sparkline } from '../../src/ui/format.js';
import { renderCsv } from '../../src/ui/output.js';
import { canAnimate, canPrompt, colorEnabled } from '../../src/ui/terminal.js';

describe('output for programs and people', () => {
  it('quotes CSV fields that hold commas, quotes or newlines', () => {
    expect(
      renderCsv(
        ['a', 'b'],
        [
          ['x,y', 'say "hi"'],
          [null, 3],
        ],
      ),
    ).toBe('a,b\n"x,y","say ""hi"""\n,3');
  });

  it('turns colour off for NO_COLOR, TERM=dumb and pipes', () => {
    expect(colorEnabled({ env: {}, stdoutIsTTY: true })).toBe(true);
    expect(colorEnabled({ env: { NO_COLOR: '1' }, stdoutIsTTY: true })).toBe(false);
    expect(colorEnabled({ env: { TERM: 'dumb' }, stdoutIsTTY: true })).toBe(false);
    expect(colorEnabled({ env: {}, stdoutIsTTY: false })).toBe(false);
  });

  it('never prompts or animates in CI or without a terminal', () => {
    expect(canPrompt({ env: {}, stdinIsTTY: true, stderrIsTTY: true })).toBe(true);
    expect(canPrompt({ env: { CI: 'true' }, stdinIsTTY: true, stderrIsTTY: true })).toBe(false);
    expect(canPrompt({ env: {}, stdinIsTTY: false, stderrIsTTY: true })).toBe(false);
    expect(canAnimate({ env: {}, stdinIsTTY: true, stderrIsTTY: true })).toBe(true);
    expect(canAnimate({ env: { TERM: 'dumb' }, stdinIsTTY: true, stderrIsTTY: true })).toBe(false);
  });

  it('draws latency history with gaps for failed probes', () => {
    expect(sparkline([1, 2, null, 8])).toMatch(/^▁.·█$/);
    expect(sparkline([null, null])).toBe('··');
  });
});
