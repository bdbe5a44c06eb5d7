// Flags several commands share.
import { Flags } from '@oclif/core';

export const csvFlag = Flags.boolean({ description: 'Print CSV instead of a table.', exclusive: ['json'] });

export const watchFlags = {
  watch: Flags.boolean({ description: 'Open a live view that refreshes until you press q (needs a TTY).' }),
  interval: Flags.integer({ description: 'Seconds between refreshes with --watch.', default: 2, min: 1 }),
  once: Flags.boolean({ description: 'With --watch: print one frame and exit (works without a TTY).', dependsOn: ['watch'] }),
};
