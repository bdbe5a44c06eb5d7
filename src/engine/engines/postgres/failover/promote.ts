// An unplanned promotion: the primary is gone. The candidate is refused while the loss cannot be
// known or is not zero, unless the operator accepts it; the loss is read from the dead primary's
// own WAL when this machine has its data directory (pg_waldump from what the candidate received).
import type { PostgresProvider } from '../provider.js';
import type { FailoverContext, FailoverEvent, Member } from '../../spec.js';
import type { Progress } from '../../../progress.js';
import { StorageError } from '../../../errors.js';
import { conninfoFor, ensureSlot, proveWritable, repointStandby, warnUnlessStreaming } from './after-promotion.js';
import { memberNamed } from './choose.js';
import { controlData, isRunning, walTail } from './local-control.js';
import { lsnBytes, parseLsn } from './lsn.js';
import { Steps } from './steps.js';
import { adminUrl, readTopology } from './topology.js';

type Loss = NonNullable<FailoverEvent['loss']>;

/** What the candidate never got, from the WAL of an unreachable member that was a primary (local control only). */
async function lossWindow(members: Member[], unreachable: string[], received: string): Promise<{ loss: Loss; oldPrimary?: string }> {
  for (const member of members.filter((m) => unreachable.includes(m.name) && m.control)) {
    const control = member.control!;
    if (await isRunning(control)) continue;
    const data = await controlData(control);
    if (!/in production|shut down$/.test(data.state)) continue; // it was a standby
    const tail = await walTail(control, received, data.timeline);
    return { loss: { known: true, commits: tail.commits, bytes: lsnBytes(received, tail.end), from: received, to: tail.end }, oldPrimary: member.name };
  }
  return { loss: { known: false, from: received } };
}

export async function promote(
  context: FailoverContext<PostgresProvider>,
  options: { to: string; acceptDataLoss: boolean },
  progress: Progress,
): Promise<FailoverEvent> {
  const started = Date.now();
  const steps = new Steps(progress);
  const { provider, members } = context;
  const candidate = memberNamed(members, options.to);
  const { topology } = await steps.run('preflight', () => readTopology(context, Number.MAX_SAFE_INTEGER));
  const report = topology.members.find((m) => m.name === candidate.name)!;
  if (topology.primary === candidate.name)
    throw new StorageError('REFUSED', `Member "${candidate.name}" is already the primary.`, { hint: 'Nothing to promote.' });
  if (topology.primary)
    throw new StorageError('REFUSED', `The primary "${topology.primary}" is up: a promotion now would make two primaries.`, {
      hint: `Use \`storage failover switchover ${context.store.name} --to ${candidate.name}\` to move the role without losing writes.`,
    });
  if (!report.reachable || report.role !== 'standby' || !report.receivedLsn)
    throw new StorageError(
      'REFUSED',
      `Member "${candidate.name}" cannot be promoted: ${report.reachable ? `it answers as ${report.role}` : `it does not answer (${report.error})`}.`,
      {
        hint: 'Choose a reachable standby (`storage failover status`).',
      },
    );
  const received = report.receivedLsn;
  const ahead = topology.members.filter((m) => m.name !== candidate.name && m.receivedLsn && parseLsn(m.receivedLsn) > parseLsn(received));
  const unreachable = topology.members.filter((m) => !m.reachable).map((m) => m.name);
  const { loss, oldPrimary } = await steps.run(
    'loss window',
    () => lossWindow(members, unreachable, received),
    (w) => (w.loss.known ? `${w.loss.commits} commit(s), ${w.loss.bytes} bytes of WAL after ${received}` : "unknown (the old primary's WAL is not reachable)"),
  );
  const risks: string[] = [];
  if (!loss.known) risks.push(`the loss cannot be known: no reachable old primary WAL to compare with (it received up to ${received})`);
  else if ((loss.commits ?? 0) > 0)
    risks.push(`it never got ${loss.commits} committed transaction(s) (${loss.bytes} bytes of WAL, ${loss.from} → ${loss.to}) from "${oldPrimary}"`);
  for (const other of ahead) risks.push(`"${other.name}" received more (${other.receivedLsn} > ${received})`);
  if (risks.length > 0 && !options.acceptDataLoss)
    throw new StorageError('REFUSED', `Refusing to promote "${candidate.name}": ${risks.join('; ')}.`, {
      hint:
        ahead.length > 0
          ? `Promote "${ahead[0].name}" instead, or add --accept-data-loss.`
          : 'Add --accept-data-loss to promote anyway; those writes will not be on the new primary.',
      details: { loss, topology },
    });
  for (const risk of risks) steps.warn(`Accepted: ${risk}.`);
  const client = await provider.memberClient(adminUrl(candidate));
  try {
    const timeline = await steps.run(
      `promote ${candidate.name}`,
      async () => {
        await client.query('select pg_promote(false)');
        await proveWritable(client, 30_000);
        return Number((await client.query(`select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as tli`)).rows[0].tli);
      },
      (tli) => `takes writes, timeline ${tli}`,
    );
    const password = await provider.loginPassword();
    for (const other of members.filter((m) => m.name !== candidate.name)) {
      await ensureSlot(client, other.slot);
      const otherReport = topology.members.find((m) => m.name === other.name);
      if (otherReport?.reachable && otherReport.role === 'standby') {
        await steps.run(`${other.name} follows ${candidate.name}`, () => repointStandby(provider, other, conninfoFor(candidate, password, other.name)));
        await warnUnlessStreaming(provider, other, candidate, context.store.name, steps);
      }
    }
    return {
      kind: 'promote',
      store: context.store.name,
      from: oldPrimary,
      to: candidate.name,
      at: new Date(started).toISOString(),
      timeline,
      lsn: received,
      durationMs: Date.now() - started,
      loss,
      oldPrimary: oldPrimary ? `down; bring it back with \`storage failover rejoin ${context.store.name} ${oldPrimary}\`` : undefined,
      steps: steps.done,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
