// config.secrets: every `secret:` reference in the config (store passwords, the backup key)
// resolves through the vault.
import { secretReferences } from '../../config/secrets.js';
import { StorageError } from '../../errors.js';
import type { Check, CheckOutcome } from '../registry.js';
import { shellQuote } from '../../system/shell.js';

export const configSecrets: Check = {
  id: 'config.secrets',
  suite: 'config',
  title: 'every secret: reference exists in the vault',
  async run({ fleet }) {
    const refs = secretReferences(fleet.config);
    if (refs.length === 0) return [{ status: 'pass', reason: 'no secret: references' }];
    return Promise.all(
      refs.map(async (ref): Promise<CheckOutcome> => {
        try {
          const value = await fleet.secrets?.(ref.name);
          return value === undefined
            ? { subject: ref.path, status: 'fail', reason: `secret "${ref.name}" is not in the vault`, hint: `storage secrets set ${shellQuote(ref.name)}` }
            : { subject: ref.path, status: 'pass', reason: `secret "${ref.name}" resolves` };
        } catch (error) {
          // A vault that cannot be opened (no key, wrong key) is a configuration failure, not a crash.
          if (!(error instanceof StorageError)) throw error;
          return { subject: ref.path, status: 'fail', reason: `secret "${ref.name}": ${error.message}`, hint: error.hint };
        }
      }),
    );
  },
};
