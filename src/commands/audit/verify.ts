import { StorageCommand } from '../../cli/base-command.js';
import { auditPaths, verifyAudit, type AuditVerification } from '../../engine/audit/log.js';
import { StorageError } from '../../engine/errors.js';

export default class AuditVerify extends StorageCommand {
  static override summary =
    'Check the audit chain: an edited, removed or reordered entry, a cut-off tail, or a log rolled back or deleted, fails with exit 65 naming the first bad entry.';

  async run(): Promise<AuditVerification & { log: string }> {
    await this.parse(AuditVerify);
    const log = auditPaths().log;
    const result = verifyAudit();
    if (!result.ok) {
      throw new StorageError(
        'BAD_DATA',
        `The audit log ${log} fails verification at line ${result.problem!.line} (entry ${result.problem!.seq}): ${result.problem!.reason}.`,
        {
          hint: 'Entries were changed after they were written. Keep the file as evidence; compare it with your log shipping or backups.',
          details: { ...result.problem },
        },
      );
    }
    const unkeyed = result.unkeyed ? ` ${result.unkeyed} of them predate the keyed format: their chain shows order and completeness, not who wrote them.` : '';
    this.print(`The audit log ${log} is intact: ${result.entries} entr${result.entries === 1 ? 'y' : 'ies'}, chain, head and key record verified.${unkeyed}`);
    for (const warning of result.warnings ?? []) this.warning(warning);
    return { ...result, log };
  }
}
