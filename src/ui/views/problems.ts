// Under a table of stores: the full reason and hint for each one that failed.
import { color } from '../output.js';

/** The full reason and hint for each store that is down, under the table. */
export function problemLines(entries: Array<{ store: string; error: { code: string; message: string; hint?: string } | null }>): string {
  return entries
    .filter((entry) => entry.error)
    .map((entry) => `${color.red(entry.store)}: ${entry.error!.message}${entry.error!.hint ? `\n  ${color.dim('hint:')} ${entry.error!.hint}` : ''}`)
    .join('\n');
}
