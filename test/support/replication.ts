// Throwaway replicated PostgreSQL clusters for failover tests: a primary and standbys on loopback
// ports, each streaming through a physical slot, with data checksums (pg_rewind needs them). Each
// server's port and socket live in its own postgresql.conf, as on a real host, so the tool can
// start it with a plain `pg_ctl start`; pg_basebackup copies the primary's file, so each standby
// appends its own port after the copy. Run as the `postgres` OS user when the tests run as root.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';
import { pgBinDir } from './pg-cluster.js';

export interface Node {
  name: string;
  port: number;
  url: string;
  dataDir: string;
}

export interface ReplicatedSet {
  dir: string;
  nodes: Node[];
  node(name: string): Node;
  /** The store's config: the first node at `url`, the others as standbys, all with local control unless `withoutControl`. */
  storeConfig(options?: { withoutControl?: string[]; withoutSlot?: boolean }): Record<string, unknown>;
  pgCtl(name: string, ...args: string[]): void;
  kill9(name: string): void;
  destroy(): void;
}

function asPostgres(file: string, args: string[], timeout = 120_000): string {
  const root = process.getuid?.() === 0;
  const [command, argv] = root ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout });
}

function ownDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
}

/** A primary and `standbys` streaming standbys (through slots unless `slots: false`); `settings` go into every postgresql.conf. */
export async function startReplicatedSet(
  names: string[],
  options: { settings?: Record<string, string | number>; slots?: boolean } = {},
): Promise<ReplicatedSet> {
  const bin = pgBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-repl-'));
  ownDir(dir);
  const nodes: Node[] = [];
  const settings = {
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dir}'`,
    wal_level: 'replica',
    max_wal_senders: 10,
    max_replication_slots: 10,
    hot_standby: 'on',
    wal_log_hints: 'on',
    fsync: 'off',
    max_connections: 40,
    wal_keep_size: 0,
    ...options.settings,
  };
  for (const [index, name] of names.entries()) {
    const port = await freePort();
    const dataDir = path.join(dir, name);
    if (index === 0) {
      asPostgres(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--data-checksums', '--no-sync']);
      const conf = Object.entries(settings).map(([key, value]) => `${key} = ${value}`);
      fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `\n${conf.join('\n')}\nport = ${port}\n`);
      fs.appendFileSync(path.join(dataDir, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 trust\n');
    } else {
      const args = ['-h', '127.0.0.1', '-p', String(nodes[0].port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '-c', 'fast'];
      if (options.slots !== false) args.push('-C', '-S', name);
      asPostgres(path.join(bin, 'pg_basebackup'), args);
      fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `\nport = ${port}\n`);
      // -R wrote primary_conninfo without the member's own name; the tool's name for it is the slot's.
    }
    asPostgres(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-l', path.join(dir, `${name}.log`), '-w', '-t', '60', 'start']);
    nodes.push({ name, port, url: `postgres://postgres@127.0.0.1:${port}/postgres`, dataDir });
  }
  const set: ReplicatedSet = {
    dir,
    nodes,
    node(name) {
      const found = nodes.find((node) => node.name === name);
      if (!found) throw new Error(`no node ${name}`);
      return found;
    },
    storeConfig(config = {}) {
      const control = (node: Node) => (config.withoutControl?.includes(node.name) ? {} : { control: { dataDir: node.dataDir } });
      const [first, ...rest] = nodes;
      return {
        engine: 'postgres',
        url: first.url,
        member: first.name,
        ...control(first),
        connectTimeout: '3s',
        standbys: rest.map((node) => ({ name: node.name, url: node.url, ...control(node) })),
      };
    },
    pgCtl(name, ...args) {
      asPostgres(path.join(bin, 'pg_ctl'), ['-D', set.node(name).dataDir, ...args]);
    },
    kill9(name) {
      const pid = Number(fs.readFileSync(path.join(set.node(name).dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      // The backends follow their postmaster; wait until the port is free of it.
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        execFileSync('sleep', ['0.05']);
      }
      try {
        execFileSync('pkill', ['-KILL', '-f', `-D ${set.node(name).dataDir}`]);
      } catch {
        // none left
      }
    },
    destroy() {
      for (const node of nodes) {
        try {
          if (fs.existsSync(path.join(node.dataDir, 'postmaster.pid')))
            asPostgres(path.join(bin, 'pg_ctl'), ['-D', node.dataDir, '-m', 'immediate', '-w', 'stop'], 30_000);
        } catch {
          // already down
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return set;
}

export async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Which node answers as primary now (undefined when none does). */
export async function currentPrimary(set: ReplicatedSet): Promise<Node | undefined> {
  for (const node of set.nodes) {
    try {
      const [row] = await query<{ recovery: boolean }>(node.url, 'select pg_is_in_recovery() as recovery');
      if (!row.recovery) return node;
    } catch {
      // down
    }
  }
  return undefined;
}

/**
 * A writer that keeps a ledger of acknowledged commits: it inserts ids one at a time into
 * `ledger` on whichever node is primary, and records an id only once its COMMIT returned.
 */
export class LedgerWriter {
  readonly acknowledged: number[] = [];
  private next = 1;
  private running = true;
  private done?: Promise<void>;
  /** The longest time between two acknowledged commits while running: write unavailability as the writer sees it. */
  longestGapMs = 0;

  constructor(private readonly set: ReplicatedSet) {}

  static async prepare(set: ReplicatedSet): Promise<void> {
    await query(set.nodes[0].url, 'create table if not exists ledger (id int primary key, at timestamptz default now())');
  }

  start(): void {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    let client: pg.Client | undefined;
    let last = performance.now();
    while (this.running) {
      try {
        if (!client) {
          const primary = await currentPrimary(this.set);
          if (!primary) throw new Error('no primary');
          client = new pg.Client({ connectionString: primary.url, connectionTimeoutMillis: 1000 });
          client.on('error', () => undefined);
          await client.connect();
          const [row] = (await client.query('select pg_is_in_recovery() as r')).rows;
          if (row.r) throw new Error('standby');
        }
        const id = this.next++;
        await client.query('insert into ledger (id) values ($1)', [id]);
        this.acknowledged.push(id);
        const now = performance.now();
        this.longestGapMs = Math.max(this.longestGapMs, now - last);
        last = now;
      } catch {
        await client?.end().catch(() => undefined);
        client = undefined;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await client?.end().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** Acknowledged ids missing on `node`. */
  async missingOn(node: Node): Promise<number[]> {
    const rows = await query<{ id: number }>(node.url, 'select id from ledger');
    const have = new Set(rows.map((row) => row.id));
    return this.acknowledged.filter((id) => !have.has(id));
  }
}
