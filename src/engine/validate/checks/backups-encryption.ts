// backups.encryption: backups are encrypted, unless the config turns it off explicitly (a
// warning; a failure under --strict).
import type { Check } from '../registry.js';

export const backupsEncryption: Check = {
  id: 'backups.encryption',
  suite: 'backups',
  title: 'backups are encrypted (or encryption is explicitly off)',
  async run({ fleet, strict }) {
    const encryption = fleet.config.file.backup?.encryption;
    if (encryption && 'enabled' in encryption)
      return [
        {
          status: strict ? 'fail' : 'warn',
          reason: 'encryption is explicitly off (backup.encryption.enabled: false)',
          hint: 'Remove encryption: { enabled: false }.',
        },
      ];
    const how = !encryption ? 'a key file' : 'keyFile' in encryption ? 'a key file' : 'passphrase' in encryption ? 'a passphrase' : 'a key';
    return [{ status: 'pass', reason: `backups are encrypted with ${how}` }];
  },
};
