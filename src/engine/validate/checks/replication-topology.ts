// What the replication checks share: the stores they judge (PostgreSQL stores that list standbys),
// one topology read per store and run (every replication check judges the same picture, and the
// members are asked once), the thresholds from the `validate:` section, and how a byte count reads.
import type { ResolvedStore } from '../../config/load.js';
import type { MemberReport, Topology } from '../../engines/spec.js';
import { failoverStatus } from '../../failover/service.js';
import type { Fleet } from '../../fleet.js';
import { eachSubject, type CheckContext, type CheckOutcome } from '../registry.js';
import { shellQuote } from '../../system/shell.js';

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;
/** WAL a slot holds back that warns (validate.slotRetainedWarn) and fails (validate.slotRetainedFail). */
export const SLOT_RETAINED_WARN = 1 * GiB;
export const SLOT_RETAINED_FAIL = 4 * GiB;
/** Replay lag in bytes that warns (validate.replicationLagWarn) and fails (validate.replicationLagFail). */
export const LAG_WARN = 16 * MiB;
export const LAG_FAIL = 256 * MiB;

export interface ReplicationThresholds {
  slotRetainedWarn: number;
  slotRetainedFail: number;
  lagWarn: number;
  lagFail: number;
}

export function thresholdsOf(fleet: Fleet): ReplicationThresholds {
  const validate = fleet.config.file.validate;
  return {
    slotRetainedWarn: validate?.slotRetainedWarn ?? SLOT_RETAINED_WARN,
    slotRetainedFail: validate?.slotRetainedFail ?? SLOT_RETAINED_FAIL,
    lagWarn: validate?.replicationLagWarn ?? LAG_WARN,
    lagFail: validate?.replicationLagFail ?? LAG_FAIL,
  };
}

/** `1234 bytes`, or with a binary unit beside the exact count once it is large. */
export function bytesText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [value, unit] = bytes >= GiB ? [bytes / GiB, 'GiB'] : bytes >= MiB ? [bytes / MiB, 'MiB'] : [bytes / 1024, 'KiB'];
  return `${bytes} bytes (${value.toFixed(1)} ${unit})`;
}

/** The subject of an outcome about one member (or slot) of a store: `store/member`, as snapshots name theirs. */
export function memberSubject(store: string, member: string): string {
  return `${store}/${member}`;
}

/** The stores the replication suite applies to: PostgreSQL stores that list standbys. */
export function replicatedPostgresStores(fleet: Fleet, names: string[]): ResolvedStore[] {
  return fleet.select(names).filter((store) => store.config.engine === 'postgres' && (store.config.standbys?.length ?? 0) > 0);
}

export const NOT_APPLICABLE: CheckOutcome = { status: 'pass', reason: 'no PostgreSQL stores with standbys' };

const topologies = new WeakMap<Fleet, Map<string, Promise<Topology>>>();

/** The store's topology, read once per fleet (one validate run) however many checks ask. */
export function topologyOf(fleet: Fleet, store: string): Promise<Topology> {
  let byStore = topologies.get(fleet);
  if (!byStore) topologies.set(fleet, (byStore = new Map()));
  let topology = byStore.get(store);
  if (!topology) {
    topology = failoverStatus(fleet, store);
    byStore.set(store, topology);
  }
  return topology;
}

/** The members a standby check judges: every member that does not answer as primary (an unreachable one included). */
export function standbysOf(topology: Topology): MemberReport[] {
  return topology.members.filter((member) => member.role !== 'primary');
}

export function statusHint(store: string): string {
  return `storage failover status ${shellQuote(store)}`;
}

/** An unreachable member cannot be judged by a check other than replication.streaming, which fails it. */
export function unreachable(store: string, member: MemberReport): CheckOutcome {
  return {
    subject: memberSubject(store, member.name),
    status: 'error',
    reason: `unreachable: ${member.error ?? 'no answer'}`,
    hint: `See replication.streaming[${memberSubject(store, member.name)}].`,
  };
}

/** Without exactly one primary there is nothing to measure slots and lag against. */
export function noSinglePrimary(topology: Topology): CheckOutcome {
  return {
    subject: topology.store,
    status: 'error',
    reason: `cannot tell without a single primary (${topology.problems.join('; ') || 'no primary'})`,
    hint: `See replication.primary[${topology.store}].`,
  };
}

/** Runs `judge` on each applicable store's topology, one store at a time as a subject of the run. */
export async function eachReplicatedStore(context: CheckContext, judge: (topology: Topology, store: ResolvedStore) => CheckOutcome[]): Promise<CheckOutcome[]> {
  const { fleet, stores } = context;
  const selected = replicatedPostgresStores(fleet, stores);
  if (selected.length === 0) return [NOT_APPLICABLE];
  return eachSubject(
    context,
    selected,
    (store) => store.name,
    async (store) => judge(await topologyOf(fleet, store.name), store),
  );
}
