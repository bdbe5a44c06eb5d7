import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { listTenants, type TenantView } from '../../engine/tenant/service.js';
import { tenantRows } from '../../ui/views/tenants.js';
import { renderTable } from '../../ui/output.js';

export default class TenantList extends StorageCommand {
  static override summary = 'Every tenant: status, migration version and whether it is behind (read from the catalog and the ledger in one query each).';
  static override flags = {
    stats: Flags.boolean({ description: "Also each tenant's size and row (document) counts (reads every tenant)." }),
    behind: Flags.boolean({ description: 'Only tenants with migrations pending (or a ledger problem).' }),
  };
  static override examples = ['<%= config.bin %> tenant list', '<%= config.bin %> tenant list --behind --json'];

  async run(): Promise<{ store: string; latest: string | null; tenants: TenantView[] }> {
    const { flags } = await this.parse(TenantList);
    const fleet = await this.fleet(flags.config);
    const listed = await listTenants(fleet, { stats: flags.stats });
    const tenants = flags.behind ? listed.tenants.filter((t) => t.pending.length > 0 || t.problems.length > 0) : listed.tenants;
    this.print(
      tenants.length
        ? `${renderTable(
            tenantRows.header(flags.stats),
            tenants.map((t) => tenantRows.row(t, flags.stats)),
          )}\n${tenants.length} tenant(s) on ${listed.store}; latest migration ${listed.latest ?? '(none)'}.`
        : `No tenants${flags.behind ? ' behind' : ''} on ${listed.store}.`,
    );
    return { store: listed.store, latest: listed.latest, tenants };
  }
}
