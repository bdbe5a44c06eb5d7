// The few ways results are printed: tables for people, CSV and JSON for programs. Everything
// passes through redaction on its way out.
import { redact, redactDeep } from '../engine/redact.js';
import { cell } from './format.js';
import { boxTable, ESC } from './table.js';
import { colorEnabled } from './terminal.js';

export type Row = unknown[];

const paint = (code: number) => (text: string) => (colorEnabled() ? `${ESC}[${code}m${text}${ESC}[0m` : text);
export const color = { green: paint(32), red: paint(31), yellow: paint(33), dim: paint(2), bold: paint(1) };

let silenced = false;

/** Once a run is interrupted, the command's own output stops: the interruption's one line is the last word. */
export function silenceOutput(): void {
  silenced = true;
}

export function writeOut(text: string): void {
  if (silenced) return;
  process.stdout.write(redact(text.endsWith('\n') ? text : `${text}\n`));
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
  process.stderr.write(redact(text.endsWith('\n') ? text : `${text}\n`));
}

/** Writes text as is, without redaction: only for a value the operator explicitly asked to see. */
export function writeRaw(text: string): void {
  process.stdout.write(text);
}

export function renderTable(headers: string[], rows: Row[]): string {
  return boxTable(
    headers,
    rows.map((row) => row.map(cell)),
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
