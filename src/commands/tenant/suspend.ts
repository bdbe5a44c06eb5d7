import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { setTenantStatus } from '../../engine/tenant/service.js';
import { lineProgress, quietProgress } from '../../ui/progress.js';

export default class TenantSuspend extends StorageCommand {
  static override audited = true;
  static override summary =
    "Keep a tenant's data but cut its application off (PostgreSQL: its role loses its schema; SQLite: its file moves aside read-only; MongoDB: its role loses its database).";
  static override args = { name: Args.string({ description: 'The tenant.', required: true }) };
  static override examples = ['<%= config.bin %> tenant suspend acme'];

  async run(): Promise<{ tenant: string; status: string; was: string }> {
    const { args, flags } = await this.parse(TenantSuspend);
    const fleet = await this.fleet(flags.config);
    this.auditStores = fleet.config.file.tenancy ? [fleet.config.file.tenancy.store] : [];
    const done = await setTenantStatus(fleet, args.name, 'suspended', this.jsonEnabled() ? quietProgress : lineProgress());
    this.auditDetails = { tenant: args.name, was: done.was };
    this.print(done.was === done.status ? `Tenant ${args.name} was already ${done.status}.` : `Tenant ${args.name} is suspended: ${done.means}.`);
    return { tenant: done.tenant, status: done.status, was: done.was };
  }
}
