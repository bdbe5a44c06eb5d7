// How a store is named in output: a URL with its credentials masked, or a file path.
import type { ResolvedStore } from '../config/load.js';
import { isCredentialParameter, maskUrl } from '../redact.js';

export function storeTarget(store: ResolvedStore): string {
  return store.config.engine === 'sqlite' ? store.config.path : maskUrl(store.config.url);
}

/** host:port of a networked store, for error messages. */
export function storeAddress(store: ResolvedStore): string {
  if (store.config.engine === 'sqlite') return store.config.path;
  try {
    const url = new URL(store.config.url);
    const defaultPort = store.config.engine === 'postgres' ? '5432' : '27017';
    return `${url.hostname}:${url.port || defaultPort}`;
  } catch {
    return store.name;
  }
}

/** A URL with the password and/or database replaced. */
export function withUrlParts(url: string, parts: { password?: string; database?: string }): string {
  const parsed = new URL(url);
  if (parts.password !== undefined) parsed.password = encodeURIComponent(parts.password);
  if (parts.database !== undefined) parsed.pathname = `/${encodeURIComponent(parts.database)}`;
  return parsed.toString();
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
  const parsed = new URL(url);
  const userinfo = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.password = '';
  let query: string | undefined;
  const kept: string[] = [];
  for (const part of parsed.search.replace(/^\?/, '').split('&').filter(Boolean)) {
    const [rawKey, ...rest] = part.split('=');
    const key = decodeURIComponent(rawKey);
    if (!isCredentialParameter(key)) kept.push(part);
    else if (key.toLowerCase() === 'password') query = decodeURIComponent(rest.join('=').replace(/\+/g, ' '));
  }
  parsed.search = kept.length ? `?${kept.join('&')}` : '';
  return { url: parsed.toString(), userinfo, query };
}
