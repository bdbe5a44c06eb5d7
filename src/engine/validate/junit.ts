// JUnit XML for CI systems: one testsuite per suite, one testcase per check; failures and errors
// carry the reason and hint, warnings are recorded as system-out.
import type { ValidationReport } from './registry.js';

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export function toJUnit(report: ValidationReport): string {
  const suites = new Map<string, ValidationReport['checks']>();
  for (const check of report.checks) suites.set(check.suite, [...(suites.get(check.suite) ?? []), check]);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="storage validate" tests="${report.summary.total}" failures="${report.summary.fail}" errors="${report.summary.error}" time="${(report.durationMs / 1000).toFixed(3)}">`,
  ];
  for (const [suite, checks] of suites) {
    const failures = checks.filter((c) => c.status === 'fail').length;
    const errors = checks.filter((c) => c.status === 'error').length;
    lines.push(`  <testsuite name="${xml(suite)}" tests="${checks.length}" failures="${failures}" errors="${errors}" skipped="0">`);
    for (const check of checks) {
      const message = `${check.reason}${check.hint ? ` (hint: ${check.hint})` : ''}`;
      lines.push(
        `    <testcase classname="storage.${xml(suite)}" name="${xml(check.id)}: ${xml(check.title)}" time="${(check.durationMs / 1000).toFixed(3)}">`,
      );
      if (check.status === 'fail') lines.push(`      <failure message="${xml(check.reason)}">${xml(message)}</failure>`);
      if (check.status === 'error') lines.push(`      <error message="${xml(check.reason)}">${xml(message)}</error>`);
      if (check.status === 'warn' || check.status === 'pass') lines.push(`      <system-out>${xml(`${check.status}: ${message}`)}</system-out>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
