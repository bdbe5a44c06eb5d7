// Keeps secrets out of everything the tool prints: URLs are shown with the password masked, and
// any text (driver errors included) is scrubbed of every secret value the process has seen.

export const MASK = '****';

const knownSecrets = new Set<string>();

/** Registers a value that must never appear in output (passwords, keys). */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 3) knownSecrets.add(value);
  if (value && value.length >= 3) {
    // URL-encoded forms show up in connection strings and driver messages too.
    const encoded = encodeURIComponent(value);
    if (encoded !== value) knownSecrets.add(encoded);
  }
}

/** Masks the password in a connection URL; leaves anything that is not a URL unchanged. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      parsed.password = MASK;
      return parsed.toString();
    }
    return url;
  } catch {
    return scrubUrlCredentials(url);
  }
}

function scrubUrlCredentials(text: string): string {
  // scheme://user:password@host  →  scheme://user:****@host
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):([^@\s]*)@/gi, `$1:${MASK}@`);
}

/** Removes every registered secret and any URL credentials from free text. */
export function redact(text: string): string {
  let out = scrubUrlCredentials(text);
  // Longest first, so a secret that contains another is removed whole.
  const secrets = [...knownSecrets].sort((a, b) => b.length - a.length);
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  return out;
}

/** Deep-copies a JSON-like value with every string redacted. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = redactDeep(item);
    return out as T;
  }
  return value;
}
