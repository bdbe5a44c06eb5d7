import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { StorageError } from '../../engine/errors.js';
import { migrateTenants, type MigrateSummary } from '../../engine/tenant/service.js';
import { openFlow } from '../../ui/task-list.js';

export default class TenantMigrate extends StorageCommand {
  static override audited = true;
  static override summary =
    'Apply pending migrations to the named tenants (or --all): canaries first, then the rest on at most --concurrency connections, each tenant in one transaction with a lock timeout (MongoDB: step by step, resumed at the step that failed).';
  static override description =
    'The catalog and the ledger are read once; tenants already current are not touched. A migration edited after it was applied (or a new one ordered before an applied one) stops the run before anything is done. The first failure stops the run unless --keep-going (a failed canary always stops it); an interrupted run resumes where it stopped when run again.';
  static override strict = false;
  static override flags = {
    all: Flags.boolean({ description: 'Every tenant in the catalog.' }),
    concurrency: Flags.integer({ description: 'Tenants migrated at once (never more connections than this).', default: 4, min: 1, max: 64 }),
    canary: Flags.integer({ description: 'Migrate this many tenants first, alone; stop if any fails.', default: 0, min: 0 }),
    'keep-going': Flags.boolean({ description: 'Go on after a tenant fails (the summary lists each failure).' }),
    'dry-run': Flags.boolean({ description: 'Say which tenants would get which migrations; change nothing.' }),
  };
  static override examples = [
    '<%= config.bin %> tenant migrate --all --canary 2',
    '<%= config.bin %> tenant migrate acme globex',
    '<%= config.bin %> tenant migrate --all --dry-run --json',
  ];

  async run(): Promise<MigrateSummary> {
    const { argv, flags } = await this.parse(TenantMigrate);
    const names = argv as string[];
    if (!flags.all && names.length === 0) throw new StorageError('USAGE', 'Which tenants? Name them, or give --all.', { hint: 'storage tenant migrate --all' });
    if (flags.all && names.length) throw new StorageError('USAGE', 'Give tenant names or --all, not both.', { hint: 'storage tenant migrate --all' });
    const fleet = await this.fleet(flags.config);
    this.auditStores = fleet.config.file.tenancy ? [fleet.config.file.tenancy.store] : [];
    const flow = await openFlow(['tenants'], () => (flags['dry-run'] ? 'Plan tenant migrations' : 'Migrate tenants'), {
      json: this.jsonEnabled(),
      quiet: false,
    });
    let summary: MigrateSummary;
    try {
      summary = await migrateTenants(
        fleet,
        {
          names: flags.all ? undefined : names,
          concurrency: flags.concurrency,
          canary: flags.canary,
          keepGoing: flags['keep-going'],
          dryRun: flags['dry-run'],
        },
        flow.progressFor('tenants'),
      );
      flow.settle('tenants', summary.failed === 0, `${summary.migrated} migrated, ${summary.current} current, ${summary.failed} failed`);
    } finally {
      await flow.close('stopped: tenants migrated so far keep their migrations; run again to go on');
    }
    this.auditDetails = {
      migrated: summary.migrated,
      failed: summary.tenants.filter((t) => t.outcome === 'failed').map((t) => t.tenant),
      dryRun: flags['dry-run'],
    };
    const would = summary.tenants.filter((t) => t.outcome === 'would migrate');
    this.print(
      [
        flags['dry-run']
          ? `${would.length} tenant(s) would be migrated, ${summary.current} are current (latest ${summary.latest ?? 'none'}).`
          : `${summary.migrated} migrated, ${summary.current} already current, ${summary.failed} failed${summary.skipped ? `, ${summary.skipped} not reached` : ''} (latest ${summary.latest ?? 'none'}).`,
        ...would.slice(0, 50).map((t) => `  ${t.tenant}: ${t.applied!.join(', ')}`),
        ...summary.tenants.filter((t) => t.outcome === 'failed').map((t) => `  failed ${t.tenant}: ${t.error}`),
      ].join('\n'),
    );
    if (summary.failed)
      this.failWith(
        new StorageError(summary.migrated > 0 ? 'PARTIAL' : 'FAILED', `${summary.failed} tenant(s) failed to migrate.`, {
          hint: 'A failed tenant kept nothing of the failed migration (PostgreSQL, SQLite: one transaction; MongoDB: it resumes at the step that failed). Fix the cause and run the same command again: migrated tenants are not touched twice.',
        }),
      );
    return summary;
  }
}
