import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { StorageError } from '../../engine/errors.js';
import { isEmptyPolicy } from '../../engine/repository/retention.js';
import { strongerLevel, type BackupRepository } from '../../engine/repository/repository.js';
import { backupsOutcome, checkParallelDump, createBackups, type StoreOutcome } from '../../engine/backup/create.js';
import { openRepository, startOpeningRepository } from '../../engine/backup/open.js';
import { prepareStores } from '../../engine/backup/prepare.js';
import { verifyBackup } from '../../engine/backup/verify.js';
import type { Fleet } from '../../engine/fleet.js';
import { createTenantBackup } from '../../engine/tenant/backup.js';
import { policyFromConfig, pruneBackups, pruneFindings, prunedBackups, type PrunePlan } from '../../engine/backup/prune.js';
import { formatBytes } from '../../ui/format.js';
import { renderTable } from '../../ui/output.js';
import { lineProgress, quietProgress } from '../../ui/progress.js';
import { openFlow } from '../../ui/task-list.js';
import { pruneSummary } from '../../ui/views/prune.js';

export default class BackupCreate extends StorageCommand {
  static override audited = true;
  static override summary = 'Take an encrypted, checksummed backup of stores (the nightly cron job).';
  static override description =
    'With no store and no config, backs up the embedded default store. A backup counts as complete only once its manifest is written. Exit 2 when some stores failed and others succeeded.';
  static override strict = false;
  static override args = { store: Args.string({ description: 'Stores to back up (default: the only store).' }) };
  static override flags = {
    all: Flags.boolean({ description: 'Back up every configured store.' }),
    tag: Flags.string({ description: 'A tag to record on the backup (repeatable).', multiple: true, default: [] }),
    verify: Flags.boolean({
      description:
        'Read the new backup back (decrypt and re-hash every byte) before reporting success. Without it, backup.verify in the config sets the level.',
    }),
    prune: Flags.boolean({
      description: 'Then apply backup.retention to the stores just backed up (only those): what it deletes is listed. Tagged and damaged backups are kept.',
    }),
    parallel: Flags.integer({ description: 'Stores backed up at once with --all.', default: 2, min: 1 }),
    jobs: Flags.integer({
      description:
        'PostgreSQL: dump this many tables at once (pg_dump -Fd -j N), each archive file stored as it is finished; restores use as many jobs unless --parallel says otherwise. For big databases with several large tables. Other engines refuse it (exit 64).',
      min: 1,
      max: 64,
      exclusive: ['tenant'],
    }),
    quiet: Flags.boolean({ char: 'q', description: 'No progress lines, only the result and warnings.' }),
    tenant: Flags.string({
      description:
        "Back up one tenant's data only (its schema, database or file) from the tenancy store; the manifest records the tenant, and retention counts its backups apart from the store's.",
      exclusive: ['all'],
    }),
  };
  static override examples = [
    '<%= config.bin %> backup create',
    '<%= config.bin %> backup create main --verify',
    '<%= config.bin %> backup create --all --prune --json',
    '<%= config.bin %> backup create --tenant acme',
    '<%= config.bin %> backup create big --jobs 4',
  ];

  private interruptible?: { repo: BackupRepository; stores: string[]; since: number };

  /** After an interruption: the backups of this run that did complete (they stay, complete and usable). */
  protected override interruptedNote(): string | undefined {
    if (!this.interruptible) return undefined;
    const { repo, stores, since } = this.interruptible;
    const complete = repo
      .list()
      .filter((entry) => entry.status === 'complete' && stores.includes(entry.store) && Date.parse(entry.manifest!.startedAt) >= since);
    return complete.length === 0
      ? 'no backup of this run completed'
      : `kept the backups that completed: ${complete.map((entry) => `${entry.id} (${entry.store})`).join(', ')}`;
  }

  async run(): Promise<{ stores: StoreOutcome[]; prune?: PrunePlan }> {
    const { argv, flags } = await this.parse(BackupCreate);
    const fleet = await this.fleet(flags.config);
    if (flags.tenant !== undefined) return this.tenantRun(fleet, flags.tenant, argv as string[], flags);
    const stores = flags.all
      ? fleet.select([])
      : argv.length > 0
        ? fleet.select(argv as string[])
        : [fleet.onlyStore('storage backup create', '--all to back up every store')];
    this.auditStores = stores.map((store) => store.name);
    await checkParallelDump(fleet, stores, flags.jobs);
    // Refuse an unusable --prune before any work, not after a good backup.
    if (flags.prune && isEmptyPolicy(policyFromConfig(fleet))) {
      throw new StorageError('USAGE', '--prune needs a retention policy, and backup.retention in the config is empty.', {
        hint: 'Set backup.retention (e.g. { keepDaily: 7, keepWeekly: 4 }), or run `storage backup prune` with --keep-* flags.',
      });
    }
    prepareStores(
      fleet,
      stores.map((store) => store.name),
      'dump',
    );
    // The dumps start while the repository's key is unlocked (scrypt, ~0.3 s): a key that does not
    // unlock stops them, and is what this command then fails with.
    const repository = await startOpeningRepository(fleet, flags.quiet || this.jsonEnabled() ? quietProgress : lineProgress(), { create: true });
    const since = Date.now();
    repository.unlocked.then(
      (repo) => (this.interruptible = { repo, stores: stores.map((store) => store.name), since }),
      () => undefined, // the run fails with it below
    );
    // The task list opens only once nothing but the key can fail before the stores' tasks start.
    const flow = await openFlow(
      stores.map((store) => store.name),
      (name) => `Back up ${name}`,
      { json: this.jsonEnabled(), quiet: flags.quiet },
    );
    const outcomes = await createBackups(
      fleet,
      repository,
      stores,
      {
        tags: flags.tag,
        parallel: flags.parallel,
        ...(flags.jobs !== undefined ? { jobs: flags.jobs } : {}),
        verify: strongerLevel(flags.verify ? 'read-data' : undefined, fleet.config.file.backup?.verify),
        command: this.commandLine,
        onOutcome: (o) =>
          flow.settle(o.store, o.ok, o.ok ? `${o.backup!.id} (${formatBytes(o.backup!.storedBytes)})` : `${o.error!.code}: ${o.error!.message}`),
      },
      (name) => flow.progressFor(name),
    );
    await flow.close('not backed up');
    const repo = await repository.unlocked;
    // Retention applies to the stores this run backed up, and to nothing else in the repository.
    let prune: PrunePlan | undefined;
    const failedStores = outcomes.filter((o) => !o.ok).map((o) => o.store);
    if (flags.prune && failedStores.length > 0)
      this.warning(`Not pruning ${failedStores.join(', ')}: the backup failed, and a failed backup must not cost an old one.`);
    const backedUp = outcomes.filter((o) => o.ok).map((o) => o.store);
    if (flags.prune && backedUp.length > 0) {
      prune = pruneBackups(repo, policyFromConfig(fleet), { dryRun: false, stores: backedUp, configured: [...fleet.config.stores.keys()] });
      this.auditDetails = { pruned: prunedBackups(prune).map((b) => b.id) };
    }
    this.print(
      renderTable(
        ['store', 'backup', 'status', 'size (stored / original)', 'took'],
        outcomes.map((o) => [
          o.store,
          o.backup?.id ?? '-',
          o.ok ? 'complete' : `FAILED: ${o.error?.code}`,
          o.backup ? `${formatBytes(o.backup.storedBytes)} / ${formatBytes(o.backup.originalBytes)}` : '-',
          o.backup ? `${(o.backup.durationMs / 1000).toFixed(1)}s` : '-',
        ]),
      ),
    );
    const findings = prune && pruneFindings(prune);
    if (prune) {
      this.print(pruneSummary(prune, backedUp));
      for (const warning of findings!.warnings) this.warning(warning);
    }
    this.failWith(backupsOutcome(outcomes) ?? findings?.failure);
    return { stores: outcomes, ...(prune ? { prune } : {}) };
  }

  /** `--tenant NAME`: one tenant of the tenancy store (named, or implied). */
  private async tenantRun(
    fleet: Fleet,
    tenant: string,
    argv: string[],
    flags: { tag: string[]; verify: boolean; prune: boolean; quiet: boolean },
  ): Promise<{ stores: StoreOutcome[]; prune?: PrunePlan }> {
    if (argv.length > 1) throw new StorageError('USAGE', '--tenant backs up one tenant of one store.', { hint: 'Name at most the tenancy store.' });
    const storeName = fleet.config.file.tenancy?.store;
    this.auditStores = storeName ? [storeName] : [];
    this.auditDetails = { tenant };
    const policy = policyFromConfig(fleet);
    if (flags.prune && isEmptyPolicy(policy))
      throw new StorageError('USAGE', '--prune needs a retention policy, and backup.retention in the config is empty.', {
        hint: 'Set backup.retention (e.g. { keepDaily: 7, keepWeekly: 4 }), or run `storage backup prune` with --keep-* flags.',
      });
    const repo = await openRepository(fleet, flags.quiet || this.jsonEnabled() ? quietProgress : lineProgress(), { create: true });
    const title = `${storeName ?? argv[0] ?? '?'} tenant ${tenant}`;
    const flow = await openFlow([title], (name) => `Back up ${name}`, { json: this.jsonEnabled(), quiet: flags.quiet });
    let backup;
    try {
      backup = await createTenantBackup(fleet, repo, tenant, { store: argv[0], tags: flags.tag, command: this.commandLine }, flow.progressFor(title));
      const level = strongerLevel(flags.verify ? 'read-data' : undefined, fleet.config.file.backup?.verify);
      if (level) {
        const check = await verifyBackup(fleet, repo, backup.id, { level }, flow.progressFor(title));
        if (!check.ok)
          throw new StorageError('BAD_DATA', `Backup ${backup.id} failed verification: ${check.problems.join('; ')}`, {
            hint: 'Check the disk of the repository; take a new backup.',
          });
      }
      flow.settle(title, true, `${backup.id} (${formatBytes(backup.storedBytes)})`);
    } finally {
      await flow.close('not backed up');
    }
    const prune = flags.prune ? pruneBackups(repo, policy, { dryRun: false, stores: [backup.store], configured: [...fleet.config.stores.keys()] }) : undefined;
    if (prune) this.auditDetails = { tenant, pruned: prunedBackups(prune).map((b) => b.id) };
    this.print(
      renderTable(
        ['store', 'tenant', 'backup', 'size (stored / original)', 'took'],
        [
          [
            backup.store,
            tenant,
            backup.id,
            `${formatBytes(backup.storedBytes)} / ${formatBytes(backup.originalBytes)}`,
            `${(backup.durationMs / 1000).toFixed(1)}s`,
          ],
        ],
      ),
    );
    const findings = prune && pruneFindings(prune);
    if (prune) {
      this.print(pruneSummary(prune, [backup.store]));
      for (const warning of findings!.warnings) this.warning(warning);
    }
    this.failWith(findings?.failure);
    return { stores: [{ store: backup.store, ok: true, backup }], ...(prune ? { prune } : {}) };
  }
}
