import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { cleanupRestores, type SettledRestore } from '../../engine/snapshot/service.js';

export default class SnapshotCleanup extends StorageCommand {
  static override audited = true;
  static override summary = 'Settle what killed restores left: drop staging copies, finish a swap cut short, drop unfinished restores.';
  static override description =
    'A restore (snapshot or backup) records its staging copy before making it. When a run was killed, this drops a staging copy whose swap never started (the database was not touched), finishes a swap that was cut short (the database already moved aside), and drops a database a MongoDB restore or a restore test left unfinished. The next restore on the store does the same.';
  static override args = { store: Args.string({ description: 'Only this store (default: every store).' }) };
  static override examples = ['<%= config.bin %> snapshot cleanup', '<%= config.bin %> snapshot cleanup main --json'];

  async run(): Promise<{ settled: SettledRestore[] }> {
    const { args, flags } = await this.parse(SnapshotCleanup);
    const fleet = await this.fleet(flags.config);
    this.auditStores = args.store ? [args.store] : [];
    const settled = await cleanupRestores(fleet, { store: args.store, command: this.commandLine }, (message) => this.warning(message));
    this.auditStores = [...new Set([...this.auditStores, ...settled.map((s) => s.store)])];
    if (settled.length === 0) this.warning('No interrupted restore to settle.');
    for (const s of settled) this.print(`${s.store} (${s.snapshot ? `snapshot ${s.snapshot}` : `backup ${s.backup}`}): ${s.what}`);
    return { settled };
  }
}
