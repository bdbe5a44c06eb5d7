// How a store is named in output: a URL with the password masked, or a file path.
import type { ResolvedStore } from '../config/load.js';
import { maskUrl } from '../redact.js';

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
