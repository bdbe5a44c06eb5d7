// Destructive actions take the resource's name again as confirmation (ARCHITECTURE.md §3):
// missing is CONFIRMATION_REQUIRED, different is CONFIRMATION_MISMATCH, both exit 77.
import { StorageError } from './errors.js';
import { shellQuote } from './system/shell.js';

export function requireConfirmation(expected: string, given: string | undefined, action: string): void {
  if (given === undefined) {
    throw new StorageError('CONFIRMATION_REQUIRED', `${action} needs confirmation.`, {
      hint: `Re-run with --confirm ${shellQuote(expected)} (no terminal here to ask).`,
    });
  }
  if (given !== expected) {
    throw new StorageError('CONFIRMATION_MISMATCH', `The confirmation "${given}" does not match "${expected}"; nothing was changed.`, {
      hint: `Type the name exactly: --confirm ${shellQuote(expected)}.`,
    });
  }
}
