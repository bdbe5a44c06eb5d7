// The few ways results are printed: tables for people, CSV and JSON for programs. Everything
// passes through redaction on its way out, and through terminalSafe: no control character the
// tool did not write itself reaches the terminal.
import { visibleControls } from '../engine/control-chars.js';
import { redact, redactDeep } from '../engine/redact.js';
import { cell } from './format.js';
import { boxTable, ESC } from './table.js';
import { colorEnabled } from './terminal.js';

export type Row = unknown[];

const paint = (code: number) => (text: string) => (colorEnabled() ? `${ESC}[${code}m${text}${ESC}[0m` : text);
export const color = { green: paint(32), red: paint(31), yellow: paint(33), dim: paint(2), bold: paint(1) };

// The colour codes the tool writes itself (`color` here, borders and headers in table.ts).
const OWN_COLOUR = new RegExp(`${ESC}\\[(?:0|1|2|3[1-3]|36|39|90)m`, 'g');

/**
 * `text` as it may reach a terminal: every control character shown as an escape (`\u001b`, `\r`,
 * see engine/control-chars.ts), so a name, tag, path or server message holding a terminal escape
 * is read, not run. Only when colour is on, the tool's own colour codes are kept (and nothing else:
 * no cursor movement, no OSC, no other SGR such as hidden text). Line feeds and tabs stay. JSON
 * text comes through unchanged in meaning: it escapes C0 itself, and C1 or DEL become `\u009b`-style
 * escapes that parse to the same string.
 */
export function terminalSafe(text: string, keepColour = colorEnabled()): string {
  if (!keepColour) return visibleControls(text);
  let out = '';
  let last = 0;
  for (const match of text.matchAll(OWN_COLOUR)) {
    out += visibleControls(text.slice(last, match.index)) + match[0];
    last = match.index + match[0].length;
  }
  return out + visibleControls(text.slice(last));
}

let silenced = false;

/** Once a run is interrupted, the command's own output stops: the interruption's one line is the last word. */
export function silenceOutput(): void {
  silenced = true;
}

export function writeOut(text: string): void {
  if (silenced) return;
  process.stdout.write(terminalSafe(redact(text.endsWith('\n') ? text : `${text}\n`)));
}

const warnings: string[] = [];

/**
 * Prints a warning on stderr and keeps it for `--json`, whose document carries every warning of
 * the run in a top-level `warnings` list (so a program sees what an operator would have read).
 */
export function writeWarning(label: string, text: string): void {
  warnings.push(redact(text));
  writeErr(`${label}${text}`);
}

/** The warnings this run printed, in order. */
export function runWarnings(): string[] {
  return [...warnings];
}

export function writeErr(text: string): void {
  if (silenced) return;
  process.stderr.write(terminalSafe(redact(text.endsWith('\n') ? text : `${text}\n`)));
}

/** Writes text as is, without redaction: only for a value the operator explicitly asked to see. */
export function writeRaw(text: string): void {
  process.stdout.write(text);
}

export function renderTable(headers: string[], rows: Row[]): string {
  // Escaped here as well as on the way out, so a cell holding an escape is measured as it is shown.
  const shown = (value: unknown) => terminalSafe(cell(value));
  return boxTable(
    headers.map(shown),
    rows.map((row) => row.map(shown)),
    { color: colorEnabled() },
  );
}

function csvField(value: unknown): string {
  const text = cell(value === null || value === undefined ? '' : value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function renderCsv(headers: string[], rows: Row[]): string {
  return [headers, ...rows].map((row) => row.map(csvField).join(',')).join('\n');
}

export function renderJson(value: unknown): string {
  return JSON.stringify(redactDeep(value), null, 2);
}
