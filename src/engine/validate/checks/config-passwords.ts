// config.passwords: no store password, and no vault or backup passphrase given in the environment,
// is weak. A weak one is easy to guess, and it is a word output cannot scrub without rewriting
// the tool's own text (a password `postgres` would turn the engine column into `****`), so it is
// masked only where it is known to be a credential: this check is where the operator hears of it.
import { resolvePassword, secretName } from '../../config/secrets.js';
import { weakness } from '../../redact.js';
import { withoutCredentials } from '../../engines/target.js';
import type { Check, CheckOutcome } from '../registry.js';

export const configPasswords: Check = {
  id: 'config.passwords',
  suite: 'config',
  title: 'no weak password or passphrase',
  async run({ fleet, stores, env }) {
    const outcomes: CheckOutcome[] = [];
    const judge = (subject: string, what: string, value: string | undefined, hint: string) => {
      const why = value ? weakness(value) : undefined;
      if (why) outcomes.push({ subject, status: 'warn', reason: `${what} is weak: ${why}`, hint });
    };
    for (const store of fleet.select(stores)) {
      if (store.config.engine === 'sqlite') continue;
      const hint = secretName(store.config.password)
        ? `Give it a strong one: storage secrets rotate ${store.name} (32 random characters, kept in the vault).`
        : `Keep the password in the vault (storage secrets set NAME; password: "secret:NAME"), then: storage secrets rotate ${store.name}.`;
      let fromUrl: { userinfo?: string; query?: string } = {};
      try {
        fromUrl = withoutCredentials(store.config.url);
      } catch {
        // config.file reports a URL that does not parse.
      }
      let configured: string | undefined;
      try {
        configured = await resolvePassword(store, fleet.secrets);
      } catch {
        // An unresolvable secret: reference is config.secrets' failure to report.
      }
      const seen = new Set<string>();
      for (const value of [fromUrl.query, configured, fromUrl.userinfo]) {
        if (value === undefined || seen.has(value)) continue;
        seen.add(value);
        judge(store.name, `the password of store "${store.name}"`, value, hint);
      }
    }
    judge('STORAGE_VAULT_PASSPHRASE', 'the vault passphrase', env.STORAGE_VAULT_PASSPHRASE, 'Choose a longer passphrase: storage secrets rekey.');
    judge('STORAGE_BACKUP_PASSPHRASE', 'the backup passphrase', env.STORAGE_BACKUP_PASSPHRASE, 'Prefer a key file (backup.encryption.keyFile).');
    return outcomes.length > 0 ? outcomes : [{ status: 'pass', reason: 'no weak password' }];
  },
};
