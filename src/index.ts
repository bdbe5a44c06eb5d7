// The storage engine as a library: everything the CLI does is available without a terminal.
export * from './engine/errors.js';
export { redact, maskUrl, registerSecret } from './engine/redact.js';
export * from './engine/config/schema.js';
export * from './engine/config/load.js';
export { resolvePassword, type SecretResolver } from './engine/config/secrets.js';
export { describeConfig, configWarnings } from './engine/config/inspect.js';
export { parseDuration, formatDuration } from './engine/config/duration.js';
export { Fleet } from './engine/fleet.js';
export type * from './engine/engines/provider.js';
export { checkHealth, probeStore, healthOutcome, type StoreHealth } from './engine/db/health.js';
export { HealthMonitor, PoolsMonitor, StoreWatch, type HealthSnapshot, type PoolsSnapshot, type MonitoredStore } from './engine/db/monitor.js';
export { listStores, type StoreListing } from './engine/db/stores.js';
export { storeInfo, poolReports, type PoolReport } from './engine/db/inspect.js';
export { createDatabase, dropDatabase } from './engine/db/admin.js';
export { retry, backoffDelay, DEFAULT_RETRY, type RetryPolicy } from './engine/resilience/retry.js';
export { CircuitBreaker, type BreakerState } from './engine/resilience/circuit-breaker.js';
export type { Clock } from './engine/resilience/clock.js';
