// How a store is named in output: a URL with its credentials masked, or a file path.
import type { ResolvedStore } from '../config/load.js';
import { formatStoreUrl, parseStoreUrl, withRawQuery, withUrlParts } from '../config/store-url.js';
import { isCredentialParameter, maskUrl } from '../redact.js';

export { withUrlParts } from '../config/store-url.js';

export function storeTarget(store: ResolvedStore): string {
  return store.config.engine === 'sqlite' ? store.config.path : maskUrl(store.config.url);
}

/** host:port of a networked store (every host of a multi-host URL), for error messages. */
export function storeAddress(store: ResolvedStore): string {
  if (store.config.engine === 'sqlite') return store.config.path;
  const url = parseStoreUrl(store.config.url);
  if (!url) return store.name;
  if (url.scheme === 'mongodb+srv') return url.hosts.join(',');
  const defaultPort = store.config.engine === 'postgres' ? '5432' : '27017';
  return url.hosts.map((host) => (/:\d+$/.test(host) ? host : `${host}:${defaultPort}`)).join(',');
}

export interface UrlCredentials {
  /** The URL with no credential left in it: safe on a child process's command line (visible in `ps`). */
  url: string;
  /** The password of the userinfo (`user:PASSWORD@host`), decoded. */
  userinfo?: string;
  /** A `password=` query parameter, decoded (node-pg and libpq let it win over the userinfo). */
  query?: string;
}

/**
 * Takes every credential out of a connection URL: the userinfo password and every credential
 * query parameter (`password`, `sslpassword`, …). The other parameters are kept byte for byte
 * (re-encoding them would turn spaces in `options=` into `+`, which libpq reads literally).
 */
export function withoutCredentials(url: string): UrlCredentials {
  const parsed = parseStoreUrl(url);
  if (!parsed) throw new Error('not a connection URL');
  let query: string | undefined;
  const kept: string[] = [];
  for (const part of parsed.rawQuery.split('&').filter(Boolean)) {
    const [rawKey, ...rest] = part.split('=');
    const key = decodeURIComponent(rawKey);
    if (!isCredentialParameter(key)) kept.push(part);
    else if (key.toLowerCase() === 'password') query = decodeURIComponent(rest.join('=').replace(/\+/g, ' '));
  }
  return { url: formatStoreUrl(withRawQuery({ ...parsed, password: undefined }, kept.join('&'))), userinfo: parsed.password, query };
}

/** The store's URL logging in with `password` (any credential in the URL itself is taken out first). */
export function urlWithPassword(store: ResolvedStore, password: string): string {
  return withUrlParts(withoutCredentials((store.config as { url: string }).url).url, { password });
}
