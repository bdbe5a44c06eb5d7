// config.plaintext: no password or backup key written in plaintext in the config file
// (a warning; a failure under --strict).
import { configWarnings } from '../../config/inspect.js';
import type { Check } from '../registry.js';

export const configPlaintext: Check = {
  id: 'config.plaintext',
  suite: 'config',
  title: 'no plaintext password or backup key in the config file',
  async run({ fleet, strict }) {
    const warnings = configWarnings(fleet.config);
    if (warnings.length === 0) return [{ status: 'pass', reason: 'no plaintext secrets' }];
    return warnings.map((warning) => ({
      subject: warning.path,
      status: strict ? 'fail' : 'warn',
      reason: `${warning.path} ${warning.message}`,
      hint: 'Move it to the vault: storage secrets set NAME, then write "secret:NAME" in its place.',
    }));
  },
};
