// Tenants on MongoDB (and FerretDB): a database per tenant on the store's server, a catalog
// (`storage_tenants`, one document per tenant, its name as _id) and a migration ledger
// (`storage_tenant_migrations`, _id tenant/migration, written once a migration is done) in the
// store's own database. Migrations are declarative JSON steps (tenancy-steps.ts), each idempotent.
// There are no transactions to hold a migration together, so the tenant's catalog document
// records its progress step by step (`progress`: migration, checksum, steps done of how many): a
// run cut short resumes at the step it was in (run again whole, which is harmless), never
// replaying the steps before it (a rename after a default of the old name, replayed, would
// overwrite the renamed values). The last step's progress and the catalog's version are one write;
// then the ledger entry: a crash between the two leaves the migration pending with no step left to
// run, and the next migrate only records it. Progress lives in the catalog document because it is
// found by _id (FerretDB scans a collection for any other filter).
// With `roles` (the default) each tenant has a role of its database's name (readWrite on it) that
// suspend revokes; servers without role management (FerretDB v1) are refused at provision time
// unless `tenancy.roles: false`, where suspend only marks the catalog.
import type { Db, MongoClient } from 'mongodb';
import type { MongoProvider } from './provider.js';
import { CREATE_MARKER_COLLECTION, userCollections } from './provider.js';
import { parseSteps, runStep } from './tenancy-steps.js';
import type { AppliedMigration, TenancyCapability, TenancySettings, TenantMigration, TenantRecord } from '../spec.js';
import { StorageError } from '../../errors.js';
import { describeFailure } from '../failures.js';

const TENANTS = 'storage_tenants';
const LEDGER = 'storage_tenant_migrations';
const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);
/** What FerretDB v1 takes as a database name (MongoDB itself takes more, but not portably). */
const PORTABLE = /^[A-Za-z0-9_-]+$/;
const COMMAND_NOT_FOUND = 59;
const ROLE_NOT_FOUND = 31;
/** Role already exists (and DuplicateKey, as some versions say it). */
const ROLE_EXISTS = new Set([51002, 11000]);

interface TenantDocument {
  _id: string;
  container: string;
  status: TenantRecord['status'];
  version: string | null;
  createdAt: Date;
  migratedAt: Date | null;
  /** Whether the tenant has a role (tenancy.roles when it was created). */
  role: boolean;
  /** The migration being (or last) applied: steps done of how many, and the checksum of the file they came from. */
  progress?: { migration: string; checksum: string; steps: number; of: number };
}

interface LedgerDocument {
  _id: string;
  tenant: string;
  name: string;
  checksum: string;
  appliedAt: Date;
}

const codeOf = (error: unknown) => (error as { code?: unknown })?.code;
const ledgerId = (tenant: string, migration: string) => `${tenant}/${migration}`;

function record(doc: TenantDocument): TenantRecord {
  return {
    name: doc._id,
    container: doc.container,
    status: doc.status,
    version: doc.version ?? null,
    createdAt: new Date(doc.createdAt).toISOString(),
    migratedAt: doc.migratedAt ? new Date(doc.migratedAt).toISOString() : null,
  };
}

/** Runs work with the store's client and its own database, mapping driver failures to StorageErrors. */
async function withStore<T>(provider: MongoProvider, work: (client: MongoClient, home: Db) => Promise<T>): Promise<T> {
  const client = await provider.getClient();
  try {
    return await work(client, client.db(provider.defaultDatabase));
  } catch (error) {
    throw describeFailure(provider.store, error);
  }
}

const readWrite = (container: string) => [{ role: 'readWrite', db: container }];

/** Applies pending migrations to a tenant database, recording progress after each step (see the top of this file). */
async function apply(
  client: MongoClient,
  home: Db,
  tenant: { name: string; container: string; fresh: boolean; provisioning?: boolean },
  pending: TenantMigration[],
): Promise<void> {
  const db = client.db(tenant.container);
  const catalog = home.collection<TenantDocument>(TENANTS);
  const ledger = home.collection<LedgerDocument>(LEDGER);
  // MongoDB has no empty databases: the marker keeps a tenant without collections listed.
  if (tenant.fresh)
    await db.createCollection(CREATE_MARKER_COLLECTION).catch((error) => {
      if (codeOf(error) !== 48) throw error;
    });
  if (pending.length === 0) return;
  const progress = tenant.provisioning ? undefined : (await catalog.findOne({ _id: tenant.name }, { projection: { progress: 1 } }))?.progress;
  if (progress && progress.steps < progress.of && !pending.some((m) => m.name === progress.migration))
    throw new StorageError(
      'REFUSED',
      `Migration ${progress.migration} was cut short for ${tenant.name} after step ${progress.steps} of ${progress.of}, and its file is gone or renamed.`,
      { hint: `Put ${progress.migration}.json back as it was and run migrate again: it resumes at step ${progress.steps + 1}.` },
    );
  for (const migration of pending) {
    const steps = parseSteps(migration);
    let from = 0;
    if (progress?.migration === migration.name) {
      if (progress.checksum !== migration.checksum)
        throw new StorageError(
          'REFUSED',
          `Migration ${migration.name} was cut short for ${tenant.name} after step ${progress.steps} of ${progress.of}, and its file changed since.`,
          {
            hint: `Put ${migration.name}.json back as it was and run migrate again (it resumes at step ${progress.steps + 1}); put further changes in a new file.`,
          },
        );
      from = Math.min(progress.steps, steps.length);
    }
    const mark = (done: number) => ({ migration: migration.name, checksum: migration.checksum, steps: done, of: steps.length });
    const now = new Date();
    // The last step's progress carries the version: one write, so a migration with every step done always says so.
    const finish = { version: migration.name, migratedAt: now };
    if (from === steps.length) await catalog.updateOne({ _id: tenant.name }, { $set: { progress: mark(steps.length), ...finish } });
    for (let at = from; at < steps.length; at++) {
      await runStep(db, steps[at]);
      await catalog.updateOne({ _id: tenant.name }, { $set: { progress: mark(at + 1), ...(at + 1 === steps.length ? finish : {}) } });
    }
    await ledger.updateOne(
      { _id: ledgerId(tenant.name, migration.name) },
      { $set: { tenant: tenant.name, name: migration.name, checksum: migration.checksum, appliedAt: now } },
      { upsert: true },
    );
  }
}

/** Grants or revokes the tenant role's readWrite on its database. */
async function roleCommand(client: MongoClient, command: Record<string, unknown>): Promise<void> {
  await client.db('admin').command(command);
}

export const mongoTenancy: TenancyCapability<MongoProvider> = {
  strategy: 'database',
  migrationExtension: '.json',
  suspendMeans:
    "the tenant's role (named like its database) loses readWrite on its database, so users granted that role are refused; with tenancy.roles: false only its catalog entry (storage_tenants) says suspended, which the application must check",

  containerProblem(container) {
    if (Buffer.byteLength(container) > 63) return `${Buffer.byteLength(container)} bytes, and MongoDB database names are at most 63`;
    if (SYSTEM_DATABASES.has(container)) return 'admin, local and config are the server’s own databases';
    if (!PORTABLE.test(container))
      return 'database names are kept to ASCII letters, digits, _ and - here (FerretDB refuses other characters, and MongoDB tools write database names as file names)';
    return undefined;
  },

  checkMigration(migration) {
    parseSteps(migration);
  },

  async catalog(provider) {
    return withStore(provider, async (_client, home) =>
      (
        await home
          .collection<TenantDocument>(TENANTS)
          .find({}, { sort: { _id: 1 } })
          .toArray()
      ).map(record),
    );
  },

  async ledger(provider) {
    return withStore(provider, async (_client, home) =>
      (
        await home
          .collection<LedgerDocument>(LEDGER)
          .find({}, { sort: { _id: 1 }, projection: { tenant: 1, name: 1, checksum: 1, appliedAt: 1 } })
          .toArray()
      ).map((doc): AppliedMigration => ({ tenant: doc.tenant, name: doc.name, checksum: doc.checksum, appliedAt: new Date(doc.appliedAt).toISOString() })),
    );
  },

  async containers(provider, settings) {
    const home = provider.defaultDatabase;
    return (await provider.listDatabases()).filter((name) => name.startsWith(settings.prefix) && name !== home && !SYSTEM_DATABASES.has(name)).sort();
  },

  async provision(provider, tenant, migrations, settings: TenancySettings) {
    return withStore(provider, async (client, home) => {
      if (tenant.container === home.databaseName)
        throw new StorageError('USAGE', `Tenant "${tenant.name}" would be kept in ${tenant.container}, the store's own database (it holds the catalog).`, {
          hint: 'Choose another tenant name or tenancy.prefix.',
        });
      const found = await client.db(tenant.container).listCollections({}, { nameOnly: true }).toArray();
      if (found.length)
        throw new StorageError('ALREADY_EXISTS', `Database ${tenant.container} exists but the catalog has no tenant "${tenant.name}".`, {
          hint: 'Drop or rename that database (it is not a tenant this tool made, or its tenant was forgotten), then create the tenant again.',
        });
      if (settings.roles) {
        try {
          await roleCommand(client, { createRole: tenant.container, privileges: [], roles: readWrite(tenant.container) });
        } catch (error) {
          if (codeOf(error) === COMMAND_NOT_FOUND)
            throw new StorageError(
              'UNSUPPORTED',
              `This server has no role management (createRole: no such command; FerretDB v1 has none), so tenant roles cannot be made: set tenancy.roles: false in the config to keep tenants without roles (suspend then only marks the catalog, which the application must check)`,
              { hint: 'Set tenancy.roles: false, or use a MongoDB server with role management.' },
            );
          if (!ROLE_EXISTS.has(codeOf(error) as number)) throw error; // left by a create cut short: it is this tenant's
        }
      }
      const createdAt = new Date();
      await home
        .collection<TenantDocument>(TENANTS)
        .insertOne({ _id: tenant.name, container: tenant.container, status: 'active', version: null, createdAt, migratedAt: null, role: settings.roles });
      await apply(client, home, { ...tenant, fresh: true, provisioning: true }, migrations);
      return record({
        _id: tenant.name,
        container: tenant.container,
        status: 'active',
        version: migrations.at(-1)?.name ?? null,
        createdAt,
        migratedAt: migrations.length ? new Date() : null,
        role: settings.roles,
      });
    });
  },

  async migrate(provider, tenant, pending) {
    await withStore(provider, (client, home) =>
      apply(client, home, { name: tenant.name, container: tenant.container, fresh: tenant.version === null }, pending),
    );
  },

  async setStatus(provider, tenant, status) {
    await withStore(provider, async (client, home) => {
      const catalog = home.collection<TenantDocument>(TENANTS);
      const doc = await catalog.findOne({ _id: tenant.name }, { projection: { role: 1 } });
      if (doc?.role)
        await roleCommand(
          client,
          status === 'suspended'
            ? { revokeRolesFromRole: tenant.container, roles: readWrite(tenant.container) }
            : { grantRolesToRole: tenant.container, roles: readWrite(tenant.container) },
        );
      await catalog.updateOne({ _id: tenant.name }, { $set: { status } });
    });
  },

  async drop(provider, tenant) {
    await withStore(provider, async (client, home) => {
      const catalog = home.collection<TenantDocument>(TENANTS);
      const doc = await catalog.findOne({ _id: tenant.name }, { projection: { role: 1 } });
      await client.db(tenant.container).dropDatabase();
      if (doc?.role)
        await roleCommand(client, { dropRole: tenant.container }).catch((error) => {
          if (codeOf(error) !== ROLE_NOT_FOUND) throw error;
        });
      // The catalog entry goes last: a drop cut short is still listed, and dropping it again finishes it.
      await home.collection<LedgerDocument>(LEDGER).deleteMany({ tenant: tenant.name });
      await catalog.deleteOne({ _id: tenant.name });
    });
  },

  // A tenant backup is a mongodump of its database (the store's backup with that database).
  async dumpTenant(context, tenant) {
    const { mongoBackup } = await import('./backup.js');
    await context.provider.getClient();
    return mongoBackup.dump({ ...context, provider: context.provider.onDatabase(tenant.container) });
  },

  // MongoDB cannot rename a database, so a tenant is restored only where its database is gone (a
  // dropped tenant): written in place, marked unfinished until done (a failure drops it again), then
  // registered in the catalog and ledger as the backup recorded it.
  async restoreTenant({ manifest, dir, key, provider, tenant, scratch, progress }) {
    const { mongoBackup } = await import('./backup.js');
    await withStore(provider, async (client) => {
      if ((await client.db(tenant.container).listCollections({}, { nameOnly: true }).toArray()).length)
        throw new StorageError(
          'UNSUPPORTED',
          `Tenant "${tenant.name}"'s database ${tenant.container} exists: MongoDB cannot rename a database, so it cannot be set aside and replaced safely.`,
          {
            hint: `Drop the tenant first (\`storage tenant drop ${tenant.name}\` backs it up), then restore this backup.`,
          },
        );
    });
    await mongoBackup.restore({
      manifest,
      dir,
      key,
      store: provider.store,
      provider,
      database: tenant.container,
      staged: tenant.container,
      force: false,
      journal: () => undefined,
      scratch,
      progress,
    });
    await withStore(provider, async (_client, home) => {
      const doc: TenantDocument = {
        _id: tenant.name,
        container: tenant.container,
        status: tenant.status,
        version: tenant.version,
        createdAt: new Date(tenant.createdAt),
        migratedAt: tenant.migratedAt ? new Date(tenant.migratedAt) : null,
        role: false,
      };
      await home.collection<TenantDocument>(TENANTS).replaceOne({ _id: tenant.name }, doc, { upsert: true });
      const ledger = home.collection<LedgerDocument>(LEDGER);
      await ledger.deleteMany({ tenant: tenant.name });
      if (tenant.ledger.length)
        await ledger.insertMany(
          tenant.ledger.map((entry) => ({
            _id: ledgerId(tenant.name, entry.name),
            tenant: tenant.name,
            name: entry.name,
            checksum: entry.checksum,
            appliedAt: new Date(entry.appliedAt),
          })),
        );
    });
    return {};
  },

  async stats(provider, tenant) {
    return withStore(provider, async (client) => {
      const db = client.db(tenant.container);
      const stats = await db.command({ dbStats: 1, scale: 1 });
      const bytes = Number(stats.totalSize ?? Number(stats.storageSize ?? stats.dataSize ?? 0) + Number(stats.indexSize ?? 0));
      const rows: Record<string, number> = {};
      for (const info of await userCollections(client, tenant.container)) {
        const name = String(info.name);
        if (name !== CREATE_MARKER_COLLECTION) rows[name] = await db.collection(name).countDocuments();
      }
      return { bytes, rows };
    });
  },
};
