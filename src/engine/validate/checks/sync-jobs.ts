// The sync suite: each configured sync job has finished its last run (not stopped part-way), its
// last `sync verify` found the sides equal, no conflicts wait for a decision, and (with the job's
// maxLag) its last completed run is recent enough (a follow rewrites its checkpoint with each batch
// and every second while idle, so a live follow stays within maxLag). One status read per run
// serves all the checks; a slot a killed follow left at a PostgreSQL source is a warning (it holds WAL).
import { parseDuration } from '../../config/duration.js';
import type { Fleet } from '../../fleet.js';
import { configuredJobs, jobNamed } from '../../sync/jobs.js';
import { syncStatus, type SyncStatus } from '../../sync/service.js';
import type { Check, CheckOutcome } from '../registry.js';
import { shellQuote } from '../../system/shell.js';

const reads = new WeakMap<Fleet, Promise<SyncStatus[]>>();

function statusesOf(fleet: Fleet): Promise<SyncStatus[]> {
  let read = reads.get(fleet);
  if (!read) {
    read = syncStatus(
      fleet,
      configuredJobs(fleet).map((name) => jobNamed(fleet, name)),
    );
    reads.set(fleet, read);
  }
  return read;
}

const NO_JOBS: CheckOutcome = { status: 'pass', reason: 'no sync jobs in the config' };

export function judgeState(status: SyncStatus): CheckOutcome {
  const subject = status.job;
  const checkpoint = status.checkpoint;
  if (!checkpoint) return { subject, status: 'warn', reason: 'never run', hint: `storage sync run ${shellQuote(status.job)}` };
  if (checkpoint.state === 'running')
    return {
      subject,
      status: 'fail',
      reason: `the last run stopped after ${checkpoint.rows} rows (at ${checkpoint.updatedAt})`,
      hint: `storage sync run ${shellQuote(status.job)} --resume`,
    };
  if (status.feed && !status.feed.active)
    return {
      subject,
      status: 'warn',
      reason: `replication slot ${status.feed.name} is left at the source with no follow reading it${status.feed.retainedBytes !== undefined ? ` (it holds ${Math.round(status.feed.retainedBytes / 1024)} KiB of WAL, growing)` : ''}`,
      hint: `storage sync run ${shellQuote(status.job)} --follow (resumes from it), or storage sync reset ${shellQuote(status.job)} (drops it)`,
    };
  if (checkpoint.follow?.state === 'following')
    return {
      subject,
      status: 'pass',
      reason: `following; the target was current at ${checkpoint.follow.currentAt} (at ${checkpoint.follow.position ?? 'the copy'})`,
    };
  return { subject, status: 'pass', reason: `last run finished at ${checkpoint.updatedAt} (${checkpoint.rows} rows)` };
}

export function judgeVerified(status: SyncStatus): CheckOutcome {
  const subject = status.job;
  const verify = status.lastVerify;
  if (!verify) return { subject, status: 'warn', reason: 'never verified', hint: `storage sync verify ${shellQuote(status.job)}` };
  if (!verify.equal)
    return {
      subject,
      status: 'fail',
      reason: `the last verify (${verify.at}) found ${verify.insert} missing, ${verify.update} differing, ${verify.extra} extra rows`,
      hint: `storage sync run ${shellQuote(status.job)}, then storage sync verify ${shellQuote(status.job)}`,
    };
  return { subject, status: 'pass', reason: `the last verify (${verify.at}) found the sides equal` };
}

export function judgeLag(status: SyncStatus, maxLag: string | undefined, now: number): CheckOutcome {
  const subject = status.job;
  if (!maxLag) return { subject, status: 'pass', reason: 'no maxLag set for this job' };
  const following = status.checkpoint?.state === 'done' && status.checkpoint.follow?.state === 'following' && status.feed?.active !== false;
  if (following) {
    // A live follow rewrites its checkpoint every second while idle and with each batch: its age is the lag.
    const age = now - Date.parse(status.checkpoint!.follow!.currentAt);
    return age <= parseDuration(maxLag)!
      ? { subject, status: 'pass', reason: `following; the target was current ${Math.round(age / 1000)}s ago, within ${maxLag}` }
      : {
          subject,
          status: 'fail',
          reason: `following, but the target was last current ${Math.round(age / 1000)}s ago, over maxLag ${maxLag} (is the follow still running?)`,
          hint: `storage sync status ${shellQuote(status.job)}`,
        };
  }
  const finished = status.checkpoint?.state === 'done' ? Date.parse(status.checkpoint.updatedAt) : undefined;
  if (finished === undefined)
    return { subject, status: 'fail', reason: `no completed run (maxLag ${maxLag})`, hint: `storage sync run ${shellQuote(status.job)}` };
  const age = now - finished;
  return age <= parseDuration(maxLag)!
    ? { subject, status: 'pass', reason: `last completed run ${Math.round(age / 1000)}s ago, within ${maxLag}` }
    : {
        subject,
        status: 'fail',
        reason: `last completed run ${Math.round(age / 1000)}s ago, over maxLag ${maxLag}`,
        hint: `storage sync run ${shellQuote(status.job)}`,
      };
}

export function judgeConflicts(status: SyncStatus): CheckOutcome {
  const subject = status.job;
  if (status.conflictsPending === 0) return { subject, status: 'pass', reason: 'no rows changed on both sides are waiting' };
  return {
    subject,
    status: 'fail',
    reason: `${status.conflictsPending} rows changed on both sides wait for a decision`,
    hint: `storage sync conflicts list ${shellQuote(status.job)}, then storage sync conflicts resolve ${shellQuote(status.job)} --take source|target`,
  };
}

export const syncConflicts: Check = {
  id: 'sync.conflicts',
  suite: 'sync',
  title: 'no sync job has conflicts waiting for a decision',
  async run({ fleet }) {
    const statuses = await statusesOf(fleet);
    return statuses.length ? statuses.map(judgeConflicts) : [NO_JOBS];
  },
};

export const syncState: Check = {
  id: 'sync.state',
  suite: 'sync',
  title: "each sync job's last run finished",
  async run({ fleet }) {
    const statuses = await statusesOf(fleet);
    return statuses.length ? statuses.map(judgeState) : [NO_JOBS];
  },
};

export const syncVerified: Check = {
  id: 'sync.verified',
  suite: 'sync',
  title: "each sync job's last verify found the sides equal",
  async run({ fleet }) {
    const statuses = await statusesOf(fleet);
    return statuses.length ? statuses.map(judgeVerified) : [NO_JOBS];
  },
};

export const syncLag: Check = {
  id: 'sync.lag',
  suite: 'sync',
  title: "each sync job's last completed run is within its maxLag",
  async run({ fleet }) {
    const statuses = await statusesOf(fleet);
    const now = Date.now();
    return statuses.length ? statuses.map((status) => judgeLag(status, fleet.config.file.sync?.jobs?.[status.job]?.maxLag, now)) : [NO_JOBS];
  },
};
