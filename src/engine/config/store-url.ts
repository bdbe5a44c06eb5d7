// Connection URLs as the drivers accept them, including the multi-host form replica sets use
// (`mongodb://u:pw@h1:27017,h2:27017/db`, `postgresql://h1,h2/db`), which WHATWG URL rejects.
// Every place that reads or rewrites a store's URL goes through here.

export interface StoreUrl {
  scheme: string;
  /** Decoded user name ('' when none). */
  username: string;
  /** Decoded password from the userinfo, if any. */
  password?: string;
  /** `host[:port]` entries, as written. */
  hosts: string[];
  /** Decoded database from the path, or undefined when the path names none. */
  database?: string;
  params: URLSearchParams;
  /** The query as written (without `?`): re-encoding would turn spaces in `options=` into `+`, which libpq reads literally. */
  rawQuery: string;
}

const SHAPE = /^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i;

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Parses a store URL; returns undefined when it is not one. */
export function parseStoreUrl(url: string): StoreUrl | undefined {
  const match = SHAPE.exec(url.trim());
  if (!match) return undefined;
  const [, scheme, userinfo, hostList, pathPart, query] = match;
  const hosts = hostList.split(',').filter((host) => host.length > 0);
  if (hosts.length === 0 || hosts.some((host) => !/^(\[[0-9a-f:.]+\]|[^\s:[\]]+)(:\d{1,5})?$/i.test(host))) return undefined;
  const colon = userinfo?.indexOf(':') ?? -1;
  const username = userinfo === undefined ? '' : decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
  const password = userinfo !== undefined && colon >= 0 ? decode(userinfo.slice(colon + 1)) : undefined;
  const path = pathPart.replace(/^\//, '');
  return {
    scheme: scheme.toLowerCase(),
    username,
    password,
    hosts,
    database: path ? decode(path) : undefined,
    params: new URLSearchParams(query?.slice(1) ?? ''),
    rawQuery: query?.slice(1) ?? '',
  };
}

/** Writes a parsed URL back, with user and password percent-encoded. */
export function formatStoreUrl(url: StoreUrl): string {
  const user = url.username || url.password !== undefined ? encodeURIComponent(url.username) : '';
  const auth = url.password !== undefined ? `${user}:${encodeURIComponent(url.password)}@` : user ? `${user}@` : '';
  const path = url.database !== undefined ? `/${encodeURIComponent(url.database)}` : '';
  const query = url.rawQuery;
  return `${url.scheme}://${auth}${url.hosts.join(',')}${path}${query ? `?${query}` : ''}`;
}

/** A URL with the password and/or database replaced (undefined leaves a part as it is). */
export function withUrlParts(url: string, parts: { password?: string; database?: string }): string {
  const parsed = parseStoreUrl(url);
  if (!parsed) throw new Error('not a connection URL');
  return formatStoreUrl({
    ...parsed,
    ...(parts.password !== undefined ? { password: parts.password } : {}),
    ...(parts.database !== undefined ? { database: parts.database } : {}),
  });
}

/** The same URL with a new query (given as written, without `?`). */
export function withRawQuery(url: StoreUrl, rawQuery: string): StoreUrl {
  return { ...url, rawQuery, params: new URLSearchParams(rawQuery) };
}
