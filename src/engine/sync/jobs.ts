// A sync job: from a table/collection of one store to one of another, with its key, mode and
// optional watermark; named in the config or given on the command line.
import type { Fleet } from '../fleet.js';
import { parseDuration } from '../config/duration.js';
import { StorageError } from '../errors.js';
import type { ConflictPolicy } from './conflicts.js';

export type SyncMode = 'upsert' | 'mirror' | 'append';

export interface SyncJob {
  name: string;
  from: { store: string; table: string };
  to: { store: string; table: string };
  key?: string[];
  watermark?: string;
  /** How far before the last watermark seen an incremental run reads again (timestamp watermarks), in ms. */
  watermarkOverlapMs: number;
  mode: SyncMode;
  /** Rows changed on both sides since the last run (upsert and mirror; append never overwrites). */
  conflict: ConflictPolicy;
  batchSize: number;
  maxLag?: string;
}

export const DEFAULT_BATCH = 5000;
/** Writers whose clocks disagree by up to this much still have their rows picked up by the next incremental run. */
export const DEFAULT_OVERLAP_MS = 5000;

export function configuredJobs(fleet: Fleet): string[] {
  return Object.keys(fleet.config.file.sync?.jobs ?? {});
}

export function jobNamed(fleet: Fleet, name: string): SyncJob {
  const found = fleet.config.file.sync?.jobs?.[name];
  if (!found) {
    const names = configuredJobs(fleet);
    throw new StorageError('USAGE', `No sync job named "${name}".`, {
      hint: names.length
        ? `The jobs are: ${names.join(', ')}. Or give --from STORE:TABLE --to STORE:TABLE.`
        : 'Add one under sync.jobs in the config, or give --from STORE:TABLE --to STORE:TABLE.',
    });
  }
  fleet.store(found.from.store);
  fleet.store(found.to.store);
  const { conflict, watermarkOverlap, ...rest } = found;
  return {
    name,
    ...rest,
    watermarkOverlapMs: watermarkOverlap ? parseDuration(watermarkOverlap)! : DEFAULT_OVERLAP_MS,
    mode: found.mode ?? 'upsert',
    conflict: policyOf(conflict),
    batchSize: found.batchSize ?? DEFAULT_BATCH,
  };
}

function policyOf(given: 'source-wins' | 'target-wins' | 'manual' | { 'newest-wins': string } | undefined): ConflictPolicy {
  if (given === undefined) return { policy: 'source-wins' };
  if (typeof given === 'object') return { policy: 'newest-wins', column: given['newest-wins'] };
  return { policy: given };
}

/** --conflict: source-wins, target-wins, manual or newest-wins:COLUMN. */
export function parsePolicy(text: string): ConflictPolicy {
  if (text === 'source-wins' || text === 'target-wins' || text === 'manual') return { policy: text };
  const match = /^newest-wins:(.+)$/.exec(text);
  if (match) return { policy: 'newest-wins', column: match[1] };
  throw new StorageError('USAGE', `--conflict "${text}" is not a conflict policy.`, {
    hint: 'Use source-wins, target-wins, manual or newest-wins:COLUMN (e.g. newest-wins:updated_at).',
  });
}

function side(text: string, flag: string): { store: string; table: string } {
  const at = text.indexOf(':');
  if (at <= 0 || at === text.length - 1)
    throw new StorageError('USAGE', `--${flag} "${text}" is not STORE:TABLE.`, { hint: `For example --${flag} main:public.orders (a schema is optional).` });
  return { store: text.slice(0, at), table: text.slice(at + 1) };
}

/** A job from --from/--to; its name (for the checkpoint) is derived from both sides. */
export function adHocJob(
  fleet: Fleet,
  from: string,
  to: string,
  options: { key?: string[]; mode?: SyncMode; watermark?: string; conflict?: ConflictPolicy },
): SyncJob {
  const source = side(from, 'from');
  const target = side(to, 'to');
  fleet.store(source.store);
  fleet.store(target.store);
  const name = `${source.store}.${source.table}->${target.store}.${target.table}`;
  return {
    name,
    from: source,
    to: target,
    watermarkOverlapMs: DEFAULT_OVERLAP_MS,
    key: options.key,
    watermark: options.watermark,
    mode: options.mode ?? 'upsert',
    conflict: options.conflict ?? { policy: 'source-wins' },
    batchSize: DEFAULT_BATCH,
  };
}
