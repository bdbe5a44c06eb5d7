// The validation report as an operator reads it at a glance: one line per check, grouped by suite,
// a hint line under each that did not pass, and a summary line last.
import type { ValidationReport } from '../../engine/validate/registry.js';
import { color } from '../output.js';

const STATUS = { pass: color.green('pass '), warn: color.yellow('warn '), fail: color.red('FAIL '), error: color.red('ERROR') };

export function validationView(report: ValidationReport, strict: boolean): string {
  const width = Math.max(...report.checks.map((check) => check.id.length), 10);
  const lines: string[] = [];
  for (const suite of [...new Set(report.checks.map((check) => check.suite))]) {
    lines.push(color.bold(suite));
    for (const check of report.checks.filter((c) => c.suite === suite)) {
      lines.push(`  ${STATUS[check.status]}  ${check.id.padEnd(width)}  ${check.reason}`);
      if (check.status !== 'pass' && check.hint) lines.push(`  ${' '.repeat(5)}  ${' '.repeat(width)}  ${color.dim('hint:')} ${check.hint}`);
    }
  }
  const { pass, warn, fail, error, total } = report.summary;
  const verdict = report.ok ? color.green('OK') : color.red(strict && fail + error === 0 ? 'NOT OK (warnings fail under --strict)' : 'NOT OK');
  lines.push(
    '',
    `${verdict}: ${total} checks, ${pass} passed, ${warn} warning${warn === 1 ? '' : 's'}, ${fail} failed, ${error} error${error === 1 ? '' : 's'} (${(report.durationMs / 1000).toFixed(1)}s)`,
  );
  return lines.join('\n');
}
