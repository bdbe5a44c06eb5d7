// A job's change feed at its source (a PostgreSQL slot), as `sync status`, validate and `sync
// reset` see it; kept apart from the follow loop so the sync service can ask without a cycle.
import type { SyncFeedState } from '../engines/spec.js';
import type { Fleet } from '../fleet.js';
import type { SyncJob } from './jobs.js';

/** Follow mode's view of a job's feed, for `sync status` and validate. */
export interface FeedStatus {
  feed: (SyncFeedState & { method: string }) | null;
  /** The feed could not be read (the source is down, …). */
  feedError?: string;
}

/** The job's feed at the source, for `sync status` (nothing for sources without one). */
export async function feedStatusOf(fleet: Fleet, job: SyncJob): Promise<FeedStatus | Record<string, never>> {
  try {
    const { impl, provider } = await fleet.capability(job.from.store, 'sync');
    if (!impl.follow) return {};
    const state = await impl.follow.feedState(provider, job.name);
    return { feed: state ? { ...state, method: impl.follow.method } : null };
  } catch (error) {
    return { feed: null, feedError: (error as Error).message };
  }
}

/** `sync reset`: a slot a killed follow left behind goes too (it holds the source's WAL). Returns its name when there was one. */
export async function dropFeedOf(fleet: Fleet, job: SyncJob): Promise<string | null> {
  const { impl, provider } = await fleet.capability(job.from.store, 'sync');
  if (!impl.follow) return null;
  return (await impl.follow.dropFeed(provider, job.name)) ? impl.follow.feedName(job.name) : null;
}
