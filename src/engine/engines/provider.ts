// The one interface every engine's provider implements, and the shapes it reports.
import type { Engine } from '../config/schema.js';
import type { ResolvedStore } from '../config/load.js';

export type StoreRole = 'primary' | 'standby' | 'standalone';

/** What a successful health probe learned. */
export interface HealthProbe {
  latencyMs: number;
  serverVersion: string;
  role: StoreRole;
  readOnly: boolean;
}

export interface DatabaseInfo {
  name: string;
  sizeBytes: number | null;
  /** Object counts by kind (tables, views, indexes, collections, documents...); null when not readable. */
  objects: Record<string, number> | null;
  /** True for the database the store's URL or path points at. */
  current: boolean;
}

export interface StoreInfo {
  store: string;
  engine: Engine;
  target: string;
  serverVersion: string;
  sizeBytes: number;
  databases: DatabaseInfo[];
  /** Engine-specific facts worth showing (journal mode, max connections, ...). */
  details: Record<string, string | number | boolean | null>;
}

export interface PoolStats {
  store: string;
  engine: Engine;
  client: { total: number; idle: number; waiting: number; max: number };
  /** Server-side connections by state (PostgreSQL states, MongoDB current/available, SQLite handles). */
  server: Record<string, number>;
  /**
   * Connections in use against what the server allows (what counts and what the limit is, in the
   * engine's terms), a reason the server does not say, or null for an engine without a server.
   */
  capacity: { used: number; limit: number; what: string } | { unknown: string } | null;
  details: Record<string, string | number | boolean | null>;
}

export interface Session {
  id: string;
  user: string | null;
  application: string | null;
  client: string | null;
  state: string | null;
}

export interface DropResult {
  database: string;
  dropped: boolean;
  terminatedSessions: number;
  reason?: 'absent';
}

export interface Provider {
  readonly store: ResolvedStore;
  health(): Promise<HealthProbe>;
  info(): Promise<StoreInfo>;
  poolStats(): Promise<PoolStats>;
  listDatabases(): Promise<string[]>;
  /** Throws a usage error (64) naming the engine's rules when `name` cannot be a database of this engine. */
  checkDatabaseName(name: string): void;
  /** Other sessions connected to a database (excluding this tool's own). */
  sessions(database: string): Promise<Session[]>;
  createDatabase(name: string): Promise<void>;
  dropDatabase(name: string, options: { force: boolean }): Promise<DropResult>;
  close(): Promise<void>;
}
