// A per-store circuit breaker for long-running work (watch views, sync, migrations): after
// repeated failures it stops calling the store for a cool-down, then lets one probe through.
import { StorageError } from '../errors.js';
import { systemClock, type Clock } from './clock.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold?: number;
  /** How long the breaker stays open before a probe is allowed. */
  coolDownMs?: number;
  clock?: Clock;
}

export class CircuitBreaker {
  private stateValue: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private readonly threshold: number;
  private readonly coolDownMs: number;
  private readonly clock: Clock;

  constructor(
    readonly name: string,
    options: BreakerOptions = {},
  ) {
    this.threshold = options.failureThreshold ?? 3;
    this.coolDownMs = options.coolDownMs ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  get state(): BreakerState {
    if (this.stateValue === 'open' && this.clock.now() - this.openedAt >= this.coolDownMs) return 'half-open';
    return this.stateValue;
  }

  /** Milliseconds until an open breaker lets a probe through (0 when not open). */
  get retryInMs(): number {
    return this.stateValue === 'open' ? Math.max(0, this.coolDownMs - (this.clock.now() - this.openedAt)) : 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  async call<T>(operation: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.probeInFlight)) {
      throw new StorageError(
        'CIRCUIT_OPEN',
        `Not calling store "${this.name}": it failed ${this.failures} times in a row; next try in ${Math.ceil(this.retryInMs / 1000)}s.`,
        {
          hint: 'The store is being given time to recover; check its health with `storage db health`.',
        },
      );
    }
    if (state === 'half-open') this.probeInFlight = true;
    try {
      const result = await operation();
      this.onSuccess();
      return result;
    } catch (error) {
      this.onFailure();
      throw error;
    } finally {
      if (state === 'half-open') this.probeInFlight = false;
    }
  }

  private onSuccess(): void {
    this.failures = 0;
    this.stateValue = 'closed';
  }

  private onFailure(): void {
    this.failures++;
    const state = this.state;
    if (state === 'half-open' || this.failures >= this.threshold) {
      this.stateValue = 'open';
      this.openedAt = this.clock.now();
    }
  }
}
