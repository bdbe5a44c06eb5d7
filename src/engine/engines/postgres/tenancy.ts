// Tenants on PostgreSQL: a schema per tenant and (by default) a role per tenant granted that
// schema, a catalog and a migration ledger in the schema `storage_tenancy` of the store's
// database. Provisioning and each tenant's migration are one transaction sent in one round trip
// (all or nothing; `lock_timeout` bounds how long a locked table can hold it up).
import type { PoolClient } from 'pg';
import type { PostgresProvider } from './provider.js';
import { onCleanup } from '../../cleanup.js';
import { StorageError } from '../../errors.js';
import { quoteIdent } from './provider.js';
import type { AppliedMigration, BackedUpTenant, TenancyCapability, TenancySettings, TenantMigration } from '../spec.js';
import { tenantFromRow } from '../../tenant/records.js';

const CATALOG = 'storage_tenancy';
const RESERVED = new Set(['public', 'information_schema', CATALOG]);
/** In the name of a schema a tenant restore moved aside (`<schema>__pre_restore_<time>`). */
const REPLACED_MARK = '__pre_restore_';

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

const ensured = new WeakMap<PostgresProvider, Promise<void>>();

function ensureCatalog(provider: PostgresProvider): Promise<void> {
  let done = ensured.get(provider);
  if (!done) {
    done = provider
      .withClient(async (client) => {
        // One implicit transaction: the advisory lock keeps two first provisions from racing on `create … if not exists`.
        await client.query(`select pg_advisory_xact_lock(hashtext('${CATALOG}'));
          create schema if not exists ${CATALOG};
          create table if not exists ${CATALOG}.tenants (name text primary key, container text not null unique, status text not null default 'active',
            version text, created_at timestamptz not null default now(), migrated_at timestamptz, role boolean not null);
          create table if not exists ${CATALOG}.migrations (tenant text not null references ${CATALOG}.tenants (name) on delete cascade,
            name text not null, checksum text not null, applied_at timestamptz not null default now(), primary key (tenant, name))`);
      })
      .catch((error) => {
        ensured.delete(provider);
        throw error;
      });
    ensured.set(provider, done);
  }
  return done;
}

async function catalogExists(client: PoolClient): Promise<boolean> {
  return Boolean((await client.query(`select to_regclass('${CATALOG}.tenants') as t`)).rows[0].t);
}

/** Sends one transaction as one simple-query string; rolls back (and rethrows) when any statement fails. */
async function inOneTransaction(client: PoolClient, statements: string[]): Promise<void> {
  try {
    await client.query(['begin', ...statements, 'commit'].join(';\n'));
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

function migrationStatements(tenant: string, schema: string, migrations: TenantMigration[], settings: TenancySettings): string[] {
  if (migrations.length === 0) return [];
  return [
    `set local lock_timeout = ${settings.lockTimeoutMs}`,
    `set local search_path to ${quoteIdent(schema)}`,
    ...migrations.map((migration) => migration.body.trim().replace(/;\s*$/, '')),
    `set local search_path to default`,
    `insert into ${CATALOG}.migrations (tenant, name, checksum) values ${migrations.map((m) => `(${literal(tenant)}, ${literal(m.name)}, ${literal(m.checksum)})`).join(', ')}`,
    `update ${CATALOG}.tenants set version = ${literal(migrations.at(-1)!.name)}, migrated_at = now() where name = ${literal(tenant)}`,
  ];
}

function provisionStatements(tenant: { name: string; container: string }, migrations: TenantMigration[], settings: TenancySettings): string[] {
  const schema = quoteIdent(tenant.container);
  const role = settings.roles
    ? [
        `create role ${schema} nologin`,
        `grant usage on schema ${schema} to ${schema}`,
        `alter default privileges in schema ${schema} grant select, insert, update, delete, truncate, references, trigger on tables to ${schema}`,
        `alter default privileges in schema ${schema} grant usage, select, update on sequences to ${schema}`,
        `alter default privileges in schema ${schema} grant execute on functions to ${schema}`,
      ]
    : [];
  return [
    `create schema ${schema}`,
    ...role,
    `insert into ${CATALOG}.tenants (name, container, role) values (${literal(tenant.name)}, ${literal(tenant.container)}, ${settings.roles})`,
    ...migrationStatements(tenant.name, tenant.container, migrations, settings),
  ];
}

export const postgresTenancy: TenancyCapability<PostgresProvider> = {
  strategy: 'schema',
  migrationExtension: '.sql',
  suspendMeans: "the tenant's role loses USAGE on its schema (its data stays; roles granted the tenant role lose access with it)",

  containerProblem(container) {
    if (Buffer.byteLength(container) > 63) return `${Buffer.byteLength(container)} bytes, and PostgreSQL cuts names at 63`;
    if (container.startsWith('pg_')) return 'names starting with pg_ are reserved for the system';
    if (RESERVED.has(container)) return 'that schema name is taken by the server or this tool';
    return undefined;
  },

  async catalog(provider) {
    return provider.withClient(async (client) => {
      if (!(await catalogExists(client))) return [];
      return (await client.query(`select * from ${CATALOG}.tenants order by name`)).rows.map(tenantFromRow);
    });
  },

  async ledger(provider) {
    return provider.withClient(async (client) => {
      if (!(await catalogExists(client))) return [];
      const rows = (await client.query(`select tenant, name, checksum, applied_at from ${CATALOG}.migrations order by tenant, name`)).rows;
      return rows.map((row): AppliedMigration => ({ tenant: row.tenant, name: row.name, checksum: row.checksum, appliedAt: iso(row.applied_at)! }));
    });
  },

  async containers(provider, settings) {
    return provider.withClient(async (client) =>
      (
        await client.query(`select nspname from pg_namespace where left(nspname, length($1)) = $1 and nspname <> $2 and nspname not like 'pg\\_%' order by 1`, [
          settings.prefix,
          CATALOG,
        ])
      ).rows
        .map((row) => row.nspname as string)
        // A schema a tenant restore moved aside is kept data, not a tenant.
        .filter((name) => !RESERVED.has(name) && !name.includes(REPLACED_MARK)),
    );
  },

  async provision(provider, tenant, migrations, settings) {
    await ensureCatalog(provider);
    return provider.withClient(async (client) => {
      await inOneTransaction(client, provisionStatements(tenant, migrations, settings));
      return tenantFromRow((await client.query(`select * from ${CATALOG}.tenants where name = $1`, [tenant.name])).rows[0]);
    });
  },

  async provisionGroup(provider, tenants, migrations, settings) {
    await ensureCatalog(provider);
    await provider.withClient((client) =>
      inOneTransaction(
        client,
        tenants.flatMap((tenant) => provisionStatements(tenant, migrations, settings)),
      ),
    );
  },

  async migrate(provider, tenant, pending, settings) {
    await provider.withClient((client) => inOneTransaction(client, migrationStatements(tenant.name, tenant.container, pending, settings)));
  },

  async setStatus(provider, tenant, status) {
    const schema = quoteIdent(tenant.container);
    await provider.withClient(async (client) => {
      const hasRole = (await client.query(`select role from ${CATALOG}.tenants where name = $1`, [tenant.name])).rows[0]?.role;
      await inOneTransaction(client, [
        ...(hasRole ? [status === 'suspended' ? `revoke usage on schema ${schema} from ${schema}` : `grant usage on schema ${schema} to ${schema}`] : []),
        `update ${CATALOG}.tenants set status = ${literal(status)} where name = ${literal(tenant.name)}`,
      ]);
    });
  },

  async drop(provider, tenant) {
    const schema = quoteIdent(tenant.container);
    await provider.withClient(async (client) => {
      const hasRole = (await client.query(`select role from ${CATALOG}.tenants where name = $1`, [tenant.name])).rows[0]?.role;
      const roleExists = hasRole && (await client.query(`select 1 from pg_roles where rolname = $1`, [tenant.container])).rowCount;
      await inOneTransaction(client, [
        `drop schema if exists ${schema} cascade`,
        ...(roleExists ? [`drop owned by ${schema}`, `drop role ${schema}`] : []),
        `delete from ${CATALOG}.tenants where name = ${literal(tenant.name)}`,
      ]);
    });
  },

  async stats(provider, tenant) {
    return provider.withClient(async (client) => {
      const tables = (
        await client.query(
          `select c.relname, pg_total_relation_size(c.oid)::int8 as bytes from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = $1 and c.relkind in ('r', 'p') order by 1`,
          [tenant.container],
        )
      ).rows;
      const rows: Record<string, number> = {};
      for (const table of tables)
        rows[table.relname] = Number(
          (await client.query(`select count(*)::int8 as n from ${quoteIdent(tenant.container)}.${quoteIdent(table.relname)}`)).rows[0].n,
        );
      return { bytes: tables.reduce((sum, table) => sum + Number(table.bytes), 0), rows };
    });
  },

  async dumpTenant(context, tenant) {
    const { dumpPostgres } = await import('./backup.js');
    return dumpPostgres(context, tenant.container);
  },

  // The schema it has now is renamed aside (kept, its role's USAGE revoked), the archive's schema
  // is restored in one transaction (pg_restore --single-transaction: all or nothing) with its
  // grants (the tenant's role is created first when missing), and the catalog and ledger are set
  // to the backup's in one transaction. Any failure drops what was restored and renames the
  // previous schema back, with its grant.
  async restoreTenant(context) {
    const { manifest, dir, key, provider, tenant, current, previous, settings, progress } = context;
    const { checkArchive, pgRestoreInto } = await import('./backup.js');
    const schema = quoteIdent(tenant.container);
    let done = progress.step('read back and check the archive');
    await checkArchive({ manifest, dir, key });
    done();
    await ensureCatalog(provider);
    const before = await provider.withClient(async (client) => {
      const existing = current?.container ?? tenant.container;
      const has = await client.query(
        `select (select 1 from pg_namespace where nspname = $1) is not null as schema, (select 1 from pg_namespace where nspname = $2) is not null as taken,
                (select 1 from pg_roles where rolname = $2) is not null as role`,
        [existing, tenant.container],
      );
      const row = has.rows[0] as { schema: boolean; taken: boolean; role: boolean };
      const granted =
        row.schema &&
        Boolean(
          (
            await client.query(
              `select 1 from pg_roles r where r.rolname = $2 and has_schema_privilege(r.oid, (select oid from pg_namespace where nspname = $1), 'USAGE')`,
              [existing, existing],
            )
          ).rowCount,
        );
      return { existing: row.schema ? existing : undefined, taken: row.taken && existing !== tenant.container, role: row.role, granted };
    });
    if (before.taken)
      throw new StorageError('ALREADY_EXISTS', `Schema "${tenant.container}" exists but is not tenant "${tenant.name}"'s container; nothing was restored.`, {
        hint: 'Move it away (or drop it), then restore again.',
      });
    const createRole = settings.roles && !before.role;
    // The grants come back with the schema (its role exists now); without a role per tenant they would name a missing one.
    const roleExists = before.role || createRole;
    const facts: RestoreFacts = { existing: before.existing ?? null, granted: before.granted, createdRole: createRole, roleExists };
    context.journal({ ...facts });
    done = progress.step(before.existing ? `move schema "${before.existing}" aside as "${previous}"` : 'prepare');
    await provider.withClient((client) =>
      inOneTransaction(client, [
        ...(before.existing ? [`alter schema ${quoteIdent(before.existing)} rename to ${quoteIdent(previous)}`] : []),
        ...(before.existing && before.granted ? [`revoke usage on schema ${quoteIdent(previous)} from ${quoteIdent(before.existing)}`] : []),
        ...(createRole ? [`create role ${schema} nologin`] : []),
      ]),
    );
    done();
    const undo = () => rollBack(provider, tenant.container, previous, facts);
    // An interrupted restore (SIGINT/SIGTERM) is undone the same way before the tool exits.
    const unregister = onCleanup(`put schema "${before.existing ?? tenant.container}" back as it was before the tenant restore`, undo);
    try {
      done = progress.step(`pg_restore schema "${tenant.container}" (one transaction)`);
      await pgRestoreInto(provider, { manifest, dir, key }, ['--single-transaction', '--no-owner', ...(roleExists ? [] : ['--no-privileges'])]);
      done();
      done = progress.step('put the tenant back in the catalog');
      await register(provider, tenant, roleExists);
      done(before.existing ? `the replaced schema is kept as "${previous}"` : undefined);
    } catch (error) {
      await undo().catch((undoError: unknown) =>
        progress.warn(`Could not put schema "${before.existing ?? tenant.container}" back as it was: ${(undoError as Error).message}`),
      );
      throw error;
    } finally {
      unregister();
    }
    return { previous: before.existing ? previous : undefined };
  },

  // The restored schema exists only if pg_restore's one transaction committed: then the restore is
  // finished (the catalog set as the backup recorded it); otherwise it is rolled back (the schema
  // moved aside renamed back, with its grant). Nothing moved aside and nothing restored: nothing to do.
  async settleTenantRestore(provider, entry) {
    const facts = entry.facts as unknown as RestoreFacts;
    const { container } = entry.tenant;
    await ensureCatalog(provider);
    const { exists, role } = await provider.withClient(async (client) => {
      const found = await client.query<{ nspname: string }>('select nspname from pg_namespace where nspname = any($1)', [[container, entry.previous]]);
      const roles = await client.query('select 1 from pg_roles where rolname = $1', [container]);
      return { exists: new Set(found.rows.map((row) => row.nspname)), role: (roles.rowCount ?? 0) > 0 };
    });
    const movedAside = facts.existing !== null && exists.has(entry.previous);
    if (exists.has(container) && (facts.existing === null || movedAside)) {
      await register(provider, entry.tenant, facts.roleExists);
      return `finished: its data had been restored; the catalog now says what backup ${entry.backup} recorded${movedAside ? `, and the replaced schema is kept as "${entry.previous}"` : ''}`;
    }
    if (facts.existing !== null && !movedAside) return 'nothing to undo: it was stopped before it changed anything';
    // A role it was to create exists only if its first step committed.
    await rollBack(provider, container, entry.previous, { ...facts, createdRole: facts.createdRole && role });
    return facts.existing === null
      ? 'rolled back: nothing of the backup had been restored'
      : `rolled back: nothing of the backup had been restored, and schema "${facts.existing}" is back as it was`;
  },
};

/** What a tenant restore changes before its data is restored: what settling or undoing it needs. */
interface RestoreFacts {
  /** The tenant's schema that is moved aside (null: there was none). */
  existing: string | null;
  /** Its role had USAGE on it (revoked while it is aside). */
  granted: boolean;
  /** The restore created the tenant's role. */
  createdRole: boolean;
  /** The tenant's role exists for the restored schema's grants. */
  roleExists: boolean;
}

/** Sets the catalog and ledger to what the backup recorded for the tenant (a dropped tenant is registered again); one transaction, and idempotent. */
async function register(provider: PostgresProvider, tenant: BackedUpTenant, roleExists: boolean): Promise<void> {
  await provider.withClient((client) =>
    inOneTransaction(client, [
      `delete from ${CATALOG}.tenants where name = ${literal(tenant.name)}`,
      `insert into ${CATALOG}.tenants (name, container, status, version, created_at, migrated_at, role) values (${[
        literal(tenant.name),
        literal(tenant.container),
        literal(tenant.status),
        tenant.version === null ? 'null' : literal(tenant.version),
        literal(tenant.createdAt),
        tenant.migratedAt === null ? 'null' : literal(tenant.migratedAt),
        String(roleExists),
      ].join(', ')})`,
      ...(tenant.ledger.length
        ? [
            `insert into ${CATALOG}.migrations (tenant, name, checksum, applied_at) values ${tenant.ledger
              .map((m) => `(${literal(tenant.name)}, ${literal(m.name)}, ${literal(m.checksum)}, ${literal(m.appliedAt)})`)
              .join(', ')}`,
          ]
        : []),
    ]),
  );
}

/** Drops what was restored (if anything) and renames the schema that was moved aside back, with its grant; one transaction. */
async function rollBack(provider: PostgresProvider, container: string, previous: string, facts: RestoreFacts): Promise<void> {
  const schema = quoteIdent(container);
  await provider.withClient((client) =>
    inOneTransaction(client, [
      `drop schema if exists ${schema} cascade`,
      ...(facts.existing !== null ? [`alter schema ${quoteIdent(previous)} rename to ${quoteIdent(facts.existing)}`] : []),
      ...(facts.existing !== null && facts.granted ? [`grant usage on schema ${quoteIdent(facts.existing)} to ${quoteIdent(facts.existing)}`] : []),
      ...(facts.createdRole ? [`drop owned by ${schema}`, `drop role if exists ${schema}`] : []),
    ]),
  );
}
