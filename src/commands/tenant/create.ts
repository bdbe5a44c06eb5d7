import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { tenantNames } from '../../cli/tenant-flags.js';
import { StorageError } from '../../engine/errors.js';
import { createTenants, type TenantOutcome } from '../../engine/tenant/service.js';
import { openFlow } from '../../ui/task-list.js';

export default class TenantCreate extends StorageCommand {
  static override audited = true;
  static override summary =
    "Provision tenants: each one's schema (PostgreSQL), database (MongoDB) or file (SQLite), every migration applied, recorded in the catalog.";
  static override description =
    'Names are lower case (letters of any script, digits, _ and -), checked against the engine’s limits before anything is created. A tenant that exists is left alone. On PostgreSQL each tenant is created in one transaction: a failure leaves nothing behind.';
  static override strict = false;
  static override flags = {
    'from-file': Flags.string({ description: 'Also read tenant names from this file, one per line (- for stdin).' }),
    concurrency: Flags.integer({ description: 'Tenants created at once (connections used).', default: 4, min: 1, max: 64 }),
  };
  static override examples = ['<%= config.bin %> tenant create acme globex', '<%= config.bin %> tenant create --from-file tenants.txt'];

  async run(): Promise<{ tenants: TenantOutcome[] }> {
    const { argv, flags } = await this.parse(TenantCreate);
    const names = tenantNames(argv as string[], flags['from-file']);
    if (names.length === 0)
      throw new StorageError('USAGE', 'Which tenants? Give one or more names.', { hint: 'storage tenant create acme (or --from-file FILE)' });
    const fleet = await this.fleet(flags.config);
    this.auditStores = fleet.config.file.tenancy ? [fleet.config.file.tenancy.store] : [];
    const flow = await openFlow(['tenants'], () => `Create ${names.length} tenant(s)`, { json: this.jsonEnabled(), quiet: false });
    let tenants: TenantOutcome[];
    try {
      tenants = await createTenants(fleet, names, { concurrency: flags.concurrency }, flow.progressFor('tenants'));
      flow.settle('tenants', !tenants.some((t) => t.outcome === 'failed'), `${tenants.filter((t) => t.outcome === 'created').length} created`);
    } finally {
      await flow.close('stopped');
    }
    this.auditDetails = {
      created: tenants.filter((t) => t.outcome === 'created').map((t) => t.tenant),
      failed: tenants.filter((t) => t.outcome === 'failed').map((t) => t.tenant),
    };
    const count = (outcome: TenantOutcome['outcome']) => tenants.filter((t) => t.outcome === outcome).length;
    this.print(
      `Created ${count('created')} tenant(s)${count('exists') ? `, ${count('exists')} already there` : ''}${count('failed') ? `, ${count('failed')} failed` : ''}.`,
    );
    const failed = tenants.filter((t) => t.outcome === 'failed');
    if (failed.length)
      this.failWith(
        new StorageError(
          failed.length === tenants.length ? 'FAILED' : 'PARTIAL',
          `${failed.length} tenant(s) could not be created: ${failed.map((t) => `${t.tenant} (${t.error})`).join('; ')}.`,
          {
            hint: 'Fix the cause and run the same command again: tenants already created are left alone.',
          },
        ),
      );
    return { tenants };
  }
}
