// Keeps secrets out of everything the tool prints, in two layers. Structurally: every credential
// form a driver accepts is masked where it stands (the password of a URL's userinfo, `password=`
// query parameters and libpq keywords, `PGPASSWORD=`-style assignments), whatever the value. And
// as a last resort over free text (driver errors, child-process stderr): every *distinctive*
// secret the process has seen is replaced wherever it appears. A secret that is a short or common
// word (`postgres`, `wrong`) is never replaced in free text, because it cannot be told apart from
// the tool's own words (the engine column, "wrong passphrase", file names); it is masked only
// where it is known to be a credential, and `validate --suite config` warns about it instead.

export const MASK = '****';

const knownSecrets = new Set<string>();
let distinctiveSorted: string[] | undefined;

// Words the tool itself prints (engines, its own name, loopback hosts): never treated as secrets in free text.
const VOCABULARY = new Set(['postgres', 'postgresql', 'mongodb', 'sqlite', 'storage', 'storage-cli', 'localhost', '127.0.0.1', 'password', 'passphrase']);

/**
 * Whether a value can be scrubbed from free text without rewriting ordinary words: at least 8
 * characters mixing letters with digits or symbols, or 16 characters of anything, and not one of
 * the tool's own words. A generated password always is; `postgres` or `wrong` is not.
 */
export function isDistinctive(value: string): boolean {
  return weakness(value) === undefined;
}

/** Why a password cannot be told apart from ordinary words (and is easy to guess), or undefined when it can. */
export function weakness(value: string): string | undefined {
  if (VOCABULARY.has(value.toLowerCase())) return 'it is a word the tool itself prints';
  if (value.length < 8) return 'it is shorter than 8 characters';
  if (value.length >= 16) return undefined;
  const classes = [/[A-Za-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((pattern) => pattern.test(value)).length;
  return classes >= 2 ? undefined : 'it is under 16 characters of one kind only (letters, digits or symbols)';
}

/** Registers a value that must never appear in output (passwords, keys). */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 3) return;
  const before = knownSecrets.size;
  knownSecrets.add(value);
  // URL-encoded forms show up in connection strings and driver messages too.
  const encoded = encodeURIComponent(value);
  if (encoded !== value) knownSecrets.add(encoded);
  if (knownSecrets.size !== before) distinctiveSorted = undefined;
}

/** Every secret value this process has registered (for keeping them out of child environments). */
export function isKnownSecret(value: string): boolean {
  return knownSecrets.has(value);
}

// Query parameters, libpq keywords and environment variables that carry a credential:
// password, sslpassword, tlsCertificateKeyFilePassword, PGPASSWORD, STORAGE_BACKUP_PASSPHRASE, …
const CREDENTIAL_KEY = String.raw`(?:[A-Za-z0-9_]*(?:password|passwd|passphrase|secret|token)|pwd|pass)`;
// scheme://user:password@host: the password may hold '@' (unencoded, as users write it), never '/', '?' or '#'.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s'"]*):([^\s'"/?#]*)@/gi;
// KEY=value after a start, a space, '?', '&' or ';' (URL queries, libpq conninfo, env assignments); libpq quotes values with '.
const KEY_VALUE = new RegExp(String.raw`(^|[\s?&;,(])(${CREDENTIAL_KEY})=('(?:[^'\\]|\\.)*'|[^\s&#'",;)]*)`, 'gi');
// MongoDB's authMechanismProperties=AWS_SESSION_TOKEN:… carries a credential inside a parameter.
const SESSION_TOKEN = /(AWS_SESSION_TOKEN(?::|%3A))[^,&\s'"]*/gi;

/** Masks every credential a connection string or free text carries in a known place, whatever its value. */
export function maskCredentials(text: string): string {
  return text
    .replace(USERINFO, (_match, prefix: string, password: string) => (password ? `${prefix}:${MASK}@` : `${prefix}:@`))
    .replace(KEY_VALUE, (_match, lead: string, key: string, value: string) => (value ? `${lead}${key}=${MASK}` : `${lead}${key}=`))
    .replace(SESSION_TOKEN, `$1${MASK}`);
}

/** A connection URL with every credential masked (userinfo password, `password=` and similar query parameters); the rest unchanged. */
export function maskUrl(url: string): string {
  return maskCredentials(url);
}

/** The credential query parameter names of a connection URL (`password`, `sslpassword`, …). */
export function isCredentialParameter(name: string): boolean {
  return new RegExp(`^${CREDENTIAL_KEY}$`, 'i').test(name);
}

function distinctiveSecrets(): string[] {
  // Longest first, so a secret that contains another is removed whole.
  distinctiveSorted ??= [...knownSecrets].filter(isDistinctive).sort((a, b) => b.length - a.length);
  return distinctiveSorted;
}

/** Masks credentials in known places and removes every distinctive registered secret from free text. */
export function redact(text: string): string {
  let out = maskCredentials(text);
  for (const secret of distinctiveSecrets()) {
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
