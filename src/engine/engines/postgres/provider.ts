// PostgreSQL through a `pg` Pool: one pool per store, pre-pinged connections, connect and
// statement timeouts. Admin work (create/drop) uses a short-lived connection to the
// maintenance database, since a database cannot be dropped while connected to it.
import { clearSessions } from './sessions.js';
import type { Client, ClientBase, ClientConfig, Pool, PoolClient, QueryConfig, QueryResult } from 'pg';
import type { ResolvedStore } from '../../config/load.js';
import type { PostgresStoreConfig } from '../../config/schema.js';
import { resolvePassword, type SecretResolver } from '../../config/secrets.js';
import { StorageError } from '../../errors.js';
import { withConnectRetry } from '../connect-retry.js';
import { describeFailure } from '../failures.js';
import { storeTarget, withUrlParts, withoutCredentials } from '../target.js';
import type { DatabaseInfo, DropResult, HealthProbe, PoolStats, Provider, Session, StoreInfo } from '../provider.js';

const APPLICATION_NAME = 'storage-cli';
const PROTECTED_DATABASES = new Set(['postgres', 'template0', 'template1']);
const MAX_DATABASES_COUNTED = 20;
const PREPING_AFTER_IDLE_MS = 5000;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function validateDatabaseName(name: string): void {
  if (!name || Buffer.byteLength(name) > 63 || name.includes('\0')) {
    throw new StorageError('USAGE', `"${name}" is not a valid PostgreSQL database name.`, {
      hint: 'Use 1 to 63 bytes, no NUL characters.',
    });
  }
}

const OBJECT_COUNTS_SQL = `
  select count(*) filter (where c.relkind in ('r','p'))::int as tables,
         count(*) filter (where c.relkind = 'v')::int as views,
         count(*) filter (where c.relkind = 'm')::int as materialized_views,
         count(*) filter (where c.relkind = 'i')::int as indexes,
         count(*) filter (where c.relkind = 'S')::int as sequences,
         (select count(*)::int from pg_namespace
            where nspname not in ('pg_catalog','information_schema') and nspname not like 'pg_toast%' and nspname not like 'pg_temp%') as schemas
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname not in ('pg_catalog','information_schema') and n.nspname not like 'pg_toast%' and n.nspname not like 'pg_temp%'`;

/**
 * Cuts a connection at once, even when the server no longer answers (a stopped or hung server
 * never completes a polite close): its pending query fails with "Connection terminated".
 */
export function cutConnection(client: ClientBase): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** The largest timer Node accepts: a query given this has, in effect, no client-side timeout. */
const NO_QUERY_TIMEOUT = 2_147_483_647;

/** Runs a query without the client-side timeout the pool's clients carry (for work that may rightly take long). */
export function queryWithoutTimeout(client: ClientBase, sql: string): Promise<QueryResult> {
  // pg reads query_timeout per query; its types only know it on the client config.
  return client.query({ text: sql, query_timeout: NO_QUERY_TIMEOUT } as QueryConfig);
}

export class PostgresProvider implements Provider {
  private pool?: Pool;
  private readonly lastUsed = new WeakMap<PoolClient, number>();
  /** Clients that already have an error listener: a checked-out client whose socket fails must not crash the process. */
  private readonly guarded = new WeakSet<PoolClient>();
  private readonly config: PostgresStoreConfig;

  constructor(
    readonly store: ResolvedStore,
    private readonly secrets?: SecretResolver,
  ) {
    this.config = store.config as PostgresStoreConfig;
  }

  /**
   * What an external tool (pg_dump, pg_restore) needs: a URL with no credential in it (its command
   * line is visible in `ps`), and the password for PGPASSWORD, chosen as node-pg chooses it (a
   * `password=` query parameter, then the store's password, then the URL's userinfo).
   */
  async toolConnection(database?: string): Promise<{ url: string; password?: string }> {
    const password = await resolvePassword(this.store, this.secrets);
    const { url, userinfo, query } = withoutCredentials(withUrlParts(this.config.url, { database }));
    return { url, password: query ?? password ?? userinfo };
  }

  private async clientConfig(database?: string): Promise<ClientConfig> {
    const password = await resolvePassword(this.store, this.secrets);
    return {
      connectionString: withUrlParts(this.config.url, { password, database }),
      connectionTimeoutMillis: this.store.connectTimeoutMs,
      statement_timeout: this.store.statementTimeoutMs,
      query_timeout: this.store.statementTimeoutMs + 1000,
      application_name: APPLICATION_NAME,
    };
  }

  /**
   * A connection to another server of this store (a failover member), logging in as the store
   * does; one attempt bounded by the connect timeout, since a member that does not answer is a
   * fact to report, not something to wait out. Statements are bounded by the store's timeout.
   */
  async memberClient(url: string): Promise<Client> {
    const password = await resolvePassword(this.store, this.secrets);
    try {
      return await this.connected({
        connectionString: password === undefined ? url : withUrlParts(withoutCredentials(url).url, { password }),
        connectionTimeoutMillis: this.store.connectTimeoutMs,
        statement_timeout: this.store.statementTimeoutMs,
        query_timeout: this.store.statementTimeoutMs + 1000,
        application_name: APPLICATION_NAME,
      });
    } catch (error) {
      // The failure names the member's address, not the store's own URL.
      throw describeFailure({ ...this.store, config: { ...this.config, url } }, error);
    }
  }

  /** A connected client of its own (not pooled); a failed attempt leaves nothing open. */
  private async connected(config: ClientConfig): Promise<Client> {
    const { default: pg } = await import('pg');
    const client = new pg.Client(config);
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** The store's password as it logs in (for a standby's primary_conninfo, written only into the server's own config). */
  async loginPassword(): Promise<string | undefined> {
    return resolvePassword(this.store, this.secrets);
  }

  private poolReady?: Promise<Pool>;

  /** One pool per store: concurrent first callers share the pool being made. */
  private getPool(): Promise<Pool> {
    this.poolReady ??= (async () => {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ ...(await this.clientConfig()), max: this.store.poolSize, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
      // An idle client's socket error must not crash the process; the next checkout reconnects.
      pool.on('error', () => undefined);
      this.pool = pool;
      return pool;
    })().catch((error) => {
      this.poolReady = undefined;
      throw error;
    });
    return this.poolReady;
  }

  private async acquire(): Promise<PoolClient> {
    const pool = await this.getPool();
    return withConnectRetry(this.store, async () => {
      const client = await pool.connect();
      if (!this.guarded.has(client)) {
        // Without a listener, a server that dies mid-query (pg_ctl stop -m immediate) raises an
        // unhandled 'error' event; the pending query already rejects with the same error.
        client.on('error', () => undefined);
        this.guarded.add(client);
      }
      const idleSince = this.lastUsed.get(client);
      if (idleSince !== undefined && Date.now() - idleSince > PREPING_AFTER_IDLE_MS) {
        try {
          await client.query('select 1');
        } catch (error) {
          client.release(error as Error);
          throw error;
        }
      }
      return client;
    });
  }

  /** Runs work on a pooled connection to the store's own database. */
  async withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    try {
      return await work(client);
    } catch (error) {
      throw describeFailure(this.store, error);
    } finally {
      this.lastUsed.set(client, Date.now());
      client.release();
    }
  }

  /** Runs work on a one-off connection to another database of the same server. */
  async withDatabase<T>(database: string, work: (client: Client) => Promise<T>): Promise<T> {
    const config = await this.clientConfig(database);
    const client = await withConnectRetry(this.store, () => this.connected(config));
    try {
      return await work(client);
    } catch (error) {
      throw describeFailure(this.store, error);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Proves the server still answers: `select 1` on a new connection, within the connect timeout
   * and without retries. Long work (a dump) calls it now and then to notice a server that stopped
   * answering, which an open connection alone would wait on forever.
   */
  async ping(): Promise<void> {
    const { default: pg } = await import('pg');
    const config = await this.clientConfig();
    const client = new pg.Client({ ...config, query_timeout: this.store.connectTimeoutMs });
    client.on('error', () => undefined);
    const deadline = setTimeout(() => cutConnection(client), this.store.connectTimeoutMs + 500);
    try {
      await client.connect();
      await client.query('select 1');
    } catch (error) {
      throw describeFailure(this.store, error);
    } finally {
      clearTimeout(deadline);
      cutConnection(client);
    }
  }

  /** The server's major version (15 for 15.4). */
  async serverMajor(): Promise<number> {
    return this.withClient(async (client) =>
      Math.floor(Number((await client.query<{ n: string }>("select current_setting('server_version_num') as n")).rows[0].n) / 10000),
    );
  }

  async maintenanceDatabase(): Promise<string> {
    return this.withClient(async (client) => {
      const result = await client.query<{ datname: string }>(
        "select datname from pg_database where datname in ('postgres','template1') and datallowconn order by datname = 'postgres' desc limit 1",
      );
      return result.rows[0]?.datname ?? 'postgres';
    });
  }

  async health(): Promise<HealthProbe> {
    return this.withClient(async (client) => {
      const started = process.hrtime.bigint(); // not performance.now(): its first use loads perf_hooks (~1 ms of start-up)
      const result = await client.query<{ version: string; in_recovery: boolean; read_only: string; replicas: number }>(
        `select current_setting('server_version') as version, pg_is_in_recovery() as in_recovery,
                current_setting('default_transaction_read_only') as read_only,
                (select count(*)::int from pg_stat_replication) as replicas`,
      );
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      const row = result.rows[0];
      const role = row.in_recovery ? 'standby' : row.replicas > 0 ? 'primary' : 'standalone';
      return { latencyMs, serverVersion: row.version, role, readOnly: row.in_recovery || row.read_only === 'on' };
    });
  }

  checkDatabaseName(name: string): void {
    validateDatabaseName(name);
  }

  async listDatabases(): Promise<string[]> {
    return this.withClient(async (client) => {
      const result = await client.query<{ datname: string }>('select datname from pg_database where not datistemplate order by datname');
      return result.rows.map((row) => row.datname);
    });
  }

  async info(): Promise<StoreInfo> {
    const { current, version, rows, details } = await this.withClient(async (client) => {
      const meta = await client.query<{ current: string; version: string; max_connections: string; data_checksums: string }>(
        `select current_database() as current, current_setting('server_version') as version,
                current_setting('max_connections') as max_connections, current_setting('data_checksums') as data_checksums`,
      );
      const databases = await client.query<{ datname: string; size: string | null; allow: boolean }>(
        `select datname, case when has_database_privilege(datname, 'CONNECT') then pg_database_size(datname) end::text as size,
                datallowconn and has_database_privilege(datname, 'CONNECT') as allow
           from pg_database where not datistemplate order by datname`,
      );
      const m = meta.rows[0];
      return {
        current: m.current,
        version: m.version,
        rows: databases.rows,
        details: { maxConnections: Number(m.max_connections), dataChecksums: m.data_checksums === 'on' },
      };
    });
    const databases: DatabaseInfo[] = [];
    for (const [index, row] of rows.entries()) {
      let objects: Record<string, number> | null = null;
      if (row.allow && (row.datname === current || index < MAX_DATABASES_COUNTED)) {
        const count = async (client: Pick<Client, 'query'>) => (await client.query(OBJECT_COUNTS_SQL)).rows[0] as Record<string, number>;
        objects = row.datname === current ? await this.withClient(count) : await this.withDatabase(row.datname, count).catch(() => null);
      }
      databases.push({ name: row.datname, sizeBytes: row.size === null ? null : Number(row.size), objects, current: row.datname === current });
    }
    return {
      store: this.store.name,
      engine: 'postgres',
      target: storeTarget(this.store),
      serverVersion: version,
      sizeBytes: databases.reduce((sum, db) => sum + (db.sizeBytes ?? 0), 0),
      databases,
      details,
    };
  }

  async poolStats(): Promise<PoolStats> {
    const { rows, max, reserved } = await this.withClient(async (client) => {
      const states = await client.query<{ state: string; count: number }>(
        `select coalesce(state, 'unknown') as state, count(*)::int as count from pg_stat_activity
          where backend_type = 'client backend' group by 1 order by 1`,
      );
      const settings = await client.query<{ max: string; reserved: string }>(
        "select current_setting('max_connections') as max, current_setting('superuser_reserved_connections') as reserved",
      );
      return { rows: states.rows, max: Number(settings.rows[0].max), reserved: Number(settings.rows[0].reserved) };
    });
    const pool = await this.getPool();
    const server: Record<string, number> = {};
    for (const row of rows) server[row.state] = row.count;
    const used = rows.reduce((sum, row) => sum + row.count, 0);
    return {
      store: this.store.name,
      engine: 'postgres',
      client: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: this.store.poolSize },
      server,
      details: { maxConnections: max, reserved, used, usedPercent: Math.round((used / max) * 1000) / 10 },
      // Superuser slots are not the application's: the limit that matters is max_connections less the reserve.
      capacity: { used, limit: max - reserved, what: 'non-reserved connections' },
    };
  }

  async sessions(database: string): Promise<Session[]> {
    return this.withClient(async (client) => {
      const result = await client.query<{
        pid: number;
        usename: string | null;
        application_name: string | null;
        client_addr: string | null;
        state: string | null;
      }>(
        `select pid, usename, application_name, client_addr::text, state from pg_stat_activity
          where datname = $1 and pid <> pg_backend_pid() order by pid`,
        [database],
      );
      return result.rows.map((row) => ({
        id: String(row.pid),
        user: row.usename,
        application: row.application_name || null,
        client: row.client_addr,
        state: row.state,
      }));
    });
  }

  async createDatabase(name: string): Promise<void> {
    validateDatabaseName(name);
    const existing = await this.listDatabases();
    if (existing.includes(name)) {
      throw new StorageError('ALREADY_EXISTS', `Database "${name}" already exists on store "${this.store.name}".`, {
        hint: 'Choose another name, or drop it first with `storage db drop`.',
      });
    }
    const maintenance = await this.maintenanceDatabase();
    await this.withDatabase(maintenance, (client) => client.query(`create database ${quoteIdent(name)}`));
  }

  async dropDatabase(name: string, options: { force: boolean }): Promise<DropResult> {
    validateDatabaseName(name);
    if (PROTECTED_DATABASES.has(name)) {
      throw new StorageError('PERMISSION_DENIED', `Refusing to drop "${name}": the server needs it for maintenance.`, {
        hint: 'Drop an application database instead.',
      });
    }
    const existing = await this.listDatabases();
    if (!existing.includes(name)) return { database: name, dropped: false, terminatedSessions: 0, reason: 'absent' };
    const maintenance = await this.maintenanceDatabase();
    // Our own pool may be connected to the database being dropped.
    await this.closePool();
    return this.withDatabase(maintenance, async (client) => {
      const terminated = await clearSessions(client, name, { force: options.force, why: '' });
      await client.query(`drop database ${quoteIdent(name)}${options.force ? ' with (force)' : ''}`);
      return { database: name, dropped: true, terminatedSessions: terminated };
    });
  }

  async closePool(): Promise<void> {
    const ready = this.poolReady;
    this.poolReady = undefined;
    this.pool = undefined;
    const pool = await ready?.catch(() => undefined);
    await pool?.end().catch(() => undefined);
  }

  private readonly closers: Array<() => Promise<void>> = [];

  /** Work to do when the provider closes (e.g. a sync run's long-lived connection). */
  onClose(closer: () => Promise<void>): void {
    this.closers.push(closer);
  }

  async close(): Promise<void> {
    for (const closer of this.closers.splice(0)) await closer().catch(() => undefined);
    await this.closePool();
  }
}
