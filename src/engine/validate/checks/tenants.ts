// The tenants suite: every tenant at the latest migration with a clean ledger, and the catalog in
// step with the schemas, databases or files that exist (an orphan is a container named like a
// tenant that the catalog lacks; a missing one is a tenant whose container is gone).
import type { Fleet } from '../../fleet.js';
import { listTenantJournal } from '../../tenant/restore-journal.js';
import { listTenants, openTenancy } from '../../tenant/service.js';
import type { Check, CheckOutcome } from '../registry.js';

const NO_TENANCY: CheckOutcome = { status: 'pass', reason: 'no tenancy in the config' };

export function judgeTenant(tenant: {
  name: string;
  version: string | null;
  pending: string[];
  problems: Array<{ migration: string; problem: string }>;
}): CheckOutcome {
  const subject = tenant.name;
  if (tenant.problems.length)
    return {
      subject,
      status: 'fail',
      reason: `${tenant.problems[0].migration}: ${tenant.problems[0].problem}`,
      hint: 'Never edit an applied migration: restore the file and put the change in a new one.',
    };
  if (tenant.pending.length)
    return {
      subject,
      status: 'fail',
      reason: `at ${tenant.version ?? 'no migration'}, ${tenant.pending.length} behind (${tenant.pending[0]}…)`,
      hint: 'storage tenant migrate --all',
    };
  return { subject, status: 'pass', reason: `at ${tenant.version ?? 'no migration'} (latest)` };
}

export const tenantsCurrent: Check = {
  id: 'tenants.current',
  suite: 'tenants',
  title: 'every tenant is at the latest migration',
  async run({ fleet }) {
    if (!fleet.config.file.tenancy) return [NO_TENANCY];
    const { tenants } = await listTenants(fleet);
    return tenants.length ? tenants.map(judgeTenant) : [{ status: 'pass', reason: 'no tenants yet' }];
  },
};

export async function catalogOutcomes(fleet: Fleet): Promise<CheckOutcome[]> {
  const tenancy = await openTenancy(fleet);
  const [catalog, containers] = await Promise.all([
    tenancy.impl.catalog(tenancy.provider, tenancy.settings),
    tenancy.impl.containers(tenancy.provider, tenancy.settings),
  ]);
  const known = new Set(catalog.map((tenant) => tenant.container));
  const present = new Set(containers);
  const outcomes: CheckOutcome[] = [];
  // A restore killed half-way (kill -9): the next tenant change settles it; until then its container may be aside.
  const interrupted = new Map(listTenantJournal(tenancy.store.name).map((entry) => [entry.tenant.name, entry]));
  for (const entry of interrupted.values())
    outcomes.push({
      subject: entry.tenant.name,
      status: 'fail',
      reason: `a restore of it from ${entry.backup} was interrupted (${entry.command}, pid ${entry.pid} on ${entry.host}, ${entry.startedAt}); what it replaced is kept as ${entry.previous}`,
      hint: 'The next tenant change settles it (rolled back if its data never committed, finished if it did): storage tenant migrate --all',
    });
  for (const tenant of catalog)
    if (!present.has(tenant.container) && !interrupted.has(tenant.name))
      outcomes.push({
        subject: tenant.name,
        status: 'fail',
        reason: `the catalog has it, but its ${tenancy.impl.strategy} ${tenant.container} is gone`,
        hint: `Restore it from a backup (storage backup list), or remove it: storage tenant drop ${tenant.name} --no-backup`,
      });
  for (const container of containers)
    if (!known.has(container))
      outcomes.push({
        subject: container,
        status: 'warn',
        reason: `a ${tenancy.impl.strategy} named like a tenant that the catalog does not have (an orphan)`,
        hint: `Look at it, then remove it or move it away; \`storage tenant create\` will not reuse the name while it exists.`,
      });
  if (outcomes.length === 0) outcomes.push({ status: 'pass', reason: `${catalog.length} tenant(s), each ${tenancy.impl.strategy} present, no orphans` });
  return outcomes;
}

export const tenantsCatalog: Check = {
  id: 'tenants.catalog',
  suite: 'tenants',
  title: 'the tenant catalog matches what exists',
  async run({ fleet }) {
    if (!fleet.config.file.tenancy) return [NO_TENANCY];
    return catalogOutcomes(fleet);
  },
};
