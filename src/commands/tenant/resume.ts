import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { setTenantStatus } from '../../engine/tenant/service.js';
import { lineProgress, quietProgress } from '../../ui/progress.js';

export default class TenantResume extends StorageCommand {
  static override audited = true;
  static override summary = "Give a suspended tenant's application its access back.";
  static override args = { name: Args.string({ description: 'The tenant.', required: true }) };
  static override examples = ['<%= config.bin %> tenant resume acme'];

  async run(): Promise<{ tenant: string; status: string; was: string }> {
    const { args, flags } = await this.parse(TenantResume);
    const fleet = await this.fleet(flags.config);
    this.auditStores = fleet.config.file.tenancy ? [fleet.config.file.tenancy.store] : [];
    const done = await setTenantStatus(fleet, args.name, 'active', this.jsonEnabled() ? quietProgress : lineProgress());
    this.auditDetails = { tenant: args.name, was: done.was };
    this.print(done.was === done.status ? `Tenant ${args.name} was already ${done.status}.` : `Tenant ${args.name} is active.`);
    return { tenant: done.tenant, status: done.status, was: done.was };
  }
}
