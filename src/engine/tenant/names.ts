// Tenant names: one rule everywhere (what an operator types is what they see), then the engine's
// own limits on the container it becomes (bytes, characters, reserved names).
import { StorageError } from '../errors.js';

/** Lower case (so no two tenants differ only in case, which MongoDB and some file systems cannot tell apart), lower-case letters or letters of scripts without case, digits, _ and -. */
const NAME = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{M}\p{Nd}_-]*$/u;

export function checkTenantName(name: string): void {
  if (name.normalize('NFC') !== name)
    throw new StorageError('USAGE', `Tenant name "${name}" is not in Unicode normal form C.`, { hint: 'Type it again, or normalize it (NFC) first.' });
  if (!NAME.test(name)) {
    const lower = name.toLowerCase();
    throw new StorageError('USAGE', `"${name}" is not a tenant name.`, {
      hint:
        lower !== name && NAME.test(lower)
          ? `Tenant names are lower case (two tenants must not differ only in case): use "${lower}".`
          : 'A tenant name starts with a lower-case letter and holds letters, digits, _ and - (no spaces, dots or slashes).',
    });
  }
}

export const utf8Length = (text: string) => Buffer.byteLength(text, 'utf8');
