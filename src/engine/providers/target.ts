// How a store is named in output: a URL with the password masked, or a file path.
import type { ResolvedStore } from '../config/load.js';
import { parseStoreUrl } from '../config/store-url.js';
import { maskUrl } from '../redact.js';

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
