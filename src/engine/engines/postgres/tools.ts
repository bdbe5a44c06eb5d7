// The PostgreSQL client programs backups run (pg_dump, pg_restore): which binary to use for a
// server, its major version, how its failure reads, and the check that they fit the server (an
// older pg_dump refuses a newer server).
import fs from 'node:fs';
import path from 'node:path';
import { StorageError } from '../../errors.js';
import { redact } from '../../redact.js';
import { probeTool } from '../../system/child-process.js';
import type { ClientToolsCapability, ToolsVerdict } from '../spec.js';
import { hintForPostgresMessage } from './failures.js';
import type { PostgresProvider } from './provider.js';

/** The pg_dump/pg_restore to use: $STORAGE_PG_BIN, the server's major version's Debian directory, or PATH. */
export function pgTool(name: 'pg_dump' | 'pg_restore', serverMajor: number): string {
  if (process.env.STORAGE_PG_BIN) return path.join(process.env.STORAGE_PG_BIN, name);
  const versioned = `/usr/lib/postgresql/${serverMajor}/bin/${name}`;
  return fs.existsSync(versioned) ? versioned : name;
}

/** What a tool said it is, per path, for this process: a backup's preparation probes it while the key is unlocked, the dump reuses the answer. */
const probed = new Map<string, Promise<{ major: number; version: string }>>();

export function toolMajor(tool: string): Promise<{ major: number; version: string }> {
  let answer = probed.get(tool);
  if (!answer) {
    answer = probeMajor(tool);
    probed.set(tool, answer);
    // Only an answer is kept: a tool that failed is asked again (it may have been installed since).
    answer.catch(() => probed.delete(tool));
  }
  return answer;
}

async function probeMajor(tool: string): Promise<{ major: number; version: string }> {
  const { exitCode, stdout } = await probeTool(tool, ['--version']);
  if (exitCode === 0) {
    const match = /(\d+)(?:\.(\d+))?/.exec(stdout);
    return { major: Number(match?.[1] ?? 0), version: stdout.trim() };
  }
  throw new StorageError('FAILED', `${tool} is not installed or cannot run.`, {
    hint: "Install the PostgreSQL client tools of the server's major version (Debian: postgresql-client), or set STORAGE_PG_BIN to their directory.",
  });
}

export function toolFailure(tool: string, error: { exitCode?: number | null; signal?: string | null; stderr?: unknown }): StorageError {
  const stderr = redact(String(error.stderr ?? '').trim())
    .split('\n')
    .slice(-5)
    .join('\n');
  const how = error.signal ? `was killed by ${error.signal}` : `exited with ${error.exitCode}`;
  return new StorageError('FAILED', `${tool} ${how}${stderr ? `: ${stderr}` : ''}`, {
    hint: hintForPostgresMessage(stderr) ?? "The message above is the tool's own; nothing of this run was kept as complete.",
  });
}

/** `tools` maps each tool to its major version, or undefined when it is missing or cannot run. */
export function judgePgTools(serverMajor: number, tools: Record<string, number | undefined>): ToolsVerdict {
  const problems = Object.entries(tools).flatMap(([tool, major]) =>
    major === undefined ? [`${tool} is not installed`] : major < serverMajor ? [`${tool} ${major} is older than the server (${serverMajor})`] : [],
  );
  return problems.length
    ? { status: 'fail', reason: problems.join('; '), hint: `Install postgresql-client-${serverMajor}, or set STORAGE_PG_BIN to the directory of its tools.` }
    : { status: 'pass', reason: `${Object.keys(tools).join(' and ')} fit server ${serverMajor}` };
}

export const postgresTools: ClientToolsCapability<PostgresProvider> = {
  tools: 'pg_dump and pg_restore',
  async check(provider) {
    const serverMajor = await provider.serverMajor();
    const tools: Record<string, number | undefined> = {};
    for (const tool of ['pg_dump', 'pg_restore'] as const)
      tools[tool] = await toolMajor(pgTool(tool, serverMajor)).then(
        (found) => found.major,
        () => undefined,
      );
    return judgePgTools(serverMajor, tools);
  },
};
