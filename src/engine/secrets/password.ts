// Strong random passwords: for `secrets set --generate` and for password rotation. URL-safe
// base64 (no quoting needed in a connection URL, a shell or a config file), ~6 bits per character.
import { randomBytes } from 'node:crypto';

export function generatePassword(length = 32): string {
  return randomBytes(length).toString('base64url').slice(0, length);
}
