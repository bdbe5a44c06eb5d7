// Per-module mutation scores from Stryker's JSON report (reports/mutation/mutation.json):
// score = (killed + timed out) / (killed + timed out + survived + no coverage), as Stryker counts it.
//   node scripts/mutation-scores.mjs [report.json] [--survivors] [--without=test/a.test.ts,test/b.test.ts]
// --survivors lists every surviving or uncovered mutant. --without estimates the score the suite
// had without those test files, from the same run: a mutant killed by a test of another file was
// killed without them; one covered by no test of another file had no coverage; one killed by a
// test of those files but also covered by others may or may not have been (Stryker stops at the
// first failing test), so that score is given as a range.
import fs from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((arg) => !arg.startsWith('--')) ?? 'reports/mutation/mutation.json';
const without = (
  args
    .find((arg) => arg.startsWith('--without='))
    ?.slice('--without='.length)
    .split(',') ?? []
).filter(Boolean);
const report = JSON.parse(fs.readFileSync(file, 'utf8'));
const testFile = new Map();
for (const [name, { tests }] of Object.entries(report.testFiles ?? {})) for (const test of tests) testFile.set(test.id, name);
const isRemoved = (id) => without.some((name) => (testFile.get(id) ?? '').endsWith(name));

const rows = [];
const total = { killed: 0, survived: 0, noCoverage: 0, ignored: 0, beforeSure: 0, beforeMaybe: 0 };
for (const [name, { mutants, source }] of Object.entries(report.files)) {
  const row = { name, killed: 0, survived: 0, noCoverage: 0, ignored: 0, beforeSure: 0, beforeMaybe: 0 };
  for (const mutant of mutants) {
    if (mutant.status === 'Killed' || mutant.status === 'Timeout') row.killed++;
    else if (mutant.status === 'Survived') row.survived++;
    else if (mutant.status === 'NoCoverage') row.noCoverage++;
    else if (mutant.status === 'Ignored') row.ignored++;
    else continue;
    if (without.length && (mutant.status === 'Killed' || mutant.status === 'Timeout')) {
      const coveredByOthers = (mutant.coveredBy ?? []).some((id) => !isRemoved(id));
      const killedByOthers = (mutant.killedBy ?? []).some((id) => !isRemoved(id));
      if (killedByOthers) row.beforeSure++;
      else if (coveredByOthers || !mutant.coveredBy) row.beforeMaybe++;
    }
  }
  for (const key of Object.keys(total)) total[key] += row[key];
  rows.push(row);
  if (args.includes('--survivors')) {
    const lines = source.split('\n');
    for (const mutant of mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')) {
      const line = mutant.location.start.line;
      console.log(
        `${name}:${line} ${mutant.status} ${mutant.mutatorName} ${JSON.stringify(mutant.replacement ?? '').slice(0, 70)} | ${lines[line - 1].trim().slice(0, 120)}`,
      );
    }
  }
}
rows.sort((a, b) => a.name.localeCompare(b.name));
const pct = (part, whole) => (whole ? `${((100 * part) / whole).toFixed(1)}%` : 'n/a');
const header = ['module', 'score', 'killed', 'survived', 'no coverage', 'ignored (static)', ...(without.length ? ['score without those tests'] : [])];
console.log(`| ${header.join(' | ')} |`);
console.log(`| --- |${' ---: |'.repeat(header.length - 1)}`);
for (const row of [...rows, { ...total, name: 'all' }]) {
  const valid = row.killed + row.survived + row.noCoverage;
  const before = without.length
    ? [row.beforeMaybe ? `${pct(row.beforeSure, valid)}–${pct(row.beforeSure + row.beforeMaybe, valid)}` : pct(row.beforeSure, valid)]
    : [];
  console.log(
    `| ${row.name} | ${pct(row.killed, valid)} | ${row.killed} | ${row.survived} | ${row.noCoverage} | ${row.ignored} | ${before.join('')}${before.length ? ' |' : ''}`.replace(
      /\| $/,
      '|',
    ),
  );
}
