// Decides whether a --watch run can open a live view, and refuses clearly when it cannot.
import { StorageError } from '../engine/errors.js';
import { canAnimate } from '../ui/terminal.js';

/** True when a live view should open; false when one frame should be printed instead. */
export function wantsLiveView(flags: { watch: boolean; once: boolean; json: boolean }): boolean {
  if (!flags.watch || flags.once) return false;
  // A live view is not a document: --json with --watch prints nothing useful, at a terminal or not.
  if (flags.json) {
    throw new StorageError('USAGE', '--watch draws a live view and --json prints one document; they do not go together.', {
      hint: 'Add --once to print one JSON document, or drop --json to watch.',
    });
  }
  if (!canAnimate()) {
    throw new StorageError('NOT_A_TTY', '--watch needs an interactive terminal, and this is not one (no TTY, TERM=dumb or CI).', {
      hint: 'Add --once to print a single frame, or drop --watch.',
    });
  }
  return true;
}

/**
 * Once the person has quit a live view, a probe still waiting on a hung server (up to its connect
 * timeout) must not hold the exit: the process ends shortly after the command finishes.
 */
export function exitSoon(): void {
  setTimeout(() => process.exit(), 500).unref();
}
