#!/usr/bin/env node
// Writes docs/commands.md, the reference of every command, argument and flag, from the committed
// oclif.manifest.json (and the topics in package.json), so the reference can never drift from the
// tool: `npm run manifest` regenerates both, and a test fails when either is stale.
//   node scripts/command-reference.mjs          write docs/commands.md
//   node scripts/command-reference.mjs --stdout print it instead (the test compares)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function commandReference(manifest, topics) {
  const commands = Object.values(manifest.commands).sort((a, b) => a.id.localeCompare(b.id));
  const topicOf = (id) => (id.includes(':') ? id.split(':')[0] : id);
  const words = (id) => id.split(':').join(' ');
  const escape = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    '# Command reference',
    '',
    '<!-- Generated from oclif.manifest.json by scripts/command-reference.mjs (`npm run manifest`); do not edit by hand. -->',
    '',
    'Every command also takes `--json` (exactly one JSON document on stdout) and `--config PATH`.',
    'Exit codes are in the README ("Output and exit codes").',
    '',
  ];
  for (const topic of [...new Set(commands.map((command) => topicOf(command.id)))]) {
    lines.push(`## ${topic}`, '');
    if (topics[topic]?.description) lines.push(topics[topic].description, '');
    for (const command of commands.filter((c) => topicOf(c.id) === topic)) {
      const args = Object.values(command.args ?? {});
      const usage = args.map((arg, index) => {
        const name = arg.name.toUpperCase() + (command.strict === false && index === args.length - 1 ? '...' : '');
        return arg.required ? name : `[${name}]`;
      });
      lines.push(`### storage ${words(command.id)}`, '', '```', ['storage', words(command.id), ...usage, '[FLAGS]'].join(' '), '```', '');
      if (command.summary) lines.push(command.summary, '');
      if (command.description) lines.push(command.description, '');
      if (args.length > 0) {
        lines.push('| argument | description |', '| --- | --- |');
        for (const arg of args) lines.push(`| \`${arg.name.toUpperCase()}\`${arg.required ? ' (required)' : ''} | ${escape(arg.description ?? '')} |`);
        lines.push('');
      }
      const flags = Object.values(command.flags ?? {}).filter((flag) => flag.helpGroup !== 'GLOBAL' && !flag.hidden);
      if (flags.length > 0) {
        lines.push('| flag | description |', '| --- | --- |');
        for (const flag of flags) {
          const name = `${flag.char ? `-${flag.char}, ` : ''}--${flag.allowNo ? '[no-]' : ''}${flag.name}${flag.type === 'option' ? ` ${flag.options ? flag.options.join('\\|') : 'VALUE'}` : ''}`;
          const notes = [
            flag.required ? 'required' : undefined,
            flag.multiple && !/repeatable/.test(flag.description ?? '') ? 'repeatable' : undefined,
            flag.default !== undefined && !(Array.isArray(flag.default) && flag.default.length === 0) && flag.default !== false
              ? `default: ${flag.default}`
              : undefined,
            flag.dependsOn?.length ? `with ${flag.dependsOn.map((other) => `--${other}`).join(', ')}` : undefined,
            flag.exclusive?.length ? `not with ${flag.exclusive.map((other) => `--${other}`).join(', ')}` : undefined,
          ].filter(Boolean);
          lines.push(`| \`${name}\` | ${escape(flag.description ?? '')}${notes.length ? ` (${notes.join('; ')})` : ''} |`);
        }
        lines.push('');
      }
      const examples = (command.examples ?? []).map((example) => (typeof example === 'string' ? example : example.command));
      if (examples.length > 0) lines.push('Examples:', '', '```sh', ...examples.map((example) => example.replace(/<%= config\.bin %>/g, 'storage')), '```', '');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'));
  const topics = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).oclif?.topics ?? {};
  const text = commandReference(manifest, topics);
  if (process.argv.includes('--stdout')) process.stdout.write(text);
  else {
    fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(root, 'docs', 'commands.md'), text);
  }
}
