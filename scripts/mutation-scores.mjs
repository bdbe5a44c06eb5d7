// Per-module mutation scores from Stryker's JSON report (reports/mutation/mutation.json):
// score = (killed + timed out) / (killed + timed out + survived + no coverage), as Stryker counts it.
// Usage: node scripts/mutation-scores.mjs [report.json] [--survivors]
import fs from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((arg) => !arg.startsWith('--')) ?? 'reports/mutation/mutation.json';
const report = JSON.parse(fs.readFileSync(file, 'utf8'));
const rows = [];
const total = { killed: 0, survived: 0, noCoverage: 0, ignored: 0 };
for (const [name, { mutants, source }] of Object.entries(report.files)) {
  const count = (...statuses) => mutants.filter((mutant) => statuses.includes(mutant.status)).length;
  const killed = count('Killed', 'Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const ignored = count('Ignored');
  total.killed += killed;
  total.survived += survived;
  total.noCoverage += noCoverage;
  total.ignored += ignored;
  const valid = killed + survived + noCoverage;
  rows.push({ name, score: valid ? (100 * killed) / valid : 100, killed, survived, noCoverage, ignored });
  if (args.includes('--survivors')) {
    const lines = source.split('\n');
    for (const mutant of mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')) {
      const line = mutant.location.start.line;
      console.log(`${name}:${line} ${mutant.status} ${mutant.mutatorName} ${JSON.stringify(mutant.replacement ?? '').slice(0, 60)} | ${lines[line - 1].trim().slice(0, 110)}`);
    }
  }
}
rows.sort((a, b) => a.name.localeCompare(b.name));
console.log('| module | score | killed | survived | no coverage | ignored (static) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) console.log(`| ${row.name} | ${row.score.toFixed(1)}% | ${row.killed} | ${row.survived} | ${row.noCoverage} | ${row.ignored} |`);
const valid = total.killed + total.survived + total.noCoverage;
console.log(`| all | ${((100 * total.killed) / valid).toFixed(1)}% | ${total.killed} | ${total.survived} | ${total.noCoverage} | ${total.ignored} |`);
