// Suite `config`: the file itself is valid by the time checks run (an invalid one exits 78 first).
import { configWarnings } from '../../config/inspect.js';
import { secretName } from '../../config/secrets.js';
import type { Check } from '../registry.js';

export const configChecks: Check[] = [
  {
    id: 'config.secrets',
    suite: 'config',
    title: 'every secret: reference exists in the vault',
    async run({ fleet }) {
      const refs = [...fleet.config.stores.values()]
        .map((store) => ({ store: store.name, name: store.config.engine === 'sqlite' ? undefined : secretName(store.config.password) }))
        .filter((ref): ref is { store: string; name: string } => ref.name !== undefined);
      if (refs.length === 0) return [{ status: 'pass', reason: 'no secret: references' }];
      return Promise.all(
        refs.map(async (ref) => {
          const value = await fleet.secrets?.(ref.name);
          return value === undefined
            ? { subject: ref.store, status: 'fail' as const, reason: `secret "${ref.name}" is not in the vault`, hint: `storage secrets set ${ref.name}` }
            : { subject: ref.store, status: 'pass' as const, reason: `secret "${ref.name}" resolves` };
        }),
      );
    },
  },
  {
    id: 'config.plaintext',
    suite: 'config',
    title: 'no plaintext password in the config file',
    async run({ fleet, strict }) {
      const warnings = configWarnings(fleet.config).filter((warning) => warning.message.includes('plaintext'));
      if (warnings.length === 0) return [{ status: 'pass', reason: 'no plaintext passwords' }];
      return warnings.map((warning) => ({
        subject: warning.path,
        status: strict ? ('fail' as const) : ('warn' as const),
        reason: `${warning.path} ${warning.message}`,
        hint: 'Move it to the vault: storage secrets set NAME, then password: "secret:NAME".',
      }));
    },
  },
];
