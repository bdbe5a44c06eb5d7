// Decides whether a --watch run can open a live view, and refuses clearly when it cannot.
import { StorageError } from '../engine/errors.js';
import { canAnimate } from '../ui/terminal.js';

/** True when a live view should open; false when one frame should be printed instead. */
export function wantsLiveView(flags: { watch: boolean; once: boolean; json: boolean }): boolean {
  if (!flags.watch || flags.once || flags.json) return false;
  if (!canAnimate()) {
    throw new StorageError('NOT_A_TTY', '--watch needs an interactive terminal, and this is not one (no TTY, TERM=dumb or CI).', {
      hint: 'Add --once to print a single frame, or drop --watch.',
    });
  }
  return true;
}
