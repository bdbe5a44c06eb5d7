// The shape of the house, checked on every run: no import cycles among the source files (counting
// what is loaded at run time: static imports and `import()`, not `import type`), engine knowledge
// only under src/engine/engines/<engine>/, and an engine free of UI.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.js';

const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The relative modules a file loads at run time: `import … from`, `export … from`, `import()`; type-only imports are left out. */
function runtimeImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.[^'"]+)['"]/gm;
  for (const match of text.matchAll(statement)) if (!match[2]) found.push(match[3]);
  for (const match of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(match[1]);
  return found.map((spec) => {
    const target = path.resolve(path.dirname(file), spec);
    for (const candidate of [target.replace(/\.js$/, '.ts'), target.replace(/\.js$/, '.tsx'), target]) if (fs.existsSync(candidate)) return candidate;
    return target;
  });
}

function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push(stack.slice(stack.indexOf(next)).concat(next));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const relative = (file: string) => path.relative(ROOT, file);

describe('the shape of the source', () => {
  const files = sourceFiles(SRC);
  const graph = new Map(files.map((file) => [file, runtimeImports(file).filter((target) => target.startsWith(SRC))]));

  it('has no import cycles', () => {
    expect(findCycles(graph).map((cycle) => cycle.map(relative).join(' → '))).toEqual([]);
  });

  it('keeps engine knowledge in src/engine/engines/<engine>/: nothing else imports an engine folder (the registry loads them)', () => {
    const engineFolder = /src\/engine\/engines\/(postgres|mongodb|sqlite)\//;
    const outside = files
      .filter((file) => !engineFolder.test(file) && !file.endsWith(path.join('engines', 'index.ts')))
      .flatMap((file) => {
        const text = fs.readFileSync(file, 'utf8');
        return [...text.matchAll(/from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)]
          .map((match) => path.resolve(path.dirname(file), match[1] ?? match[2]))
          .filter((target) => engineFolder.test(target))
          .map((target) => `${relative(file)} imports ${relative(target)}`);
      });
    expect(outside).toEqual([]);
  });

  it('keeps the engine free of UI: no oclif, Ink, React, listr2 or cli-table3 under src/engine', () => {
    const ui = /from\s+['"](@oclif\/[^'"]+|ink[^'"]*|react|listr2|cli-table3)['"]/;
    expect(files.filter((file) => file.includes(`${path.sep}engine${path.sep}`) && ui.test(fs.readFileSync(file, 'utf8'))).map(relative)).toEqual([]);
  });

  it('finds the imports it checks (a check that reads nothing would always pass)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get(path.join(SRC, 'engine', 'fleet.ts'))).toContain(path.join(SRC, 'engine', 'engines', 'index.ts'));
  });
});
