// What the tenant commands share: reading tenant names from arguments or a file.
import fs from 'node:fs';
import { StorageError } from '../engine/errors.js';

/** Names from the command line and, with --from-file, one per line (blank lines and # comments skipped; - is stdin). */
export function tenantNames(argv: string[], fromFile: string | undefined): string[] {
  const names = [...argv];
  if (fromFile) {
    let text: string;
    try {
      text = fs.readFileSync(fromFile === '-' ? 0 : fromFile, 'utf8');
    } catch (error) {
      throw new StorageError('USAGE', `Cannot read ${fromFile}: ${(error as Error).message}.`, { hint: 'Give a file with one tenant name per line.' });
    }
    names.push(
      ...text
        .split('\n')
        .map((line) => line.replace(/#.*/, '').trim())
        .filter(Boolean),
    );
  }
  return names;
}
