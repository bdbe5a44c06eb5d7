// Resolves `secret:NAME` references at connect time, never earlier. Until the vault exists, a
// reference that cannot be resolved is a configuration error that names the secret.
import { StorageError } from '../errors.js';
import { registerSecret } from '../redact.js';
import { envPrefix, type LoadedConfig, type ResolvedStore } from './load.js';

export const SECRET_PREFIX = 'secret:';

/** Looks a secret up by name; resolves undefined when it does not exist. */
export type SecretResolver = (name: string) => Promise<string | undefined>;

const noVault: SecretResolver = async () => undefined;

export function secretName(value: string | undefined): string | undefined {
  return value?.startsWith(SECRET_PREFIX) ? value.slice(SECRET_PREFIX.length) : undefined;
}

export interface SecretReference {
  /** The secret's name in the vault. */
  name: string;
  /** Where the config makes the reference: `stores.main.password`, `backup.encryption.key`. */
  path: string;
  /** Who uses it: a store name, or `backup encryption`. */
  user: string;
}

/** Every `secret:` reference the config makes: store passwords and the backup key or passphrase. */
export function secretReferences(config: LoadedConfig): SecretReference[] {
  const refs: SecretReference[] = [];
  for (const store of config.stores.values()) {
    const name = store.config.engine === 'sqlite' ? undefined : secretName(store.config.password);
    if (name !== undefined) refs.push({ name, path: `stores.${store.name}.password`, user: store.name });
  }
  const encryption = config.file.backup?.encryption;
  for (const field of ['passphrase', 'key'] as const) {
    const name = secretName(encryption && field in encryption ? (encryption as Record<string, string>)[field] : undefined);
    if (name !== undefined) refs.push({ name, path: `backup.encryption.${field}`, user: 'backup encryption' });
  }
  return refs;
}

/** The password to connect with, or undefined when the URL carries it (or none is needed). */
export async function resolvePassword(store: ResolvedStore, resolver: SecretResolver = noVault): Promise<string | undefined> {
  if (store.config.engine === 'sqlite') return undefined;
  const value = store.config.password;
  const name = secretName(value);
  if (name === undefined) return value;
  const resolved = await resolver(name);
  if (resolved === undefined) {
    throw new StorageError('SECRET_UNRESOLVED', `Store "${store.name}" takes its password from secret "${name}", which cannot be resolved.`, {
      hint: `Add the secret to the vault, or set ${envPrefix(store.name)}PASSWORD to override it.`,
      details: { store: store.name, secret: name },
    });
  }
  registerSecret(resolved);
  return resolved;
}
