import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { watchFlags } from '../../cli/flags.js';
import { exitSoon, wantsLiveView } from '../../cli/live.js';
import { StorageError } from '../../engine/errors.js';
import type { Topology } from '../../engine/engines/spec.js';
import { DEFAULT_MAX_LAG_BYTES, failoverStatus, replicatedStores } from '../../engine/failover/service.js';
import { topologyTable } from '../../ui/views/failover.js';

export default class FailoverStatus extends StorageCommand {
  static override summary =
    "Every member's role, timeline, WAL positions, lag, slot and sync state, and whether each standby could take over (with the reason when not).";
  static override description =
    'Without STORE, every store whose engine replicates (PostgreSQL, MongoDB). Exit 0 when every store has exactly one primary, 1 otherwise (no primary, or two).';
  static override args = { store: Args.string({ description: 'The store (default: every replicated store).' }) };
  static override flags = {
    'max-lag': Flags.integer({ description: 'Lag in bytes over which a standby is not eligible.', default: DEFAULT_MAX_LAG_BYTES, min: 0 }),
    ...watchFlags,
  };
  static override examples = [
    '<%= config.bin %> failover status main',
    '<%= config.bin %> failover status main --watch',
    '<%= config.bin %> failover status --json',
  ];

  async run(): Promise<{ stores: Topology[] } | undefined> {
    const { args, flags } = await this.parse(FailoverStatus);
    const fleet = await this.fleet(flags.config);
    const names = args.store ? [fleet.store(args.store).name] : await replicatedStores(fleet, [...fleet.config.stores.keys()]);
    const skipped = new Set<string>();
    const read = async () => {
      const found: Topology[] = [];
      for (const name of names) {
        try {
          found.push(await failoverStatus(fleet, name, { maxLagBytes: flags['max-lag'] }));
        } catch (error) {
          // Listing every store: one that does not replicate (a standalone MongoDB server) is named and left out.
          if (args.store || !(error instanceof StorageError) || error.code !== 'UNSUPPORTED') throw error;
          skipped.add(`${error.message}`);
        }
      }
      return found;
    };
    if (wantsLiveView({ ...flags, json: this.jsonEnabled() })) {
      const { watchFailover } = await import('../../ui/live/index.js');
      await watchFailover(read, flags.interval * 1000);
      exitSoon();
      return undefined;
    }
    const stores = await read();
    for (const line of skipped) this.warning(`Left out: ${line}`);
    this.print(stores.length ? stores.map(topologyTable).join('\n\n') : 'No replicated stores in the config.');
    const troubled = stores.filter((topology) => topology.problems.length > 0);
    if (troubled.length > 0)
      this.failWith(
        new StorageError('FAILED', troubled.map((topology) => `store "${topology.store}": ${topology.problems.join('; ')}`).join('\n'), {
          hint: 'A primary that is gone: `storage failover promote STORE --to MEMBER`. Two primaries: stop the one that should not take writes.',
        }),
      );
    return { stores };
  }
}
