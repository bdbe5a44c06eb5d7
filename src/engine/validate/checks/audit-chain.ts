// audit.chain: the audit log's hash chain and its separately kept head verify.
import { auditPaths, verifyAudit } from '../../audit/log.js';
import type { Check } from '../registry.js';

export const auditChain: Check = {
  id: 'audit.chain',
  suite: 'audit',
  title: 'the audit log chain verifies',
  async run({ env }) {
    const result = verifyAudit(auditPaths(env.STORAGE_AUDIT_DIR, env));
    if (result.ok) {
      const unkeyed = result.unkeyed ? ` (${result.unkeyed} unkeyed, from before the log was keyed)` : '';
      const notes = result.warnings?.length ? `; ${result.warnings.join('; ')}` : '';
      return [{ status: 'pass', reason: `${result.entries} ${result.entries === 1 ? 'entry' : 'entries'}${unkeyed}, chain and head intact${notes}` }];
    }
    return [
      {
        status: 'fail',
        reason: `line ${result.problem!.line}: ${result.problem!.reason}`,
        hint: 'Entries were changed after they were written: keep the file as evidence, and find out who changed it.',
      },
    ];
  },
};
