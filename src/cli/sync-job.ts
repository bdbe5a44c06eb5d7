// The job a sync command works on: a JOB named in the config, or --from STORE:TABLE --to STORE:TABLE.
import { Args, Flags } from '@oclif/core';
import { StorageError } from '../engine/errors.js';
import type { Fleet } from '../engine/fleet.js';
import { adHocJob, jobNamed, parsePolicy, type SyncJob } from '../engine/sync/jobs.js';

export const jobArg = { job: Args.string({ description: 'A job named under sync.jobs in the config (or give --from and --to).' }) };

export const adHocFlags = {
  from: Flags.string({ description: 'Ad hoc source: STORE:TABLE (a schema is optional: main:public.orders).' }),
  to: Flags.string({ description: 'Ad hoc target: STORE:TABLE.' }),
  key: Flags.string({ description: 'Ad hoc: key column(s), comma-separated (default: the source primary key).' }),
  mode: Flags.string({
    description: 'Ad hoc: upsert (default), mirror (also deletes what the source lacks) or append.',
    options: ['upsert', 'mirror', 'append'],
  }),
  conflict: Flags.string({
    description: 'Ad hoc: rows changed on both sides since the last run: source-wins (default), target-wins, manual, or newest-wins:COLUMN.',
  }),
};

export function syncJob(fleet: Fleet, job: string | undefined, flags: { from?: string; to?: string; key?: string; mode?: string; conflict?: string }): SyncJob {
  if (job && (flags.from || flags.to))
    throw new StorageError('USAGE', 'Give a JOB or --from/--to, not both.', { hint: 'A configured job already names both sides.' });
  if (job) {
    const named = jobNamed(fleet, job);
    return flags.conflict ? { ...named, conflict: parsePolicy(flags.conflict) } : named;
  }
  if (!flags.from || !flags.to)
    throw new StorageError('USAGE', 'Which sync? Give a JOB from the config, or --from STORE:TABLE --to STORE:TABLE.', {
      hint: 'For example: storage sync plan --from lite:orders --to main:public.orders',
    });
  return adHocJob(fleet, flags.from, flags.to, {
    key: flags.key
      ?.split(',')
      .map((part) => part.trim())
      .filter(Boolean),
    mode: flags.mode as SyncJob['mode'] | undefined,
    conflict: flags.conflict ? parsePolicy(flags.conflict) : undefined,
  });
}
