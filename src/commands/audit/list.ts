import { Flags } from '@oclif/core';
import { StorageCommand } from '../../cli/base-command.js';
import { csvFlag, durationFlag } from '../../cli/flags.js';
import { readAudit, type AuditEntry } from '../../engine/audit/log.js';
import { renderCsv, renderTable } from '../../ui/output.js';

const HEADERS = ['seq', 'time', 'user', 'host', 'command', 'stores', 'outcome', 'exit', 'took'];

export default class AuditList extends StorageCommand {
  static override summary = 'List audit entries: who ran which mutating command, where, when, on which stores, and how it ended.';
  static override flags = {
    since: durationFlag({ description: 'Only entries younger than this, e.g. 24h or 7d.' }),
    store: Flags.string({ description: 'Only entries about this store.' }),
    command: Flags.string({ description: 'Only entries whose command contains this text, e.g. "backup restore".' }),
    csv: csvFlag,
  };
  static override examples = ['<%= config.bin %> audit list --since 24h', '<%= config.bin %> audit list --command "backup restore" --json'];

  async run(): Promise<{ entries: AuditEntry[] }> {
    const { flags } = await this.parse(AuditList);
    const since = flags.since === undefined ? 0 : Date.now() - flags.since;
    const all = readAudit();
    // A store removed from the config keeps its history; any other name is a typo (64).
    if (flags.store) (await this.fleet(flags.config)).knownStore(flags.store, () => all.flatMap((entry) => entry.stores ?? []), 'audit entries');
    const entries = all.filter(
      (entry) =>
        Date.parse(entry.time) >= since && (!flags.store || entry.stores?.includes(flags.store)) && (!flags.command || entry.command?.includes(flags.command)),
    );
    const rows = entries.map((e) => [
      e.seq,
      e.time,
      e.user,
      e.host,
      e.command,
      (e.stores ?? []).join(' '),
      e.outcome,
      e.exitCode,
      `${(e.durationMs / 1000).toFixed(1)}s`,
    ]);
    this.print(flags.csv ? renderCsv(HEADERS, rows) : rows.length ? renderTable(HEADERS, rows) : 'No audit entries match.');
    return { entries };
  }
}
