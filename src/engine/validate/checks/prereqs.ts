// Suite `prereqs`: tools, Node, and the paths the tool writes to.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { pgTool } from '../../backup/postgres.js';
import { repositoryPath } from '../../backup/service.js';
import type { PostgresProvider } from '../../providers/postgres.js';
import { vaultPath } from '../../secrets/resolver.js';
import type { Check } from '../registry.js';

const run = promisify(execFile);

function writableDir(target: string): boolean {
  let dir = path.resolve(target);
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export const prereqChecks: Check[] = [
  {
    id: 'prereqs.node',
    suite: 'prereqs',
    title: 'Node.js is 20.19 or newer',
    async run() {
      const [major, minor] = process.versions.node.split('.').map(Number);
      const ok = major > 20 || (major === 20 && minor >= 19);
      return [{ status: ok ? 'pass' : 'fail', reason: `Node.js ${process.versions.node}`, hint: ok ? undefined : 'Install Node.js 20.19 or newer.' }];
    },
  },
  {
    id: 'prereqs.pg-tools',
    suite: 'prereqs',
    title: 'pg_dump and pg_restore are at least the server major version',
    async run({ fleet, stores }) {
      const pgStores = fleet.select(stores).filter((store) => store.engine === 'postgres');
      if (pgStores.length === 0) return [{ status: 'pass', reason: 'no PostgreSQL stores' }];
      return Promise.all(
        pgStores.map(async (store) => {
          const provider = (await fleet.provider(store)) as PostgresProvider;
          const serverMajor = await provider.withClient(async (client) =>
            Math.floor(Number((await client.query<{ n: string }>("select current_setting('server_version_num') as n")).rows[0].n) / 10000),
          );
          const problems: string[] = [];
          for (const tool of ['pg_dump', 'pg_restore'] as const) {
            try {
              const { stdout } = await run(pgTool(tool, serverMajor), ['--version']);
              const major = Number(/(\d+)/.exec(stdout)?.[1] ?? 0);
              if (major < serverMajor) problems.push(`${tool} ${major} is older than the server (${serverMajor})`);
            } catch {
              problems.push(`${tool} is not installed`);
            }
          }
          return problems.length
            ? {
                subject: store.name,
                status: 'fail' as const,
                reason: problems.join('; '),
                hint: `Install postgresql-client-${serverMajor} or set STORAGE_PG_BIN.`,
              }
            : { subject: store.name, status: 'pass' as const, reason: `pg_dump and pg_restore fit server ${serverMajor}` };
        }),
      );
    },
  },
  {
    id: 'prereqs.paths',
    suite: 'prereqs',
    title: 'the backup repository is writable and the vault is private (0600)',
    async run({ fleet, env }) {
      const repo = repositoryPath(fleet);
      const outcomes = [
        writableDir(repo)
          ? { subject: 'repository', status: 'pass' as const, reason: `${repo} is writable` }
          : { subject: 'repository', status: 'fail' as const, reason: `${repo} is not writable`, hint: 'Fix its permissions or set backup.repository.' },
      ];
      const vault = vaultPath(fleet.config, env);
      if (fs.existsSync(vault)) {
        const mode = fs.statSync(vault).mode & 0o777;
        outcomes.push(
          mode === 0o600
            ? { subject: 'vault', status: 'pass' as const, reason: `${vault} is 0600` }
            : { subject: 'vault', status: 'fail' as const, reason: `${vault} is ${mode.toString(8)}, not 600`, hint: `chmod 600 ${vault}` },
        );
      }
      return outcomes;
    },
  },
];
