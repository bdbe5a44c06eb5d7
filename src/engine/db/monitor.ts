// Repeated health probes for live views: keeps a short latency history per store and a circuit
// breaker per store, so a dead store is probed less often instead of stalling every refresh.
import type { ResolvedStore } from '../config/load.js';
import type { Fleet } from '../fleet.js';
import { CircuitBreaker, type BreakerState, type BreakerOptions } from '../resilience/circuit-breaker.js';
import { checkHealth, type StoreHealth } from './health.js';

export interface MonitoredStore extends StoreHealth {
  history: Array<number | null>;
  breaker: BreakerState;
  breakerRetryInMs: number;
}

export interface HealthSnapshot {
  stores: MonitoredStore[];
  takenAt: string;
  round: number;
}

export class HealthMonitor {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly history = new Map<string, Array<number | null>>();
  private round = 0;

  constructor(
    private readonly fleet: Fleet,
    private readonly stores: ResolvedStore[],
    private readonly options: { historySize?: number; breaker?: BreakerOptions } = {},
  ) {
    for (const store of stores) {
      this.breakers.set(store.name, new CircuitBreaker(store.name, options.breaker));
      this.history.set(store.name, []);
    }
  }

  async tick(): Promise<HealthSnapshot> {
    const results = await checkHealth(this.fleet, this.stores, this.breakers);
    const size = this.options.historySize ?? 20;
    this.round++;
    return {
      round: this.round,
      takenAt: new Date().toISOString(),
      stores: results.map((result) => {
        const history = [...(this.history.get(result.store) ?? []), result.latencyMs].slice(-size);
        this.history.set(result.store, history);
        const breaker = this.breakers.get(result.store)!;
        return { ...result, history, breaker: breaker.state, breakerRetryInMs: breaker.retryInMs };
      }),
    };
  }
}
