import { Args } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { csvFlag } from '../../cli/flags.js';
import type { FailoverEvent } from '../../engine/engines/spec.js';
import { readHistory } from '../../engine/failover/history.js';
import { renderCsv, renderTable } from '../../ui/output.js';

const HEADERS = ['at', 'store', 'kind', 'from', 'to', 'timeline', 'lsn', 'lag at start', 'unavailable ms', 'loss', 'duration ms', 'operator'];

export default class FailoverHistory extends StorageCommand {
  static override summary =
    'Every switchover, promotion and rejoin: when, from → to, timeline, LSN, lag, write unavailability, loss window, and the command that did it.';
  static override args = { store: Args.string({ description: 'Only this store.' }) };
  static override flags = { csv: csvFlag };

  async run(): Promise<{ events: FailoverEvent[] }> {
    const { args, flags } = await this.parse(FailoverHistory);
    const events = readHistory(args.store);
    const loss = (event: FailoverEvent) => (event.loss ? (event.loss.known ? `${event.loss.commits} commits, ${event.loss.bytes} B` : 'unknown') : '');
    const rows = events.map((e) => [
      e.at,
      e.store,
      e.kind,
      e.from ?? '',
      e.to,
      e.timeline ?? '',
      e.lsn ?? '',
      e.lagBytesAtStart ?? '',
      e.unavailableMs ?? '',
      loss(e),
      e.durationMs,
      e.operator,
    ]);
    this.print(flags.csv ? renderCsv(HEADERS, rows) : rows.length ? renderTable(HEADERS, rows) : 'No switchover, promotion or rejoin recorded yet.');
    return { events };
  }
}
