// A planned switchover: preflight → fence the old primary → wait until the candidate replayed
// its last flushed WAL → (local control: clean stop) → promote → prove a write → repoint the
// others → bring the old primary back as a standby. Called off, the fence is lifted; lost
// sight of both servers, it says what each reported last.
import type { Client } from 'pg';
import type { PostgresProvider } from '../provider.js';
import type { FailoverContext, FailoverEvent, Member } from '../../spec.js';
import type { Progress } from '../../../progress.js';
import { StorageError } from '../../../errors.js';
import { conninfoFor, ensureSlot, proveWritable, repointStandby, warnUnlessStreaming } from './after-promotion.js';
import { chooseCandidate, memberNamed } from './choose.js';
import { liftFence, openDatabases, raiseFence, type Fence } from './fence.js';
import { controlData, stopServer } from './local-control.js';
import { lsnAtLeast, lsnBytes, parseLsn } from './lsn.js';
import { rejoinMember } from './rejoin.js';
import { Steps } from './steps.js';
import { adminUrl, probeMember, readTopology } from './topology.js';

async function replayed(client: Client): Promise<string | undefined> {
  return (await client.query('select pg_last_wal_replay_lsn()::text as lsn')).rows[0].lsn ?? undefined;
}

async function waitReplay(client: Client, target: string, timeoutMs: number, strictlyPast = false): Promise<{ ok: boolean; seen?: string }> {
  const deadline = Date.now() + timeoutMs;
  let seen: string | undefined;
  for (;;) {
    seen = await replayed(client);
    if (seen && (strictlyPast ? parseLsn(seen) > parseLsn(target) : lsnAtLeast(seen, target))) return { ok: true, seen };
    if (Date.now() >= deadline) return { ok: false, seen };
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** After a failure past the fence: what each member says now decides between "called off" and "unknown". */
async function settleFailure(
  context: FailoverContext<PostgresProvider>,
  old: Member,
  candidate: Member,
  fence: Fence,
  promoteSent: boolean,
  error: unknown,
): Promise<never> {
  const [oldNow, candidateNow] = await Promise.all([probeMember(context.provider, old, true), probeMember(context.provider, candidate, true)]);
  try {
    if ((!promoteSent || candidateNow.report.role === 'standby') && oldNow.report.role === 'primary' && oldNow.client) {
      await liftFence(oldNow.client, fence);
      throw new StorageError(
        'FAILED',
        `The switchover was called off (${error instanceof Error ? error.message : String(error)}); "${old.name}" is the primary and writable again.`,
        {
          hint: 'Nothing was promoted. See `storage failover status`, fix what is named, and try again.',
          cause: error,
        },
      );
    }
    if (candidateNow.report.role === 'primary') {
      throw new StorageError(
        'FAILED',
        `"${candidate.name}" was promoted, but the switchover did not finish: ${error instanceof Error ? error.message : String(error)}.`,
        {
          hint: `Check "${candidate.name}" takes writes and bring "${old.name}" back with \`storage failover rejoin ${context.store.name} ${old.name}\`.`,
          cause: error,
        },
      );
    }
    if (!promoteSent)
      throw new StorageError(
        'FAILED',
        `The switchover stopped before any promotion (${error instanceof Error ? error.message : String(error)}): "${candidate.name}" was not promoted, and "${old.name}" ${oldNow.report.reachable ? `answers as ${oldNow.report.role}` : 'is down'}.`,
        {
          hint: `"${old.name}" is still fenced${oldNow.report.reachable ? '' : ' (start it again first)'}: lift the fence in psql on it (connected to template1) with ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf();${fence.closed.map((name) => ` ALTER DATABASE "${name}" ALLOW_CONNECTIONS true;`).join('')} Then see \`storage failover status\`.`,
          cause: error,
        },
      );
    throw new StorageError(
      'OUTCOME_UNKNOWN',
      `The switchover's outcome is not known: ${[oldNow, candidateNow].map((probe) => `"${probe.member.name}" ${probe.report.reachable ? `answers as ${probe.report.role}` : `does not answer (${probe.report.error})`}`).join(', ')}.`,
      {
        hint: 'Run `storage failover status` until both answer; promote nothing by hand before you know which one holds the latest writes.',
        details: { members: [oldNow.report, candidateNow.report] },
        cause: error,
      },
    );
  } finally {
    await Promise.all([oldNow.client?.end().catch(() => undefined), candidateNow.client?.end().catch(() => undefined)]);
  }
}

export async function switchover(
  context: FailoverContext<PostgresProvider>,
  options: { to?: string; maxLagBytes: number; timeoutMs: number },
  progress: Progress,
): Promise<FailoverEvent> {
  const started = Date.now();
  const steps = new Steps(progress);
  const { provider, members } = context;
  const { topology } = await steps.run(
    'preflight',
    () => readTopology(context, options.maxLagBytes),
    (t) => `primary ${t.topology.primary ?? 'none'}`,
  );
  const candidate = chooseCandidate(topology, members, options.to);
  const old = memberNamed(members, topology.primary!);
  const lagBytesAtStart = topology.members.find((m) => m.name === candidate.name)?.lagBytes;
  const oldClient = await provider.memberClient(adminUrl(old));
  const candidateClient = await provider.memberClient(adminUrl(candidate)).catch(async (error: unknown) => {
    await oldClient.end().catch(() => undefined);
    throw error;
  });
  let fence: Fence | undefined;
  let fencedAt = 0;
  let promoteSent = false;
  try {
    fence = await steps.run(
      `fence ${old.name}`,
      () => raiseFence(oldClient),
      (f) => `read-only, ${f.closed.length} database(s) closed, sessions ended`,
    );
    fencedAt = Date.now();
    const final = (await oldClient.query('select pg_current_wal_flush_lsn()::text as lsn')).rows[0].lsn as string;
    const caught = await steps.run(
      `${candidate.name} replays up to ${final}`,
      () => waitReplay(candidateClient, final, options.timeoutMs),
      (r) => r.seen,
    );
    if (!caught.ok) {
      await liftFence(oldClient, fence);
      throw new StorageError(
        'FAILED',
        `"${candidate.name}" did not catch up within ${options.timeoutMs / 1000}s: it replayed ${caught.seen ?? 'nothing'} of ${final} (${caught.seen ? lsnBytes(caught.seen, final) : '?'} bytes behind). Nothing was promoted; "${old.name}" is writable again.`,
        {
          hint: 'Is replay paused or the standby overloaded? See `storage failover status`; try again or raise --timeout.',
          details: { final, replayed: caught.seen },
        },
      );
    }
    let lastLsn = final;
    if (old.control) {
      await steps.run(`stop ${old.name} cleanly`, () => stopServer(old.control!));
      const data = await controlData(old.control);
      const past = await waitReplay(candidateClient, data.checkpoint, 5000, true);
      if (past.ok) lastLsn = past.seen!;
      else steps.warn(`"${candidate.name}" did not replay "${old.name}"'s shutdown checkpoint; the rejoin will rewind it.`);
    }
    const timeline = await steps.run(
      `promote ${candidate.name}`,
      async () => {
        // Not pg_promote(true): it checks every 100 ms; proveWritable polls every 5 ms.
        promoteSent = true;
        await candidateClient.query('select pg_promote(false)');
        await proveWritable(candidateClient, 30_000);
        await openDatabases(candidateClient, fence!);
        return Number((await candidateClient.query(`select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as tli`)).rows[0].tli);
      },
      (tli) => `takes writes, timeline ${tli}`,
    );
    const unavailableMs = Date.now() - fencedAt;
    const password = await provider.loginPassword();
    for (const other of members.filter((m) => m.name !== old.name && m.name !== candidate.name)) {
      await steps.run(`${other.name} follows ${candidate.name}`, async () => {
        await ensureSlot(candidateClient, other.slot);
        await repointStandby(provider, other, conninfoFor(candidate, password, other.name));
      });
      await warnUnlessStreaming(provider, other, candidate, context.store.name, steps);
    }
    let oldPrimary: string;
    if (old.control) oldPrimary = await rejoinMember(provider, old, candidate, candidateClient, steps);
    else {
      await ensureSlot(candidateClient, old.slot);
      oldPrimary = `left fenced (read-only, closed to connections): make it a standby of ${candidate.name} on its host (\`storage failover rejoin ${context.store.name} ${old.name}\` where its data directory is)`;
      steps.warn(`"${old.name}" is ${oldPrimary}.`);
    }
    return {
      kind: 'switchover',
      store: context.store.name,
      from: old.name,
      to: candidate.name,
      at: new Date(started).toISOString(),
      timeline,
      lsn: lastLsn,
      lagBytesAtStart,
      unavailableMs,
      durationMs: Date.now() - started,
      oldPrimary,
      steps: steps.done,
    };
  } catch (error) {
    if (!fence || (error instanceof StorageError && error.code === 'FAILED' && /did not catch up/.test(error.message))) throw error;
    return settleFailure(context, old, candidate, fence, promoteSent, error);
  } finally {
    await Promise.all([oldClient.end().catch(() => undefined), candidateClient.end().catch(() => undefined)]);
  }
}
