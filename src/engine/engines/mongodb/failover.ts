// Failover on MongoDB. A replica set elects its own primary: this reads the set's own view of its
// members (hello, replSetGetStatus) and moves the primary role only by asking the primary to step
// down (replSetStepDown), after which the set elects a caught-up secondary. A standalone server
// (FerretDB is one) has nothing to fail over to; promoting or rejoining by hand is the set's own
// business, so both are refused with a pointer to what to do instead.
import type { Db, Document } from 'mongodb';
import { StorageError } from '../../errors.js';
import { describeFailure } from '../failures.js';
import type { FailoverCapability, FailoverContext, MemberReport, Topology } from '../spec.js';
import type { MongoProvider } from './provider.js';

/** A secondary further behind the primary than this is not caught up. MongoDB reports lag in time, not bytes. */
const MAX_LAG_SECONDS = 10;
/** How long the old primary keeps out of elections after stepping down. */
const STEP_DOWN_SECONDS = 60;
const POLL_MS = 250;
/** Reads that must work while the set has no primary (during an election). */
const ANY_MEMBER = { readPreference: 'primaryPreferred' } as const;

type Context = FailoverContext<MongoProvider>;

interface SetView {
  hello: Document;
  members: MemberReport[];
  primary?: string;
  problems: string[];
}

async function adminDb(context: Context): Promise<Db> {
  return (await context.provider.getClient()).db('admin');
}

/** Replica-set ids and optimes in a readable form: `2026-01-02T03:04:05.000Z (ts 1767323045:1, term 3)`. */
function optimeText(member: Document): string | undefined {
  const date = member.optimeDate instanceof Date ? member.optimeDate.toISOString() : undefined;
  const ts = member.optime?.ts as { t?: number; i?: number } | undefined;
  const parts = [ts?.t !== undefined ? `ts ${ts.t}:${ts.i ?? 0}` : undefined, member.optime?.t !== undefined ? `term ${String(member.optime.t)}` : undefined];
  const detail = parts.filter(Boolean).join(', ');
  if (!date) return detail || undefined;
  return detail ? `${date} (${detail})` : date;
}

function reportOf(member: Document, primaryDate: Date | undefined, passives: Set<string>): MemberReport {
  const name = String(member.name);
  const state = String(member.stateStr ?? 'UNKNOWN');
  const healthy = Number(member.health) === 1;
  const role = state === 'PRIMARY' ? 'primary' : state === 'SECONDARY' ? 'standby' : 'unknown';
  const report: MemberReport = { name, address: name, reachable: healthy, role };
  if (!healthy) report.error = String(member.lastHeartbeatMessage || 'the replica set cannot reach it (health 0)');
  const optime = optimeText(member);
  if (role === 'primary') {
    report.currentLsn = optime;
    return report;
  }
  // MongoDB keeps one applied optime per member: it is both what the member has and what it has applied.
  report.receivedLsn = optime;
  report.replayedLsn = optime;
  if (member.syncSourceHost) report.upstream = String(member.syncSourceHost);
  if (primaryDate && member.optimeDate instanceof Date) report.lagSeconds = Math.max(0, (primaryDate.getTime() - member.optimeDate.getTime()) / 1000);
  if (role === 'unknown') {
    report.reasons = [`its state is ${state}`];
    return report;
  }
  report.streaming = healthy;
  const reasons: string[] = [];
  if (!healthy) reasons.push('not healthy: the replica set cannot reach it');
  if (passives.has(name)) reasons.push('priority 0: the replica set never elects it primary');
  if (report.lagSeconds === undefined) reasons.push('its lag is unknown: there is no single primary to compare it with');
  else if (report.lagSeconds > MAX_LAG_SECONDS)
    reasons.push(
      `not caught up: ${report.lagSeconds} s behind the primary (over ${MAX_LAG_SECONDS} s; MongoDB measures lag in time, so the byte limit does not apply)`,
    );
  report.eligible = reasons.length === 0;
  report.reasons = reasons;
  return report;
}

/** The members as the replica set reports them (replSetGetStatus), with the facts an operator must know. */
function viewOf(hello: Document, status: Document): SetView {
  const members: Document[] = Array.isArray(status.members) ? status.members : [];
  const primaries = members.filter((member) => member.stateStr === 'PRIMARY');
  const primaryDate = primaries.length === 1 && primaries[0].optimeDate instanceof Date ? (primaries[0].optimeDate as Date) : undefined;
  const passives = new Set<string>(Array.isArray(hello.passives) ? hello.passives.map(String) : []);
  const reports = members.map((member) => reportOf(member, primaryDate, passives));
  const problems: string[] = [];
  if (primaries.length === 0) problems.push('No member is primary: the replica set is electing one, or too few members can reach each other to elect one.');
  if (primaries.length > 1) problems.push(`More than one member reports PRIMARY (${primaries.map((member) => member.name).join(', ')}).`);
  for (const report of reports.filter((member) => !member.reachable)) problems.push(`${report.name} is unreachable: ${report.error}`);
  return { hello, members: reports, primary: primaries.length === 1 ? String(primaries[0].name) : undefined, problems };
}

function notAReplicaSet(store: string, hello: Document): StorageError {
  if (hello.msg === 'isdbgrid') {
    return new StorageError('UNSUPPORTED', `Store "${store}" is a mongos router of a sharded cluster: it has no primary of its own to fail over.`, {
      hint: "Fail over each shard's replica set through a store that points at that shard.",
    });
  }
  return new StorageError('UNSUPPORTED', `Store "${store}" is a standalone MongoDB server (no replica set): there is nothing to fail over to.`, {
    hint: 'Failover needs a replica set (mongod --replSet, then rs.initiate()); a standalone server (FerretDB is one) is protected by backups instead.',
  });
}

/** The set's view now; a standalone server is refused (UNSUPPORTED). */
async function readSet(context: Context): Promise<SetView> {
  try {
    const admin = await adminDb(context);
    const hello = await admin.command({ hello: 1 }, ANY_MEMBER);
    if (typeof hello.setName !== 'string') throw notAReplicaSet(context.store.name, hello);
    return viewOf(hello, await admin.command({ replSetGetStatus: 1 }, ANY_MEMBER));
  } catch (error) {
    throw describeFailure(context.store, error);
  }
}

/** Why a member could not take over, in one line per member. */
function whyNot(members: MemberReport[]): string {
  return members
    .filter((member) => member.role !== 'primary')
    .map((member) => `${member.name}: ${member.reasons?.join('; ') || member.role}`)
    .join('; ');
}

function refused(store: string, message: string, hint: string, members: MemberReport[]): StorageError {
  return new StorageError('REFUSED', `${message} Nothing was sent to the replica set.`, { hint, details: { store, members } });
}

/** A stepping-down primary closes connections and answers "not primary": what a successful step-down looks like from here. */
function droppedByStepDown(error: unknown): boolean {
  const { name, code, message } = (error ?? {}) as { name?: string; code?: number; message?: string };
  return (
    /MongoNetwork/.test(name ?? '') || [91, 189, 10107, 11602, 13435].includes(code ?? -1) || /not (writable )?primary|step(ping)? ?down/i.test(message ?? '')
  );
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer in time')), Math.max(0, ms))));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Promote and rejoin are the replica set's own work: refused, naming what to do instead. */
async function refuseByHand(context: Context, message: string, hint: string): Promise<never> {
  const hello = await adminDb(context)
    .then((admin) => admin.command({ hello: 1 }, ANY_MEMBER))
    .catch(() => undefined);
  if (hello && typeof hello.setName !== 'string') throw notAReplicaSet(context.store.name, hello);
  throw new StorageError('UNSUPPORTED', message, { hint, details: { store: context.store.name } });
}

export const mongoFailover: FailoverCapability<MongoProvider> = {
  async topology(context): Promise<Topology> {
    const view = await readSet(context);
    return { store: context.store.name, engine: 'mongodb', primary: view.primary, members: view.members, problems: view.problems };
  },

  async switchover(context, { to, timeoutMs }, progress) {
    const store = context.store.name;
    const started = Date.now();
    const steps: string[] = [];

    // Preflight: exactly one primary, and a caught-up secondary it can hand over to.
    const checked = progress.step('Checking the replica set');
    const before = await readSet(context);
    const primaries = before.members.filter((member) => member.role === 'primary');
    if (primaries.length !== 1) {
      throw refused(
        store,
        `Store "${store}" has ${primaries.length === 0 ? 'no primary' : `${primaries.length} primaries`}: a switchover needs exactly one.`,
        `Run \`storage failover topology ${store}\` and wait for the set to settle.`,
        before.members,
      );
    }
    const from = primaries[0].name;
    const candidates = before.members.filter((member) => member.role === 'standby' && member.eligible);
    if (candidates.length === 0) {
      throw refused(
        store,
        `No secondary of store "${store}" is caught up and electable, so ${from} would have no one to hand over to (${whyNot(before.members)}).`,
        `Wait for a secondary to catch up (\`storage failover topology ${store}\` shows the lag), then try again.`,
        before.members,
      );
    }
    if (to !== undefined) {
      const target = before.members.find((member) => member.name === to);
      if (!target || target.role !== 'standby' || !target.eligible) {
        const why = !target
          ? 'the replica set has no such member'
          : target.role === 'primary'
            ? 'it is the primary'
            : target.reasons?.join('; ') || `its role is ${target.role}`;
        throw refused(
          store,
          `"${to}" is not an eligible secondary of store "${store}" (${why}).`,
          'Name one of the caught-up secondaries, or leave out --to.',
          before.members,
        );
      }
      if (candidates.length > 1) {
        throw refused(
          store,
          `MongoDB elects the new primary itself: any of ${candidates.map((member) => member.name).join(', ')} could win, so a switchover to "${to}" cannot be promised.`,
          "Leave out --to and let the set elect, or give the other members a lower priority in the replica set's config first.",
          before.members,
        );
      }
    }
    steps.push(`${from} is primary; caught up: ${candidates.map((member) => member.name).join(', ')}`);
    checked(`${from} is primary`);

    // Ask the primary to step down: it waits up to the catch-up period for a secondary to match it,
    // then steps down and drops its connections, so an error here is what success looks like.
    const catchUpSecs = Math.max(1, Math.ceil(timeoutMs / 1000));
    const stepDownSecs = Math.max(STEP_DOWN_SECONDS, catchUpSecs + 1);
    const asked = progress.step(`Asking ${from} to step down`);
    const admin = await adminDb(context);
    try {
      await admin.command({ replSetStepDown: stepDownSecs, secondaryCatchUpPeriodSecs: catchUpSecs });
      steps.push(`${from} stepped down (replSetStepDown ${stepDownSecs} s, catch-up up to ${catchUpSecs} s)`);
    } catch (error) {
      if (!droppedByStepDown(error)) {
        throw new StorageError('REFUSED', `${from} refused to step down: ${(error as Error).message}. It is still primary; nothing changed.`, {
          hint: `Check the secondaries' lag with \`storage failover topology ${store}\`, then try again.`,
          details: { store, members: before.members },
        });
      }
      steps.push(`${from} stepped down and dropped its connections (replSetStepDown ${stepDownSecs} s, catch-up up to ${catchUpSecs} s)`);
    }
    asked();

    // The set elects the new primary; watch for it.
    const elected = progress.step('Waiting for the replica set to elect a new primary');
    const deadline = Date.now() + timeoutMs;
    let last = before.members;
    let next: string | undefined;
    while (!next && Date.now() < deadline) {
      try {
        const view = viewOf(before.hello, await withDeadline(admin.command({ replSetGetStatus: 1 }, ANY_MEMBER), deadline - Date.now()));
        last = view.members;
        if (view.primary && view.primary !== from) next = view.primary;
      } catch {
        // The connection is coming back after the step-down; ask again.
      }
      if (!next) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    if (!next) {
      elected('none yet');
      throw new StorageError(
        'OUTCOME_UNKNOWN',
        `No new primary of store "${store}" appeared within ${Math.round(timeoutMs / 1000)} s after ${from} was asked to step down: the set may still be electing one.`,
        { hint: `Run \`storage failover topology ${store}\` to see each member now before doing anything else.`, details: { store, from, members: last } },
      );
    }
    elected(next);
    steps.push(`the replica set elected ${next}`);
    if (to !== undefined && to !== next) steps.push(`note: the set elected ${next}, not ${to}`);
    const old = last.find((member) => member.name === from);
    return {
      kind: 'switchover',
      store,
      from,
      to: next,
      at: new Date(started).toISOString(),
      lsn: primaries[0].currentLsn,
      durationMs: Date.now() - started,
      oldPrimary: `${from} is ${old?.role === 'standby' ? 'a secondary' : `in state ${old?.reasons?.join('; ') || old?.role || 'unknown'}`} and will not seek election for ${stepDownSecs} s`,
      steps,
    };
  },

  async promote(context) {
    const store = context.store.name;
    return refuseByHand(
      context,
      `MongoDB elects its own primary: store "${store}" has no secondary to promote by hand (the replica set promotes a caught-up secondary itself when the primary is lost).`,
      `To move the primary role on purpose, run \`storage failover switchover ${store}\`; if the primary is gone, the set elects a new one once a majority of members can reach each other (\`storage failover topology ${store}\` shows it).`,
    );
  },

  async rejoin(context) {
    const store = context.store.name;
    return refuseByHand(
      context,
      `MongoDB members rejoin their replica set by themselves: a former primary of store "${store}" that comes back rolls back what was never replicated and follows the new primary.`,
      `Start the member's mongod again and watch \`storage failover topology ${store}\`; a member stuck in RECOVERING needs the replica set's own resync (see the MongoDB manual).`,
    );
  },
};
