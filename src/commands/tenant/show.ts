import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { showTenant, type TenantView } from '../../engine/tenant/service.js';
import { tenantText } from '../../ui/views/tenants.js';

export default class TenantShow extends StorageCommand {
  static override summary = 'One tenant: status, version and what is pending, size, and rows (documents) per table.';
  static override args = { name: Args.string({ description: 'The tenant.', required: true }) };
  static override examples = ['<%= config.bin %> tenant show acme'];

  async run(): Promise<TenantView> {
    const { args, flags } = await this.parse(TenantShow);
    const view = await showTenant(await this.fleet(flags.config), args.name);
    this.print(tenantText(view));
    return view;
  }
}
