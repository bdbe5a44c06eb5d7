// Repeated probes for the live views. Rounds start on a steady cadence whatever the stores do: each
// store is probed at the start of a round and its row changes as soon as its own answer arrives, so
// a slow or dead store never delays the others' rows or the next round. A store still answering
// the previous round's probe is not probed again, and one that keeps failing trips its circuit
// breaker and is left alone until the cool-down ends (its last real failure stays on show; the
// breaker never passes for a failure of its own). Each store keeps a short history of how long
// its probes took.
import type { ResolvedStore } from '../config/load.js';
import type { Fleet } from '../fleet.js';
import { CircuitBreaker, type BreakerState, type BreakerOptions } from '../resilience/circuit-breaker.js';
import { systemClock, type Clock } from '../resilience/clock.js';
import { probeStore, type StoreHealth } from './health.js';
import { poolReports, type PoolReport } from './inspect.js';

export interface WatchedState {
  /** How long each of the recent probes took (null: it failed, or the store was left alone that round). */
  history: Array<number | null>;
  breaker: BreakerState;
  breakerRetryInMs: number;
  /** A probe is under way and has not answered yet (since this many ms). */
  probingForMs?: number;
}

export interface WatchOptions {
  intervalMs: number;
  historySize?: number;
  breaker?: BreakerOptions;
  clock?: Clock;
}

interface Watched<T> {
  store: ResolvedStore;
  last?: T;
  history: Array<number | null>;
  breaker: CircuitBreaker;
  inFlightSince?: number;
}

class Failed<T> extends Error {
  constructor(readonly result: T) {
    super('probe failed');
  }
}

/**
 * Probes every store once per round on a steady cadence and reports each answer as it arrives.
 * `probe` never throws: it returns a result, which `ok` judges (a failure counts for the breaker).
 */
export class StoreWatch<T> {
  private readonly watched: Watched<T>[];
  private readonly clock: Clock;
  private round = 0;

  constructor(
    stores: ResolvedStore[],
    private readonly probe: (store: ResolvedStore) => Promise<{ result: T; ok: boolean; latencyMs: number | null }>,
    private readonly options: WatchOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.watched = stores.map((store) => ({ store, history: [], breaker: new CircuitBreaker(store.name, { ...options.breaker, clock: this.clock }) }));
  }

  get rounds(): number {
    return this.round;
  }

  /** Every store's last result (undefined until its first answer) and watch state, in the order given. */
  entries(): Array<{ store: ResolvedStore; last?: T } & WatchedState> {
    const now = this.clock.now();
    return this.watched.map((entry) => ({
      store: entry.store,
      last: entry.last,
      history: entry.history,
      breaker: entry.breaker.state,
      breakerRetryInMs: entry.breaker.retryInMs,
      ...(entry.inFlightSince === undefined ? {} : { probingForMs: now - entry.inFlightSince }),
    }));
  }

  /** Starts a round: probes every store that is neither still answering nor left alone by its breaker. */
  startRound(onAnswer: () => void): Promise<void> {
    this.round++;
    const size = this.options.historySize ?? 20;
    const remember = (entry: Watched<T>, value: number | null) => {
      entry.history = [...entry.history, value].slice(-size);
    };
    const probes = this.watched.map(async (entry) => {
      if (entry.inFlightSince !== undefined) return;
      if (entry.breaker.state === 'open') {
        remember(entry, null);
        return;
      }
      entry.inFlightSince = this.clock.now();
      try {
        const answer = await entry.breaker.call(async () => {
          const outcome = await this.probe(entry.store);
          if (!outcome.ok) throw new Failed(outcome);
          return outcome;
        });
        entry.last = answer.result;
        remember(entry, answer.latencyMs);
      } catch (error) {
        // Only failures of the store itself reach here: an open breaker is never called.
        entry.last = (error as Failed<{ result: T }>).result?.result ?? entry.last;
        remember(entry, null);
      } finally {
        entry.inFlightSince = undefined;
      }
      onAnswer();
    });
    return Promise.all(probes).then(() => undefined);
  }

  /** Runs rounds every `intervalMs` until the returned function is called; `onChange` follows every round and answer. */
  start(onChange: () => void): () => void {
    let stopped = false;
    const changed = () => {
      if (!stopped) onChange();
    };
    const round = () => {
      void this.startRound(changed);
      changed();
    };
    round();
    const timer = setInterval(round, this.options.intervalMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }
}

export interface MonitoredStore extends Omit<StoreHealth, 'status'>, WatchedState {
  /** `probing` until the store's first answer. */
  status: StoreHealth['status'] | 'probing';
}

export interface HealthSnapshot {
  stores: MonitoredStore[];
  takenAt: string;
  round: number;
}

function pendingHealth(store: ResolvedStore): Omit<StoreHealth, 'status' | 'target'> {
  return { store: store.name, engine: store.engine, latencyMs: null, serverVersion: null, role: null, readOnly: null, checkedAt: '', error: null };
}

export class HealthMonitor {
  private readonly watch: StoreWatch<StoreHealth>;

  constructor(fleet: Fleet, stores: ResolvedStore[], options: Partial<WatchOptions> = {}) {
    this.watch = new StoreWatch(
      stores,
      async (store) => {
        const result = await probeStore(fleet, store);
        return { result, ok: result.status === 'up', latencyMs: result.latencyMs };
      },
      { intervalMs: 2000, ...options },
    );
  }

  snapshot(): HealthSnapshot {
    return {
      round: this.watch.rounds,
      takenAt: new Date().toISOString(),
      stores: this.watch.entries().map(({ store, last, ...state }) => ({
        ...(last ?? { ...pendingHealth(store), target: '', status: 'probing' as const }),
        ...state,
      })),
    };
  }

  /** Live: rounds on the cadence, `onChange` with a fresh snapshot after each round start and each answer. */
  start(onChange: (snapshot: HealthSnapshot) => void): () => void {
    return this.watch.start(() => onChange(this.snapshot()));
  }

  /** One whole round: every store probed (or left alone by its breaker) and answered. */
  async tick(): Promise<HealthSnapshot> {
    await this.watch.startRound(() => undefined);
    return this.snapshot();
  }
}

export type WatchedPools = PoolReport & Partial<WatchedState> & { latencyMs?: number | null; pending?: boolean };

export interface PoolsSnapshot {
  reports: WatchedPools[];
  round: number;
}

export class PoolsMonitor {
  private readonly watch: StoreWatch<PoolReport>;

  constructor(fleet: Fleet, stores: ResolvedStore[], options: Partial<WatchOptions> = {}) {
    const clock = options.clock ?? systemClock;
    this.watch = new StoreWatch(
      stores,
      async (store) => {
        const started = clock.now();
        const [result] = await poolReports(fleet, [store]);
        const ok = !('error' in result);
        return { result, ok, latencyMs: ok ? Math.round((clock.now() - started) * 100) / 100 : null };
      },
      { intervalMs: 2000, ...options },
    );
  }

  snapshot(): PoolsSnapshot {
    return {
      round: this.watch.rounds,
      reports: this.watch.entries().map(({ store, last, ...state }) => ({
        ...(last ?? { store: store.name, engine: store.engine, error: { code: 'PROBING', message: 'waiting for the first answer' } }),
        ...(last ? {} : { pending: true }),
        latencyMs: state.history.at(-1) ?? null,
        ...state,
      })),
    };
  }

  start(onChange: (snapshot: PoolsSnapshot) => void): () => void {
    return this.watch.start(() => onChange(this.snapshot()));
  }
}
