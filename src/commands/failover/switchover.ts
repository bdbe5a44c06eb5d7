import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { confirmation } from '../../cli/confirm.js';
import { durationFlag } from '../../cli/flags.js';
import { requireConfirmation } from '../../engine/confirm.js';
import type { FailoverEvent } from '../../engine/engines/spec.js';
import { DEFAULT_MAX_LAG_BYTES, switchover } from '../../engine/failover/service.js';
import { openFlow } from '../../ui/task-list.js';
import { eventSummary } from '../../ui/views/failover.js';

export default class FailoverSwitchover extends StorageCommand {
  static override audited = true;
  static override summary = 'Move the primary role to a standby without losing a committed write (planned maintenance).';
  static override description =
    'Preflight (exactly one primary; the candidate streams through a slot, on the same timeline, lag within --max-lag) → fence the old primary (read-only, closed to new connections, sessions ended) → wait until the candidate replayed its last flushed WAL → with local control, stop the old primary cleanly → promote → prove a write → the other standbys follow → with local control, the old primary comes back as a standby (pg_rewind only when needed, after a checkpoint on the new primary; its configuration files kept). If the candidate does not catch up within --timeout, the fence is lifted and nothing is promoted (exit 1). If the servers are lost mid-way, exit 4 with what each member reported last. Recorded in `storage failover history` and the audit log.';
  static override args = { store: Args.string({ description: 'The replicated store.', required: true }) };
  static override flags = {
    to: Flags.string({ description: 'The standby to promote (default: the eligible one with the least lag).' }),
    'max-lag': Flags.integer({ description: 'Refuse a candidate further behind than this many bytes.', default: DEFAULT_MAX_LAG_BYTES, min: 0 }),
    timeout: durationFlag({ description: 'How long the candidate may take to catch up once the old primary is fenced.', default: 30_000 }),
    confirm: Flags.string({ description: 'The store name again, to confirm without a prompt.' }),
  };
  static override examples = ['<%= config.bin %> failover switchover main --to replica1 --confirm main'];

  async run(): Promise<FailoverEvent> {
    const { args, flags } = await this.parse(FailoverSwitchover);
    this.auditStores = [args.store];
    const fleet = await this.fleet(flags.config);
    const store = fleet.store(args.store).name;
    const json = this.jsonEnabled();
    const given = await confirmation(
      flags.confirm,
      `This moves the primary role of store "${store}"${flags.to ? ` to "${flags.to}"` : ''}. Type the store name to confirm: `,
      json,
    );
    requireConfirmation(store, given, `A switchover of store "${store}"`);
    const flow = await openFlow([store], (name) => `Switchover of ${name}`, { json, quiet: false });
    try {
      const event = await switchover(
        fleet,
        { store, to: flags.to, maxLagBytes: flags['max-lag'], timeoutMs: flags.timeout, command: this.commandLine },
        flow.progressFor(store),
      );
      flow.settle(store, true, `${event.from} → ${event.to}`);
      await flow.close();
      this.auditDetails = { from: event.from, to: event.to, timeline: event.timeline, unavailableMs: event.unavailableMs };
      this.print(eventSummary(event));
      return event;
    } finally {
      await flow.close('failed: see the message below');
    }
  }
}
