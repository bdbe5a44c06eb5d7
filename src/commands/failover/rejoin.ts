import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import type { FailoverEvent } from '../../engine/engines/spec.js';
import { rejoin } from '../../engine/failover/service.js';
import { openFlow } from '../../ui/task-list.js';
import { eventSummary } from '../../ui/views/failover.js';

export default class FailoverRejoin extends StorageCommand {
  static override audited = true;
  static override summary = 'Bring a former primary back as a standby of the current primary (needs local control of that member).';
  static override description =
    "Stops the member if it runs, runs CHECKPOINT on the current primary and waits until its control file shows the new timeline, runs pg_rewind (which says when no rewind is needed) keeping the member's own configuration files, writes standby.signal, primary_conninfo and its slot, starts it and waits until it streams.";
  static override args = {
    store: Args.string({ description: 'The replicated store.', required: true }),
    member: Args.string({ description: 'The member to bring back.', required: true }),
  };
  static override examples = ['<%= config.bin %> failover rejoin main pg1'];

  async run(): Promise<FailoverEvent> {
    const { args, flags } = await this.parse(FailoverRejoin);
    this.auditStores = [args.store];
    const fleet = await this.fleet(flags.config);
    const store = fleet.store(args.store).name;
    const json = this.jsonEnabled();
    const flow = await openFlow([store], (name) => `Rejoin ${args.member} to ${name}`, { json, quiet: false });
    try {
      const event = await rejoin(fleet, { store, member: args.member, command: this.commandLine }, flow.progressFor(store));
      flow.settle(store, true, event.oldPrimary ?? 'done');
      await flow.close();
      this.print(eventSummary(event));
      return event;
    } finally {
      await flow.close('failed: see the message below');
    }
  }
}
