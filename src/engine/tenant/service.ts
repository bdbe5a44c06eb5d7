// The tenant topic: one schema (PostgreSQL), database (MongoDB) or file (SQLite) per tenant, a
// catalog and a migration ledger kept in the store itself. Creating provisions and migrates in one
// step; migrate-all reads the catalog and the ledger once (not per tenant), runs canaries first,
// then the rest on at most N connections, each tenant in its own transaction with a lock timeout.
// The engines' parts are their `tenancy` capability; nothing here knows which engine answers.
import { configRelative, type ResolvedStore } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import type { AppliedMigration, TenancyCapability, TenancySettings, TenantMigration, TenantRecord } from '../engines/spec.js';
import type { Provider } from '../engines/provider.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { silentProgress, type Progress } from '../progress.js';
import { loadMigrations, pendingFor, type LedgerProblem } from './migrations.js';
import { checkTenantName } from './names.js';
import { withStoreLock } from '../fleet-lock.js';
import { settleTenantRestores } from './restore-journal.js';

export interface Tenancy {
  store: ResolvedStore;
  label: string;
  impl: TenancyCapability;
  provider: Provider;
  settings: TenancySettings;
  migrations: TenantMigration[];
}

export async function openTenancy(fleet: Fleet): Promise<Tenancy> {
  const config = fleet.config.file.tenancy;
  if (!config)
    throw new StorageError('USAGE', 'No tenancy is configured.', {
      hint: 'Add to the config: tenancy: { store: STORE, migrations: DIR } (a PostgreSQL, MongoDB or SQLite store).',
    });
  const { store, spec, impl, provider } = await fleet.capability(config.store, 'tenancy');
  if (config.strategy && config.strategy !== impl.strategy)
    throw new StorageError('CONFIG_INVALID', `tenancy.strategy is ${config.strategy}, but ${spec.label} keeps a tenant per ${impl.strategy}.`, {
      hint: `Set tenancy.strategy: ${impl.strategy} (or leave it out).`,
    });
  const settings: TenancySettings = {
    prefix: config.prefix ?? 't_',
    directory: config.directory ? configRelative(fleet.config, config.directory) : undefined,
    roles: config.roles ?? true,
    lockTimeoutMs: config.lockTimeout ? parseDuration(config.lockTimeout)! : 5000,
  };
  const migrations = loadMigrations(config.migrations ? configRelative(fleet.config, config.migrations) : undefined, impl.migrationExtension);
  for (const migration of migrations) impl.checkMigration?.(migration);
  return { store, label: spec.label, impl, provider, settings, migrations };
}

export function containerOf(tenancy: Tenancy, name: string): string {
  checkTenantName(name);
  const container = `${tenancy.settings.prefix}${name}`;
  const problem = tenancy.impl.containerProblem(container, tenancy.settings);
  if (problem)
    throw new StorageError('USAGE', `Tenant "${name}" cannot be kept in ${tenancy.label} as "${container}": ${problem}.`, {
      hint: 'Choose a shorter or plainer name.',
      details: { tenant: name, container },
    });
  return container;
}

/** Runs `work` on each item with at most `limit` at once; results in input order. */
async function bounded<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>, stop: () => boolean = () => false): Promise<Array<R | undefined>> {
  const results: Array<R | undefined> = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) {
      const at = next++;
      results[at] = await work(items[at]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Tenants provisioned per transaction where the engine can (PostgreSQL): 8 keeps each well under max_locks_per_transaction. */
const GROUP = 8;

export interface TenantOutcome {
  tenant: string;
  outcome: 'created' | 'exists' | 'migrated' | 'current' | 'failed' | 'skipped' | 'would migrate';
  applied?: string[];
  error?: string;
}

async function createTenantsLocked(
  fleet: Fleet,
  names: string[],
  options: { concurrency?: number } = {},
  progress: Progress = silentProgress,
): Promise<TenantOutcome[]> {
  const tenancy = await openTenancy(fleet);
  const containers = new Map<string, string>();
  for (const name of names) {
    if (containers.has(name)) throw new StorageError('USAGE', `Tenant ${name} is named twice.`, { hint: 'Name each tenant once.' });
    containers.set(name, containerOf(tenancy, name)); // every name checked before anything is created
  }
  const known = new Set((await tenancy.impl.catalog(tenancy.provider, tenancy.settings)).map((tenant) => tenant.name));
  const done = progress.step(`create ${names.length} tenant(s) on ${tenancy.store.name}`);
  const outcomes = new Map<string, TenantOutcome>();
  const alone = async (name: string) => {
    try {
      await tenancy.impl.provision(tenancy.provider, { name, container: containers.get(name)! }, tenancy.migrations, tenancy.settings);
      outcomes.set(name, { tenant: name, outcome: 'created', applied: tenancy.migrations.map((m) => m.name) });
    } catch (error) {
      progress.warn(`${name}: ${(error as Error).message}`);
      outcomes.set(name, { tenant: name, outcome: 'failed', error: (error as Error).message });
    }
  };
  for (const name of names) if (known.has(name)) outcomes.set(name, { tenant: name, outcome: 'exists' });
  const todo = names.filter((name) => !known.has(name));
  // Several tenants per transaction where the engine offers it (a commit per group, not per tenant); a group that fails is redone one tenant at a time.
  const groups = tenancy.impl.provisionGroup
    ? Array.from({ length: Math.ceil(todo.length / GROUP) }, (_, i) => todo.slice(i * GROUP, (i + 1) * GROUP))
    : todo.map((name) => [name]);
  await bounded(groups, options.concurrency ?? 4, async (group) => {
    if (group.length === 1 || !tenancy.impl.provisionGroup) return alone(group[0]);
    try {
      await tenancy.impl.provisionGroup(
        tenancy.provider,
        group.map((name) => ({ name, container: containers.get(name)! })),
        tenancy.migrations,
        tenancy.settings,
      );
      for (const name of group) outcomes.set(name, { tenant: name, outcome: 'created', applied: tenancy.migrations.map((m) => m.name) });
    } catch {
      for (const name of group) await alone(name);
    }
  });
  const failed = [...outcomes.values()].filter((outcome) => outcome.outcome === 'failed').length;
  done(`${names.length - failed} ok${failed ? `, ${failed} failed` : ''}`);
  return names.map((name) => outcomes.get(name)!);
}

export interface TenantView extends TenantRecord {
  latest: string | null;
  /** Migrations not yet applied. */
  pending: string[];
  problems: LedgerProblem[];
  bytes?: number;
  rows?: Record<string, number>;
}

function latestOf(tenancy: Tenancy): string | null {
  return tenancy.migrations.at(-1)?.name ?? null;
}

function ledgerByTenant(ledger: AppliedMigration[]): Map<string, AppliedMigration[]> {
  const by = new Map<string, AppliedMigration[]>();
  for (const entry of ledger) {
    const list = by.get(entry.tenant);
    if (list) list.push(entry);
    else by.set(entry.tenant, [entry]);
  }
  return by;
}

export async function listTenants(
  fleet: Fleet,
  options: { stats?: boolean } = {},
): Promise<{ store: string; strategy: string; latest: string | null; tenants: TenantView[] }> {
  const tenancy = await openTenancy(fleet);
  const [catalog, ledger] = await Promise.all([
    tenancy.impl.catalog(tenancy.provider, tenancy.settings),
    tenancy.impl.ledger(tenancy.provider, tenancy.settings),
  ]);
  const applied = ledgerByTenant(ledger);
  const tenants: TenantView[] = [];
  for (const record of catalog) {
    const { pending, problems } = pendingFor(record.name, tenancy.migrations, applied.get(record.name) ?? []);
    const view: TenantView = { ...record, latest: latestOf(tenancy), pending: pending.map((m) => m.name), problems };
    if (options.stats) Object.assign(view, await tenancy.impl.stats(tenancy.provider, record, tenancy.settings));
    tenants.push(view);
  }
  return { store: tenancy.store.name, strategy: tenancy.impl.strategy, latest: latestOf(tenancy), tenants };
}

export async function showTenant(fleet: Fleet, name: string): Promise<TenantView> {
  const tenancy = await openTenancy(fleet);
  const record = await tenantNamed(tenancy, name);
  const ledger = (await tenancy.impl.ledger(tenancy.provider, tenancy.settings)).filter((entry) => entry.tenant === name);
  const { pending, problems } = pendingFor(name, tenancy.migrations, ledger);
  return {
    ...record,
    latest: latestOf(tenancy),
    pending: pending.map((m) => m.name),
    problems,
    ...(await tenancy.impl.stats(tenancy.provider, record, tenancy.settings)),
  };
}

async function tenantNamed(tenancy: Tenancy, name: string): Promise<TenantRecord> {
  checkTenantName(name);
  const record = (await tenancy.impl.catalog(tenancy.provider, tenancy.settings)).find((tenant) => tenant.name === name);
  if (!record)
    throw new StorageError('NOT_FOUND', `No tenant named "${name}" on ${tenancy.store.name}.`, {
      hint: '`storage tenant list` shows them; `storage tenant create NAME` makes one.',
    });
  return record;
}

export interface MigrateOptions {
  names?: string[];
  concurrency?: number;
  canary?: number;
  keepGoing?: boolean;
  dryRun?: boolean;
}

export interface MigrateSummary {
  store: string;
  latest: string | null;
  migrated: number;
  current: number;
  failed: number;
  skipped: number;
  tenants: TenantOutcome[];
}

async function migrateTenantsLocked(fleet: Fleet, options: MigrateOptions, progress: Progress = silentProgress): Promise<MigrateSummary> {
  const tenancy = await openTenancy(fleet);
  // A tenant restore killed half-way is settled before any tenant is migrated.
  if (!options.dryRun) await settleTenantRestores(tenancy, progress);
  const [catalog, ledger] = await Promise.all([
    tenancy.impl.catalog(tenancy.provider, tenancy.settings),
    tenancy.impl.ledger(tenancy.provider, tenancy.settings),
  ]);
  let chosen = catalog;
  if (options.names?.length) {
    const unknown = options.names.filter((name) => !catalog.some((tenant) => tenant.name === name));
    if (unknown.length)
      throw new StorageError('NOT_FOUND', `No tenant named ${unknown.map((n) => `"${n}"`).join(', ')} on ${tenancy.store.name}.`, {
        hint: '`storage tenant list` shows them.',
      });
    chosen = catalog.filter((tenant) => options.names!.includes(tenant.name));
  }
  const applied = ledgerByTenant(ledger);
  const plans = chosen.map((tenant) => ({ tenant, ...pendingFor(tenant.name, tenancy.migrations, applied.get(tenant.name) ?? []) }));
  // An edited or reordered migration stops everything before anything runs: tenants must not diverge.
  const problems = plans.flatMap((plan) => plan.problems);
  if (problems.length)
    throw new StorageError(
      'REFUSED',
      `${problems.length} migration problem(s), e.g. ${problems[0].tenant}: ${problems[0].migration} ${problems[0].problem}. Nothing was migrated.`,
      {
        hint: 'Never edit an applied migration: put the change in a new file named after the last one. `storage tenant list --json` lists every problem.',
        details: { problems: problems.slice(0, 100) },
      },
    );
  const outcomes = new Map<string, TenantOutcome>();
  const todo = plans.filter((plan) => plan.pending.length > 0);
  for (const plan of plans) if (plan.pending.length === 0) outcomes.set(plan.tenant.name, { tenant: plan.tenant.name, outcome: 'current' });
  if (options.dryRun) {
    for (const plan of todo) outcomes.set(plan.tenant.name, { tenant: plan.tenant.name, outcome: 'would migrate', applied: plan.pending.map((m) => m.name) });
  } else {
    let stopped = false;
    const run = async (plan: (typeof todo)[number]) => {
      try {
        await tenancy.impl.migrate(tenancy.provider, plan.tenant, plan.pending, tenancy.settings);
        outcomes.set(plan.tenant.name, { tenant: plan.tenant.name, outcome: 'migrated', applied: plan.pending.map((m) => m.name) });
      } catch (error) {
        outcomes.set(plan.tenant.name, { tenant: plan.tenant.name, outcome: 'failed', error: (error as Error).message });
        progress.warn(`${plan.tenant.name}: ${(error as Error).message}`);
        if (!options.keepGoing) stopped = true;
      }
    };
    const canaries = todo.slice(0, options.canary ?? 0);
    const rest = todo.slice(canaries.length);
    const concurrency = options.concurrency ?? 4;
    if (canaries.length) {
      const done = progress.step(`canaries: ${canaries.map((plan) => plan.tenant.name).join(', ')}`);
      await bounded(canaries, concurrency, run, () => stopped);
      // A failed canary stops the run even with --keep-going: that is what canaries are for.
      const bad = canaries.filter((plan) => outcomes.get(plan.tenant.name)?.outcome === 'failed').length;
      done(bad ? `${bad} failed` : 'ok');
      if (bad) stopped = true;
    }
    if (rest.length && !stopped) {
      const done = progress.step(`migrate ${rest.length} tenant(s), ${concurrency} at a time`);
      await bounded(rest, concurrency, run, () => stopped);
      done();
    }
    for (const plan of todo) if (!outcomes.has(plan.tenant.name)) outcomes.set(plan.tenant.name, { tenant: plan.tenant.name, outcome: 'skipped' });
  }
  const tenants = chosen.map((tenant) => outcomes.get(tenant.name)!);
  const count = (outcome: TenantOutcome['outcome']) => tenants.filter((t) => t.outcome === outcome).length;
  return {
    store: tenancy.store.name,
    latest: latestOf(tenancy),
    migrated: count('migrated'),
    current: count('current'),
    failed: count('failed'),
    skipped: count('skipped'),
    tenants,
  };
}

export async function setTenantStatus(
  fleet: Fleet,
  name: string,
  status: TenantRecord['status'],
  progress: Progress = silentProgress,
): Promise<{ tenant: string; status: string; was: string; means: string }> {
  const command = `storage tenant ${status === 'suspended' ? 'suspend' : 'resume'} ${name}`;
  return underLock(fleet, command, progress, async () => {
    const tenancy = await openTenancy(fleet);
    const record = await tenantNamed(tenancy, name);
    if (record.status !== status) await tenancy.impl.setStatus(tenancy.provider, record, status, tenancy.settings);
    return { tenant: name, status, was: record.status, means: tenancy.impl.suspendMeans };
  });
}

export function dropTenant(fleet: Fleet, name: string): Promise<TenantRecord> {
  return underLock(fleet, `storage tenant drop ${name}`, silentProgress, async () => {
    const tenancy = await openTenancy(fleet);
    const record = await tenantNamed(tenancy, name);
    await tenancy.impl.drop(tenancy.provider, record, tenancy.settings);
    return record;
  });
}

export async function tenantRecord(fleet: Fleet, name: string): Promise<{ tenancy: Tenancy; record: TenantRecord }> {
  const tenancy = await openTenancy(fleet);
  return { tenancy, record: await tenantNamed(tenancy, name) };
}

/** Tenant changes hold the tenancy store's lock (the one backups and restores take): two migrate-alls at once would race on every tenant's ledger. */
function underLock<T>(fleet: Fleet, command: string, progress: Progress, work: () => Promise<T>): Promise<T> {
  const store = fleet.config.file.tenancy?.store;
  return store ? withStoreLock(fleet, store, command, (message) => progress.warn(message), work) : work();
}

export function createTenants(
  fleet: Fleet,
  names: string[],
  options: { concurrency?: number; command?: string } = {},
  progress: Progress = silentProgress,
): Promise<TenantOutcome[]> {
  return underLock(fleet, options.command ?? 'storage tenant create', progress, () => createTenantsLocked(fleet, names, options, progress));
}

export function migrateTenants(fleet: Fleet, options: MigrateOptions & { command?: string }, progress: Progress = silentProgress): Promise<MigrateSummary> {
  return underLock(fleet, options.command ?? 'storage tenant migrate', progress, () => migrateTenantsLocked(fleet, options, progress));
}
