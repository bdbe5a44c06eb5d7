// Flags several commands share.
import { Flags } from '@oclif/core';
import { parseDuration } from '../engine/config/duration.js';
import { StorageError } from '../engine/errors.js';

export const csvFlag = Flags.boolean({ description: 'Print CSV instead of a table.', exclusive: ['json'] });

export const watchFlags = {
  watch: Flags.boolean({ description: 'Open a live view that refreshes until you press q (needs a TTY).' }),
  interval: Flags.integer({ description: 'Seconds between refreshes with --watch.', default: 2, min: 1 }),
  once: Flags.boolean({ description: 'With --watch: print one frame and exit (works without a TTY).', dependsOn: ['watch'] }),
};

/** A duration flag ("30m", "24h", "7d"), parsed to milliseconds; anything else is a usage error (64) naming the flag. */
export const durationFlag = Flags.custom<number>({
  parse: async (input, _context, options) => {
    const ms = parseDuration(input);
    if (ms === undefined)
      throw new StorageError('USAGE', `--${options.name} "${input}" is not a duration.`, { hint: 'Use a number and a unit: 500ms, 30s, 15m, 24h, 7d or 2w.' });
    return ms;
  },
});
