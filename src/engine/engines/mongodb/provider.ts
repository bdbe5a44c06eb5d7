// MongoDB through one MongoClient per store. The driver keeps its own pool; this provider counts
// its connections from the driver's pool events so `db pools` can show them. Works against
// FerretDB v1 (no replica sets, no transactions).
import type { Collection, Document, MongoClient } from 'mongodb';
import type { MongoStoreConfig } from '../../config/schema.js';
import { envPrefix, type ResolvedStore } from '../../config/load.js';
import { resolvePassword, type SecretResolver } from '../../config/secrets.js';
import { parseStoreUrl } from '../../config/store-url.js';
import { StorageError } from '../../errors.js';
import { withConnectRetry } from '../connect-retry.js';
import { describeFailure } from '../failures.js';
import { storeTarget, withUrlParts } from '../target.js';
import type { DatabaseInfo, DropResult, HealthProbe, PoolStats, Provider, Session, StoreInfo } from '../provider.js';

const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);
/** MongoDB has no empty databases: `db create` makes one by creating this collection in it. */
export const CREATE_MARKER_COLLECTION = '_storage_created';

/** A database's own collections (no system.* collections, no views), by name. */
export async function userCollections(client: MongoClient, database: string): Promise<Document[]> {
  const infos = await client.db(database).listCollections({}, { nameOnly: false }).toArray();
  return infos
    .filter((info) => !String(info.name).startsWith('system.') && (info.type ?? 'collection') === 'collection')
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

/** Recreates index definitions (as listIndexes reports them) on a collection; returns how many. */
export async function createIndexesLike(target: Collection, indexes: Document[]): Promise<number> {
  const wanted = indexes.filter((index) => index.name !== '_id_');
  if (wanted.length > 0) await target.createIndexes(wanted.map(({ v: _v, ns: _ns, ...index }) => index as never));
  return wanted.length;
}

function validateDatabaseName(name: string): void {
  if (!name || name.length > 63 || /[/\\. "$*<>:|?\0]/.test(name)) {
    throw new StorageError('USAGE', `"${name}" is not a valid MongoDB database name.`, {
      hint: 'Use up to 63 characters without / \\ . " $ * < > : | ? or spaces.',
    });
  }
}

export class MongoProvider implements Provider {
  /** The connection being made, so concurrent callers share one client instead of each making one. */
  private connecting?: Promise<MongoClient>;
  private readonly counters = { total: 0, checkedOut: 0, waiting: 0 };
  private readonly config: MongoStoreConfig;

  constructor(
    readonly store: ResolvedStore,
    private readonly secrets?: SecretResolver,
  ) {
    this.config = store.config as MongoStoreConfig;
  }

  /** The database the store's URL names (the config schema requires one: the driver's silent default `test` is never used). */
  get defaultDatabase(): string {
    const name = parseStoreUrl(this.config.url)?.database;
    if (!name) {
      throw new StorageError('CONFIG_INVALID', `Store "${this.store.name}" has a MongoDB url that names no database.`, {
        hint: `Add the database to the url's path, e.g. mongodb://HOST:27017/DATABASE (or in ${envPrefix(this.store.name)}URL).`,
        details: { store: this.store.name },
      });
    }
    return name;
  }

  /** The same store and connection with `database` as the one a backup or restore works on (a tenant's database); get the client first. */
  onDatabase(database: string): MongoProvider {
    const view = Object.create(this) as MongoProvider;
    Object.defineProperty(view, 'defaultDatabase', { get: () => database });
    return view;
  }

  getClient(): Promise<MongoClient> {
    this.connecting ??= this.connect().catch((error) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  private async connect(): Promise<MongoClient> {
    const { MongoClient } = await import('mongodb');
    const password = await resolvePassword(this.store, this.secrets);
    const url = password === undefined ? this.config.url : withUrlParts(this.config.url, { password });
    const client = new MongoClient(url, {
      maxPoolSize: this.store.poolSize,
      serverSelectionTimeoutMS: this.store.connectTimeoutMs,
      connectTimeoutMS: this.store.connectTimeoutMs,
      socketTimeoutMS: this.store.statementTimeoutMs,
      appName: 'storage-cli',
    });
    client.on('connectionCreated', () => this.counters.total++);
    client.on('connectionClosed', () => (this.counters.total = Math.max(0, this.counters.total - 1)));
    client.on('connectionCheckOutStarted', () => this.counters.waiting++);
    client.on('connectionCheckOutFailed', () => (this.counters.waiting = Math.max(0, this.counters.waiting - 1)));
    client.on('connectionCheckedOut', () => {
      this.counters.waiting = Math.max(0, this.counters.waiting - 1);
      this.counters.checkedOut++;
    });
    client.on('connectionCheckedIn', () => (this.counters.checkedOut = Math.max(0, this.counters.checkedOut - 1)));
    await withConnectRetry(this.store, async () => {
      await client.connect();
    }).catch(async (error) => {
      await client.close().catch(() => undefined);
      throw error;
    });
    return client;
  }

  /** Runs a command, mapping driver failures to StorageErrors. */
  private async run<T>(work: (client: MongoClient) => Promise<T>): Promise<T> {
    const client = await this.getClient();
    try {
      return await work(client);
    } catch (error) {
      throw describeFailure(this.store, error);
    }
  }

  async health(): Promise<HealthProbe> {
    return this.run(async (client) => {
      const admin = client.db('admin');
      const started = process.hrtime.bigint(); // not performance.now(): its first use loads perf_hooks (~1 ms of start-up)
      const hello = await admin.command({ hello: 1 });
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      const build = await admin.command({ buildInfo: 1 });
      const ferret =
        build.ferretdbVersion && build.ferretdbVersion !== 'unknown' ? ` (FerretDB ${build.ferretdbVersion})` : build.ferretdbVersion ? ' (FerretDB)' : '';
      const version = String(build.version ?? 'unknown') + ferret;
      const inSet = typeof hello.setName === 'string';
      const role = !inSet ? 'standalone' : hello.isWritablePrimary ? 'primary' : 'standby';
      return { latencyMs, serverVersion: version, role, readOnly: Boolean(hello.readOnly) || (inSet && !hello.isWritablePrimary) };
    });
  }

  checkDatabaseName(name: string): void {
    validateDatabaseName(name);
  }

  async listDatabases(): Promise<string[]> {
    return this.run(async (client) => {
      const result = await client.db('admin').admin().listDatabases({ nameOnly: true });
      return result.databases.map((db) => db.name).sort();
    });
  }

  async info(): Promise<StoreInfo> {
    return this.run(async (client) => {
      const admin = client.db('admin');
      const build = await admin.command({ buildInfo: 1 });
      const listed = await admin.admin().listDatabases();
      const databases: DatabaseInfo[] = [];
      for (const entry of listed.databases.sort((a, b) => a.name.localeCompare(b.name))) {
        let objects: Record<string, number> | null = null;
        try {
          const stats: Document = await client.db(entry.name).command({ dbStats: 1 });
          objects = { collections: Number(stats.collections ?? 0), documents: Number(stats.objects ?? 0), indexes: Number(stats.indexes ?? 0) };
        } catch {
          objects = null;
        }
        databases.push({ name: entry.name, sizeBytes: entry.sizeOnDisk ?? null, objects, current: entry.name === this.defaultDatabase });
      }
      return {
        store: this.store.name,
        engine: 'mongodb',
        target: storeTarget(this.store),
        serverVersion: String(build.version ?? 'unknown'),
        sizeBytes: Number(listed.totalSize ?? databases.reduce((sum, db) => sum + (db.sizeBytes ?? 0), 0)),
        databases,
        details: { ferretdb: build.ferretdbVersion ? String(build.ferretdbVersion) : null },
      };
    });
  }

  async poolStats(): Promise<PoolStats> {
    return this.run(async (client) => {
      let status: Document = {};
      try {
        status = await client.db('admin').command({ serverStatus: 1 });
      } catch {
        // Some servers restrict serverStatus; the client side is still worth showing.
      }
      const connections = (status.connections ?? {}) as Record<string, unknown>;
      const server: Record<string, number> = {};
      for (const key of ['current', 'available', 'active', 'totalCreated']) {
        if (typeof connections[key] === 'number') server[key] = connections[key] as number;
      }
      const { total, checkedOut, waiting } = this.counters;
      return {
        store: this.store.name,
        engine: 'mongodb',
        client: { total, idle: Math.max(0, total - checkedOut), waiting, max: this.store.poolSize },
        server,
        capacity:
          server.current !== undefined && server.available !== undefined
            ? { used: server.current, limit: server.current + server.available, what: 'connections' }
            : { unknown: 'the server does not report its connections (serverStatus.connections)' },
        details: { serverReportsConnections: Object.keys(server).length > 0 },
      };
    });
  }

  async sessions(): Promise<Session[]> {
    // MongoDB does not tie connections to a database; there is nothing to list per database.
    return [];
  }

  async createDatabase(name: string): Promise<void> {
    validateDatabaseName(name);
    if ((await this.listDatabases()).includes(name)) {
      throw new StorageError('ALREADY_EXISTS', `Database "${name}" already exists on store "${this.store.name}".`, {
        hint: 'Choose another name, or drop it first with `storage db drop`.',
      });
    }
    await this.run((client) => client.db(name).createCollection(CREATE_MARKER_COLLECTION));
  }

  async dropDatabase(name: string): Promise<DropResult> {
    validateDatabaseName(name);
    if (SYSTEM_DATABASES.has(name)) {
      throw new StorageError('PERMISSION_DENIED', `Refusing to drop "${name}": it is a MongoDB system database.`, {
        hint: 'Drop an application database instead.',
      });
    }
    if (!(await this.listDatabases()).includes(name)) return { database: name, dropped: false, terminatedSessions: 0, reason: 'absent' };
    await this.run((client) => client.db(name).dropDatabase());
    return { database: name, dropped: true, terminatedSessions: 0 };
  }

  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = undefined;
    const client = await connecting?.catch(() => undefined);
    await client?.close().catch(() => undefined);
  }
}
