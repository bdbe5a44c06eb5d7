// The docs describe the tool as built: the command reference (docs/commands.md) is generated from
// oclif.manifest.json and must be fresh, the README links it and names every command in its
// commands table (one table, so every row renders under its header), and every flag of every
// command is documented.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script, also run by `npm run manifest`
import { commandReference } from '../../scripts/command-reference.mjs';
import { ROOT } from '../support/paths.js';

interface ManifestCommand {
  id: string;
  flags: Record<string, { name: string; char?: string; helpGroup?: string; hidden?: boolean }>;
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, ManifestCommand> };
const topics = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).oclif.topics;
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const referenceFile = path.join(ROOT, 'docs', 'commands.md');
const reference = fs.existsSync(referenceFile) ? fs.readFileSync(referenceFile, 'utf8') : '';
const commands = Object.values(manifest.commands);
const words = (id: string) => id.split(':').join(' ');

describe('docs match the tool', () => {
  it('docs/commands.md is generated from the current manifest', () => {
    expect(reference, 'docs/commands.md is stale: run `npm run manifest` (or `npm run docs:commands`) and commit it').toBe(commandReference(manifest, topics));
  });

  it('the README links the command reference', () => {
    expect(readme).toContain('](docs/commands.md)');
  });

  it("the README's commands table is one table and names every command", () => {
    const section = readme.slice(readme.indexOf('## Commands'), readme.indexOf('\n## ', readme.indexOf('## Commands') + 1));
    const lines = section.split('\n');
    const first = lines.findIndex((line) => line.startsWith('| command'));
    const last = lines.findLastIndex((line) => line.startsWith('| `storage'));
    expect(first, 'the commands table has a header row').toBeGreaterThanOrEqual(0);
    const table = lines.slice(first, last + 1);
    expect(
      table.filter((line) => !line.startsWith('|')),
      'a blank line splits the table: the rows after it render without a header',
    ).toEqual([]);
    for (const command of commands)
      expect(table.join('\n'), `storage ${words(command.id)} is missing from the README commands table`).toContain(words(command.id));
  });

  it('every flag of every command is documented under that command', () => {
    for (const command of commands) {
      const start = reference.indexOf(`### storage ${words(command.id)}\n`);
      expect(start, `storage ${words(command.id)} has no section in docs/commands.md`).toBeGreaterThanOrEqual(0);
      const end = reference.indexOf('\n### ', start + 1);
      const section = reference.slice(start, end === -1 ? undefined : end);
      for (const flag of Object.values(command.flags).filter((f) => f.helpGroup !== 'GLOBAL' && !f.hidden)) {
        expect(section, `--${flag.name} of storage ${words(command.id)}`).toMatch(new RegExp(`--(\\[no-\\])?${flag.name}\\b`));
        if (flag.char) expect(section, `-${flag.char} of storage ${words(command.id)}`).toContain(`-${flag.char}, --`);
      }
    }
  });
});
