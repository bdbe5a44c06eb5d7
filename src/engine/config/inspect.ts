// The configuration as an operator may see it (secrets masked), and the problems worth a warning.
import { MASK, isCredentialParameter, maskUrl } from '../redact.js';
import { secretName } from './secrets.js';
import { parseStoreUrl } from './store-url.js';
import type { LoadedConfig } from './load.js';

export interface ConfigView {
  source: LoadedConfig['source'];
  stores: Record<string, Record<string, unknown>>;
  backup: unknown;
  tenancy: unknown;
  vault: unknown;
}

export function describeConfig(config: LoadedConfig): ConfigView {
  const stores: Record<string, Record<string, unknown>> = {};
  for (const store of config.stores.values()) {
    const { config: raw } = store;
    const view: Record<string, unknown> = { ...raw };
    if (raw.engine !== 'sqlite') {
      view.url = maskUrl(raw.url);
      if (raw.password) view.password = secretName(raw.password) !== undefined ? raw.password : MASK;
      if (raw.engine === 'postgres' && raw.standbys) view.standbys = raw.standbys.map((standby) => ({ ...standby, url: maskUrl(standby.url) }));
    }
    view.connectTimeoutMs = store.connectTimeoutMs;
    view.statementTimeoutMs = store.statementTimeoutMs;
    view.poolSize = store.poolSize;
    if (store.embedded) view.embedded = true;
    stores[store.name] = view;
  }
  const backup = config.file.backup;
  let encryption = backup?.encryption;
  if (encryption && 'passphrase' in encryption && secretName(encryption.passphrase) === undefined) encryption = { passphrase: MASK };
  if (encryption && 'key' in encryption && secretName(encryption.key) === undefined) encryption = { key: MASK };
  return {
    source: config.source,
    stores,
    backup: backup ? { ...backup, encryption } : null,
    tenancy: config.file.tenancy ?? null,
    vault: config.file.vault ?? null,
  };
}

/** Which credentials a URL carries in plaintext: its userinfo password, credential query parameters (`password=`, …). */
function urlCredentials(url: string | undefined): string[] {
  const parsed = url ? parseStoreUrl(url) : undefined;
  if (!parsed) return [];
  const found = parsed.password ? ['password'] : [];
  for (const key of new Set(parsed.params.keys())) if (isCredentialParameter(key)) found.push(`${key}= parameter`);
  return found;
}

export interface ConfigWarning {
  path: string;
  message: string;
}

/** Things that are valid but unwise: passwords and backup keys written in plaintext in the file. */
export function configWarnings(config: LoadedConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  type RawStore = { password?: string; url?: string; standbys?: Array<{ url?: string }> };
  const fileStores = ((config.raw as { stores?: Record<string, RawStore> } | undefined)?.stores ?? {}) as Record<string, RawStore>;
  for (const [name, raw] of Object.entries(fileStores)) {
    if (raw.password && secretName(raw.password) === undefined) {
      warnings.push({
        path: `stores.${name}.password`,
        message: 'is a plaintext password in the config file; use a secret: reference or the environment',
      });
    }
    const urls: Array<[string, string | undefined]> = [
      [`stores.${name}.url`, raw.url],
      ...(raw.standbys ?? []).map((standby, i): [string, string | undefined] => [`stores.${name}.standbys.${i}.url`, standby?.url]),
    ];
    for (const [where, url] of urls) {
      const carried = urlCredentials(url);
      if (carried.length > 0)
        warnings.push({ path: where, message: `carries a plaintext ${carried.join(' and ')}; move it to a secret: reference or the environment` });
    }
  }
  const encryption = (config.raw as { backup?: { encryption?: Record<string, unknown> } } | undefined)?.backup?.encryption ?? {};
  for (const field of ['passphrase', 'key'] as const) {
    const value = encryption[field];
    if (typeof value === 'string' && secretName(value) === undefined)
      warnings.push({
        path: `backup.encryption.${field}`,
        message: `is the backup ${field} in plaintext in the config file; use a secret: reference, a keyFile, or STORAGE_BACKUP_PASSPHRASE`,
      });
  }
  return warnings;
}
