import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/engine/resilience/circuit-breaker.js';
import type { Clock } from '../../src/engine/resilience/clock.js';
import { backoffDelay, retry } from '../../src/engine/resilience/retry.js';

class FakeClock implements Clock {
  time = 0;
  sleeps: number[] = [];
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}

const transient = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const fatal = Object.assign(new Error('password authentication failed'), { code: '28P01' });
const isTransient = (error: unknown) => (error as { code?: string }).code === 'ECONNREFUSED';

/** An operation that always throws `error` (after `each`), counting its calls. */
function alwaysFailing(error: Error, each: () => void = () => undefined) {
  const op = {
    calls: 0,
    run: async (): Promise<never> => {
      op.calls++;
      each();
      throw error;
    },
  };
  return op;
}

describe('retry with full-jitter backoff', () => {
  it('waits a random time up to base * 2^attempt, capped', () => {
    const policy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(400);
    expect(backoffDelay(8, policy, () => 0.999)).toBe(999);
    expect(backoffDelay(2, policy, () => 0)).toBe(0);
  });

  it('retries transient failures until one succeeds', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw transient;
        return 'ok';
      },
      { isTransient, clock, random: () => 0.5, policy: { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 } },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it('does not retry a failure that is not transient (a wrong password)', async () => {
    const clock = new FakeClock();
    const op = alwaysFailing(fatal);
    await expect(retry(op.run, { isTransient, clock })).rejects.toBe(fatal);
    expect(op.calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('gives up after the attempt budget with the last error', async () => {
    const clock = new FakeClock();
    const op = alwaysFailing(transient);
    await expect(retry(op.run, { isTransient, clock, policy: { attempts: 4 } })).rejects.toBe(transient);
    expect(op.calls).toBe(4);
  });

  it('starts no attempt that could not finish before the deadline', async () => {
    const clock = new FakeClock();
    const op = alwaysFailing(transient, () => (clock.time += 1000)); // each attempt takes a full connect timeout
    await expect(retry(op.run, { isTransient, clock, random: () => 0.5, policy: { attempts: 10, deadlineMs: 1500 } })).rejects.toBe(transient);
    expect(op.calls).toBe(1);
  });
});

describe('circuit breaker', () => {
  it('opens after the failure threshold, refuses calls while open, and half-opens after the cool-down', async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker('main', { failureThreshold: 2, coolDownMs: 10_000, clock });
    let calls = 0;
    const failing = async () => {
      calls++;
      throw transient;
    };
    await expect(breaker.call(failing)).rejects.toBe(transient);
    expect(breaker.state).toBe('closed');
    await expect(breaker.call(failing)).rejects.toBe(transient);
    expect(breaker.state).toBe('open');
    await expect(breaker.call(failing)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(calls).toBe(2);
    expect(breaker.retryInMs).toBe(10_000);
    clock.time += 10_000;
    expect(breaker.state).toBe('half-open');
    await expect(breaker.call(async () => 'up again')).resolves.toBe('up again');
    expect(breaker.state).toBe('closed');
  });

  it('goes straight back to open when the half-open probe fails', async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker('main', { failureThreshold: 1, coolDownMs: 5000, clock });
    await expect(breaker.call(async () => Promise.reject(transient))).rejects.toBe(transient);
    clock.time += 5000;
    expect(breaker.state).toBe('half-open');
    await expect(breaker.call(async () => Promise.reject(transient))).rejects.toBe(transient);
    expect(breaker.state).toBe('open');
    expect(breaker.retryInMs).toBe(5000);
  });
});
