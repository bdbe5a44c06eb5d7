import { Args, Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { confirmation } from '../../cli/confirm.js';
import { requireConfirmation } from '../../engine/confirm.js';
import type { FailoverEvent } from '../../engine/engines/spec.js';
import { promote } from '../../engine/failover/service.js';
import { openFlow } from '../../ui/task-list.js';
import { eventSummary } from '../../ui/views/failover.js';

export default class FailoverPromote extends StorageCommand {
  static override audited = true;
  static override summary = 'Promote a standby when the primary is gone, reporting exactly what it never received.';
  static override description =
    "Refused while a primary answers (use switchover). The loss window is the candidate's received WAL position against the end of the old primary's WAL, read with pg_waldump when this machine has the old primary's data directory (local control): the COMMIT records and bytes the candidate never got. A candidate that would lose commits, that is behind another standby, or whose loss cannot be known is refused unless --accept-data-loss. Recorded in `storage failover history` and the audit log.";
  static override args = { store: Args.string({ description: 'The replicated store.', required: true }) };
  static override flags = {
    to: Flags.string({ description: 'The standby to promote.', required: true }),
    'accept-data-loss': Flags.boolean({ description: 'Promote even when commits would be lost or the loss cannot be known.' }),
    confirm: Flags.string({ description: 'The store name again, to confirm without a prompt.' }),
  };
  static override examples = ['<%= config.bin %> failover promote main --to replica1 --confirm main'];

  async run(): Promise<FailoverEvent> {
    const { args, flags } = await this.parse(FailoverPromote);
    this.auditStores = [args.store];
    const fleet = await this.fleet(flags.config);
    const store = fleet.store(args.store).name;
    const json = this.jsonEnabled();
    const given = await confirmation(flags.confirm, `This promotes "${flags.to}" to primary of store "${store}". Type the store name to confirm: `, json);
    requireConfirmation(store, given, `Promoting a standby of store "${store}"`);
    const flow = await openFlow([store], (name) => `Promotion in ${name}`, { json, quiet: false });
    try {
      const event = await promote(
        fleet,
        { store, to: flags.to, acceptDataLoss: flags['accept-data-loss'], command: this.commandLine },
        flow.progressFor(store),
      );
      flow.settle(store, true, `${event.to} is primary`);
      await flow.close();
      this.auditDetails = { to: event.to, timeline: event.timeline, loss: event.loss };
      this.print(eventSummary(event));
      return event;
    } finally {
      await flow.close('failed: see the message below');
    }
  }
}
