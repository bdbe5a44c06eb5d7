// The contract every engine meets: how to open its provider, what its errors mean, how its names
// are bounded, and the capabilities it offers. Topics (backup, snapshot, rotation, …) ask the
// fleet for a capability (`fleet.capability(store, 'snapshot')`) and never know which engine
// answers; an engine without an optional capability simply leaves it out, and one place
// (`requireCapability`) turns that into a usage error naming the engine and what it lacks.
// A new engine is a folder beside postgres/, mongodb/, sqlite/ with an index.ts exporting its
// spec; a new capability is a member here, implemented in each engine's folder.
import type { ResolvedStore } from '../config/load.js';
import type { Engine } from '../config/schema.js';
import type { SecretResolver } from '../config/secrets.js';
import type { StorageError } from '../errors.js';
import type { Progress } from '../progress.js';
import type { BackupManifest, Compression, PayloadFile } from '../repository/manifest.js';
import type { RestoreJournalEntry, RestorePhase } from '../restore-journal.js';
import type { TenantRestoreEntry } from '../tenant/restore-journal.js';
import type { SnapshotRecord, SnapshotRestoring } from '../snapshot/catalog.js';
import type { Provider } from './provider.js';

// ─── backup ────────────────────────────────────────────────────────────────────────────────

export interface DumpContext<P extends Provider = Provider> {
  store: ResolvedStore;
  provider: P;
  backupId: string;
  /** The backup's directory in the repository. */
  dir: string;
  /** A private scratch directory, removed afterwards. */
  scratch: string;
  key?: Buffer;
  /**
   * backup.compression (default zstd). With zstd, PostgreSQL dumps an uncompressed archive (`-Z0`)
   * that this tool compresses; with gzip or none, pg_dump compresses its archive itself, as before.
   */
  compression: Compression;
  /** backup.compressionLevel: the zstd level, when set. */
  compressionLevel?: number;
  /** `backup create --jobs N` (PostgreSQL only): dump N tables at once (`pg_dump -Fd -j N`), each archive file its own payload file. */
  jobs?: number;
  /** backup.rowCounts: exact counts in the dump's snapshot, or the planner's estimates (PostgreSQL; default estimate). */
  rowCounts?: 'exact' | 'estimate';
  progress: Progress;
  /** Aborted when the run is called off before it ends (the repository's key did not unlock): pass it to every payload write. */
  signal?: AbortSignal;
}

export interface DumpResult {
  database: string;
  payloadFormat: BackupManifest['payloadFormat'];
  files: PayloadFile[];
  counts: Record<string, number>;
  /** How the counts were taken, when not exactly. */
  rowCounts?: 'exact' | 'estimate';
  /** Dump jobs, for a parallel (directory-format) dump. */
  jobs?: number;
  serverVersion: string;
  dumpTool?: string;
}

export interface RestoreContext<P extends Provider = Provider> {
  manifest: BackupManifest;
  dir: string;
  key?: Buffer;
  store: ResolvedStore;
  provider: P;
  /** The database (or SQLite database name) to restore into. */
  database: string;
  /**
   * Where the restore writes first, renamed to `database` only once complete, so a killed restore
   * never leaves half a database under the requested name. Equal to `database` for a throwaway
   * target (restore tests) and for MongoDB, which cannot rename a database (it marks it instead).
   */
  staged: string;
  /** Set when `database` exists and the operator confirmed replacing it: where its data is kept. */
  previous?: string;
  /** Other sessions on (users of) the database being replaced: terminate/ignore them instead of refusing. */
  force: boolean;
  /** Records the restore's phase; called before the staged copy is made, and again before the swap. */
  journal(phase: RestorePhase): void;
  /** A private scratch directory, removed afterwards (and swept by the next command if this run dies). */
  scratch: string;
  progress: Progress;
  parallel?: number;
}

export interface RestoreResult {
  database: string;
  /** Where the replaced data was kept, when a restore replaced an existing database. */
  previous?: string;
}

/** Backups: dump a store into payload files in the vendor's format, restore them, count what they hold. */
export interface BackupCapability<P extends Provider = Provider> {
  dump(context: DumpContext<P>): Promise<DumpResult>;
  restore(context: RestoreContext<P>): Promise<RestoreResult>;
  /** Whether the database exists and holds anything (any existing database needs confirmation to be replaced). */
  targetState(provider: P, database: string): Promise<'absent' | 'empty' | 'non-empty'>;
  count(provider: P, database: string): Promise<Record<string, number>>;
  drop(provider: P, database: string): Promise<void>;
  /** Settles what an interrupted restore left (its journal entry says what); says what was done. */
  settleRestore(provider: P, entry: RestoreJournalEntry): Promise<string | undefined>;
  /** Databases the server itself needs: never a restore target. */
  systemDatabases: readonly string[];
  /** The engine cannot rename a database (MongoDB): a restore writes into the new database itself, marked unfinished until done. */
  restoresInPlace?: boolean;
  /** What the engine calls what a backup counts: tables or collections. */
  countedThings: { one: string; many: string };
  /** The engine dumps in parallel for `backup create --jobs N` (PostgreSQL: pg_dump -Fd -j N); others refuse --jobs. */
  parallelDump?: boolean;
  /**
   * What a backup or restore can do while the repository's key is unlocked (scrypt, ~0.3 s on
   * another core): connect, find the dump tool. Its results are only kept for the run to reuse;
   * a failure here is ignored, the run meets it again and reports it.
   */
  prepare?(provider: P, purpose: 'dump' | 'restore'): Promise<void>;
  /** Where a payload file lands in `backup export`: its path in the vendor's own layout (a plain relative path, checked by the caller). */
  exportName(manifest: BackupManifest, fileName: string): string;
}

// ─── snapshot ──────────────────────────────────────────────────────────────────────────────

export interface TableStat {
  rows: number;
  sizeBytes: number | null;
}

/** Snapshots: fast same-server copies of a database, restored by staging a copy and swapping it in. */
export interface SnapshotCapability<P extends Provider = Provider> {
  /** The database a store's snapshots copy by default. */
  defaultDatabase(provider: P): Promise<string>;
  create(
    provider: P,
    source: string,
    copy: string,
    options: { force: boolean },
  ): Promise<{ method: SnapshotRecord['method']; sizeBytes: number | null; note?: string }>;
  /**
   * Stages a copy of the snapshot, then swaps it in; `previous` keeps the data it replaced. Calls
   * `journal('staging')` before making any copy and `journal('swapping')` before touching the
   * database; other sessions on it are refused unless `force`, which terminates them.
   */
  restore(
    provider: P,
    record: SnapshotRecord,
    names: { staged: string; previous: string },
    journal: (phase: RestorePhase) => void,
    options: { force: boolean },
  ): Promise<void>;
  /** Settles what a killed restore from `record` left (see restore-journal's rule); says what was done. */
  settleRestore(provider: P, record: SnapshotRecord, restoring: SnapshotRestoring): Promise<string | undefined>;
  exists(provider: P, copy: string): Promise<boolean>;
  drop(provider: P, copy: string): Promise<void>;
  stats(provider: P, database: string): Promise<Record<string, TableStat>>;
  /** The engine cannot rename a database (MongoDB): a restore copies the current data aside, then replaces it in place. */
  restoresInPlace?: boolean;
}

// ─── password rotation ─────────────────────────────────────────────────────────────────────

export type LoginResult = 'ok' | 'rejected' | 'unreachable';

/** The server side of one rotation, prepared while the current password still works. */
export interface PasswordChange {
  /** Sets the role's password on the server. */
  change(password: string): Promise<void>;
  /** Puts the old password back, by any connection that still works. */
  restore(): Promise<void>;
}

/** Password rotation: change the role's password on the server, and prove a password on a fresh connection. */
export interface RotationCapability<P extends Provider = Provider> {
  prepare(provider: P, change: { user: string; oldPassword: string; next: string }): Promise<PasswordChange>;
  /** Logs in to the store with `password` on a fresh connection: accepted, rejected (authentication), or no answer. */
  tryLogin(store: ResolvedStore, password: string): Promise<LoginResult>;
}

// ─── client tools ──────────────────────────────────────────────────────────────────────────

/** The outcome of checking the client programs an engine's backups run (e.g. pg_dump, pg_restore). */
export interface ToolsVerdict {
  status: 'pass' | 'fail';
  reason: string;
  hint?: string;
}

/** External client programs the engine's backups and restores run, checked against the server. */
export interface ClientToolsCapability<P extends Provider = Provider> {
  /** What the check is called in reports ("pg_dump and pg_restore"). */
  tools: string;
  check(provider: P): Promise<ToolsVerdict>;
}

// ─── failover ──────────────────────────────────────────────────────────────────────────────

/** A member this machine can stop, start and rewind: its data directory, and the server programs to use. */
export interface LocalControl {
  dataDir: string;
  /** The directory of pg_ctl, pg_rewind, pg_waldump (default: the ones for the data directory's PG_VERSION). */
  binDir?: string;
}

/** One server of a replicated store, as the config names it. */
export interface Member {
  name: string;
  url: string;
  /** The replication slot this member streams through when it is a standby (default: its name). */
  slot: string;
  control?: LocalControl;
}

/** What one member reported (or why it did not). LSNs are PostgreSQL's text form (`0/3000148`). */
export interface MemberReport {
  name: string;
  address: string;
  reachable: boolean;
  error?: string;
  role: 'primary' | 'standby' | 'unknown';
  timeline?: number;
  /** Primary: its flushed WAL position. */
  currentLsn?: string;
  receivedLsn?: string;
  replayedLsn?: string;
  lagBytes?: number;
  lagSeconds?: number;
  /** Standby: its WAL receiver streams from the primary now. */
  streaming?: boolean;
  upstream?: string;
  replayPaused?: boolean;
  /** Standby: the slot it streams through, and that slot's state on the primary. */
  slot?: { name: string; exists: boolean; active: boolean; retainedBytes?: number };
  syncState?: string;
  /** Standby: whether it can take the primary role now, and why not. */
  eligible?: boolean;
  reasons?: string[];
}

export interface Topology {
  store: string;
  engine: Engine;
  primary?: string;
  members: MemberReport[];
  /** Facts the operator must know (no primary, two primaries, …). */
  problems: string[];
  /** PostgreSQL: every physical replication slot on the primary, those no member streams through included. */
  slots?: SlotReport[];
}

/** One replication slot as the primary reports it; `retainedBytes` is the WAL it holds back (absent when it reserves none). */
export interface SlotReport {
  name: string;
  active: boolean;
  retainedBytes?: number;
}

/** One switchover or promotion, as the history keeps it. */
export interface FailoverEvent {
  kind: 'switchover' | 'promote' | 'rejoin';
  store: string;
  from?: string;
  to: string;
  at: string;
  timeline?: number;
  /** The old primary's last flushed LSN (switchover) or what the candidate had received (promote). */
  lsn?: string;
  lagBytesAtStart?: number;
  /** From fencing the old primary to the new one proving a write. */
  unavailableMs?: number;
  durationMs: number;
  /** Promote: what the candidate never got. */
  loss?: { known: boolean; commits?: number; bytes?: number; from?: string; to?: string };
  /** What happened to the old primary (streams from the new one, left fenced for the operator, …). */
  oldPrimary?: string;
  steps: string[];
}

export interface FailoverContext<P extends Provider = Provider> {
  store: ResolvedStore;
  provider: P;
  members: Member[];
}

/** Replication: see the members, move the primary role, promote a standby, bring a former primary back. */
export interface FailoverCapability<P extends Provider = Provider> {
  topology(context: FailoverContext<P>, options: { maxLagBytes: number }): Promise<Topology>;
  switchover(context: FailoverContext<P>, options: { to?: string; maxLagBytes: number; timeoutMs: number }, progress: Progress): Promise<FailoverEvent>;
  promote(context: FailoverContext<P>, options: { to: string; acceptDataLoss: boolean }, progress: Progress): Promise<FailoverEvent>;
  rejoin(context: FailoverContext<P>, options: { member: string }, progress: Progress): Promise<FailoverEvent>;
}

// ─── sync ──────────────────────────────────────────────────────────────────────────────────

/** The engine-neutral types sync maps every engine's types to (the README's mapping table). */
export type SyncType = 'integer' | 'float' | 'decimal' | 'text' | 'boolean' | 'timestamptz' | 'timestamp' | 'date' | 'bytes' | 'json' | 'uuid';

/**
 * A value in canonical form: integer → bigint (never a lossy double), float → number, decimal →
 * exact string, timestamptz → ISO UTC string with microseconds, timestamp → ISO without zone,
 * date → YYYY-MM-DD, bytes → Buffer, json → a parsed JSON value, uuid → lower-case string.
 */
export type SyncValue = null | boolean | bigint | number | string | Buffer | { json: unknown };

export type SyncRow = Record<string, SyncValue>;

export interface SyncColumn {
  name: string;
  type: SyncType;
  nullable: boolean;
  /** The engine's own name for the type (for messages). */
  native: string;
}

export interface SyncTableShape {
  columns: SyncColumn[];
  /** The primary key (PostgreSQL, SQLite) or `_id` (MongoDB). */
  key: string[];
}

/** Where a run is: the last key it committed, and what it counted. Kept at the target, in the batch's own transaction where the engine has them. */
export interface SyncCheckpoint {
  job: string;
  lastKey: SyncValue[] | null;
  /** The highest watermark value committed (incremental runs). */
  watermark: SyncValue | null;
  rows: number;
  /** running: a run is under way or was cut short (resume continues it); done: the last run finished. */
  state: 'running' | 'done';
  startedAt: string;
  updatedAt: string;
  /** Follow mode (`sync run --follow`): where the change feed stands; absent for plain runs. */
  follow?: SyncFollowPoint;
}

/** Where a follow stands, kept in the checkpoint with each applied batch. */
export interface SyncFollowPoint {
  /** logical: a PostgreSQL replication slot; watermark: polling the job's watermark column. */
  method: 'logical' | 'watermark';
  /** The slot's name (logical). */
  feed?: string;
  /** The source position applied and committed at the target (PostgreSQL: the last applied commit's LSN). */
  position?: string;
  /** When the source committed the last change applied (logical), or null before any change. */
  sourceCommittedAt?: string | null;
  /** The target held every change the source had committed at this time (updated with each batch and while idle). */
  currentAt: string;
  /** following: a run is applying changes (or was killed while it did); stopped: it stopped cleanly. */
  state: 'following' | 'stopped';
  changes: number;
}

export interface SyncReadOptions {
  columns: SyncColumn[];
  key: string[];
  /** Rows after this key (key order). */
  after: SyncValue[] | null;
  batchSize: number;
  /** Incremental: only rows whose watermark column is at least `since`. */
  watermark?: { column: string; since: SyncValue };
}

/** A consistent read of one table: every batch comes from the same snapshot. */
export interface SyncReader {
  /** How the snapshot is consistent ("one repeatable-read transaction", …). */
  consistency: string;
  batches(options: SyncReadOptions): AsyncIterable<SyncRow[]>;
  count(): Promise<number>;
  close(): Promise<void>;
  /** The key of every `every`-th row in key order (chunk boundaries), read by the engine; absent: the caller reads the keys. */
  boundaries?(options: { columns: SyncColumn[]; key: string[]; every: number }): Promise<SyncValue[][]>;
  /**
   * Each key range's row count and hash, computed by the engine over the rows' hash form (values.ts
   * `rowHashText`, rows joined by "\n", MD5 in hex; "" for no rows). Range i holds the keys after
   * boundary i-1 up to and including boundary i (the first from the start, the last to the end).
   * Undefined when the engine cannot produce that form for these columns: the caller hashes canonical rows.
   */
  hashRanges?(options: SyncHashOptions): Promise<SyncRangeHash[] | undefined>;
  /**
   * Rows as text lines (values.ts `textLine`: tab-separated canonical values, NULL as \N, in
   * PostgreSQL's COPY text format), encoded by the engine without canonical row objects, for a bulk
   * load into an empty target. Undefined when the engine cannot encode these columns' types exactly.
   */
  textBatches?(options: SyncReadOptions): AsyncIterable<SyncTextBatch> | undefined;
}

export interface SyncTextBatch {
  rows: number;
  lastKey: SyncValue[];
  text: string;
}

/**
 * A batch of text lines for an empty target (a run's `fresh` bulk load), written with its
 * checkpoint. Two batches may be loading at once (on two connections): a batch commits only once
 * `previous` (the batch before's write) has succeeded, so what is committed is always a prefix.
 */
export interface SyncTextApply {
  table: string;
  columns: SyncColumn[];
  text: string;
  rows: number;
  checkpoint: SyncCheckpoint;
  /** The batch before's write; undefined for the first. */
  previous: Promise<void> | undefined;
  /** Which of the two loading connections (the batch's number modulo 2). */
  lane: 0 | 1;
}

/** The source's keys, streamed: ask about keys in ascending key order (a key lower than the last asked is an error). */
export interface SyncKeySet {
  has(key: SyncValue[]): Promise<boolean>;
}

export interface SyncHashOptions {
  columns: SyncColumn[];
  key: string[];
  boundaries: SyncValue[][];
}

export interface SyncRangeHash {
  rows: number;
  hash: string;
}

export interface SyncApply {
  table: string;
  columns: SyncColumn[];
  key: string[];
  mode: 'upsert' | 'append';
  rows: SyncRow[];
  /** Written with the rows (absent when resolving a conflict, which moves no run forward). */
  checkpoint?: SyncCheckpoint;
  /** Per-row records of the job written in the same transaction as the rows (conflict policies other than source-wins). */
  records?: SyncRecord[];
  /** The target held no rows when this run began (and nothing else writes to it): rows may be bulk-loaded without conflict handling. */
  fresh: boolean;
  /** Follow mode: keys to delete in the same transaction (disjoint from `rows`' keys). Engines without `followDeletes` ignore it. */
  deletes?: SyncValue[][];
}

/** One committed change of a source table, by key: an upsert carries the row as it became, a delete only the key. */
export interface SyncChange {
  kind: 'upsert' | 'delete';
  key: SyncValue[];
  /** Absent on an upsert whose new values the feed did not carry whole (then the row is read again from the source). */
  row?: SyncRow;
}

/** Changes of whole source transactions, in commit order, up to `position`. */
export interface SyncChangeBatch {
  changes: SyncChange[];
  /** Confirm this once the target committed the batch. */
  position: string;
  transactions: number;
  /** The last transaction's commit time at the source (ISO). */
  committedAt: string | null;
}

/** A source's change feed as it stands (PostgreSQL: the job's logical replication slot). */
export interface SyncFeedState {
  name: string;
  /** A process is reading it now. */
  active: boolean;
  /** Source WAL the feed holds back (bytes), when known. */
  retainedBytes?: number;
  /** The position the feed has confirmed. */
  confirmed?: string;
}

export interface SyncFeedReader {
  /** Committed changes of the table past the last confirmed position (whole transactions, about `limit` changes), waiting up to `waitMs` for one; undefined when none came. */
  read(limit: number, waitMs: number): Promise<SyncChangeBatch | undefined>;
  /** The current rows of these keys (missing keys are absent): for upserts the feed did not carry whole. */
  fetch(keys: SyncValue[][]): Promise<SyncRow[]>;
  /** The target committed everything up to `position`: the source may forget it. */
  confirm(position: string): Promise<void>;
  close(): Promise<void>;
}

/** Follow mode on a source with a change feed (PostgreSQL: logical decoding through a replication slot). */
export interface SyncFollowCapability<P extends Provider = Provider> {
  /** How changes are read, for messages ("logical decoding (test_decoding)"). */
  method: string;
  /** Refuses, naming the setting to change, when this source cannot feed changes of `table` keyed by `key`. */
  check(provider: P, table: string, key: string[], database?: string): Promise<void>;
  /** The feed's name for a job (a valid, stable slot name). */
  feedName(job: string): string;
  /** The job's feed, if one exists on the source. */
  feedState(provider: P, job: string, database?: string): Promise<SyncFeedState | undefined>;
  /** Creates the job's feed: every change committed from now on is kept for it until confirmed. */
  openFeed(provider: P, job: string, database?: string): Promise<void>;
  reader(provider: P, job: string, table: string, shape: SyncTableShape, key: string[], database?: string): Promise<SyncFeedReader>;
  /** Drops the job's feed (true when there was one). */
  dropFeed(provider: P, job: string, database?: string): Promise<boolean>;
}

/**
 * What a job keeps per row at the target, beside its checkpoint: `baseline` (the hashes of the
 * source and target versions last reconciled, so a later run can tell which side changed) and
 * `conflict` (a row changed on both sides, both versions, waiting for `sync conflicts resolve`).
 * `value` null deletes the record.
 */
export interface SyncRecord {
  job: string;
  kind: 'baseline' | 'conflict';
  /** The row's canonical key text (keyText). */
  key: string;
  value: string | null;
}

/** Sync: read a table in key order from one snapshot; write batches idempotently, each with its checkpoint. */
export interface SyncCapability<P extends Provider = Provider> {
  /** The table's columns in canonical types and its key; undefined when it does not exist. A column whose type cannot be mapped is an error naming it. */
  describe(provider: P, table: string, database?: string): Promise<SyncTableShape | undefined>;
  openReader(provider: P, table: string, database?: string): Promise<SyncReader>;
  /** Creates the target table with these columns and key (when it does not exist). */
  createTable(provider: P, table: string, shape: SyncTableShape, database?: string): Promise<void>;
  readCheckpoint(provider: P, job: string, database?: string): Promise<SyncCheckpoint | undefined>;
  writeCheckpoint(provider: P, checkpoint: SyncCheckpoint, database?: string): Promise<void>;
  /** Writes the rows and the checkpoint together (one transaction where the engine has them; otherwise idempotent upserts, then the checkpoint). */
  apply(provider: P, batch: SyncApply, database?: string): Promise<void>;
  /** The rows with these keys (in no particular order): the target's own version of source rows, for conflict checks. */
  rowsByKey(provider: P, table: string, columns: SyncColumn[], key: string[], keys: SyncValue[][], database?: string): Promise<SyncRow[]>;
  /** A job's records of one kind, by key text: only these keys, or all of them. */
  readRecords(provider: P, job: string, kind: SyncRecord['kind'], keys?: string[], database?: string): Promise<Map<string, string>>;
  /** Bulk-loads text lines (SyncReader.textBatches) into an empty table, with the checkpoint as `apply` writes it; absent where the engine has no such load. */
  applyText?(provider: P, batch: SyncTextApply, database?: string): Promise<void>;
  /** Mirror mode: walks the table's keys in key order and deletes, in batches, the rows whose keys `keep` lacks. Returns how many. */
  deleteMissing(provider: P, table: string, key: string[], keep: SyncKeySet, database?: string): Promise<number>;
  /** What a "transaction" means here, for the README and plan output. */
  atomicBatches: boolean;
  /** `apply` also deletes `deletes` (in the batch's transaction): the engine can be a follow target. */
  followDeletes?: boolean;
  /** Follow mode's small batches (upserts, deletes and the checkpoint) in one round trip; `apply` is used where absent. */
  applyChanges?(provider: P, batch: SyncApply, database?: string): Promise<void>;
  /** A change feed for `sync run --follow` (sources without one are followed by polling their watermark). */
  follow?: SyncFollowCapability<P>;
}

// ─── the spec ──────────────────────────────────────────────────────────────────────────────

/** What a driver error means for this engine, beyond what every engine shares (network, timeouts, files). */
export interface FailureRules {
  /** A failure worth retrying (the server restarting, too many connections, …). */
  isTransient(error: unknown): boolean;
  /** Wrong credentials: never retried. */
  isAuthFailure(error: unknown): boolean;
  /** An engine-specific reading of the error, or undefined to let the shared rules describe it. */
  describe(store: ResolvedStore, error: unknown, facts: { message: string; address: string }): StorageError | undefined;
  /** The hint for an error the server rejected (by SQLSTATE or the like), if the engine knows one. */
  hintFor(error: unknown): string | undefined;
}

/** How long the names this engine derives (snapshot copies, staging databases) may be, and which characters they may hold. */
export interface NameRules {
  /** The longest name, in bytes (UTF-8). */
  maxBytes: number;
  /** Characters a derived name must not contain (replaced before use). */
  unsafe?: RegExp;
}

export interface EngineSpec<P extends Provider = Provider> {
  engine: Engine;
  /** The engine's name in messages: PostgreSQL, MongoDB, SQLite. */
  label: string;
  openProvider(store: ResolvedStore, secrets?: SecretResolver): P;
  /** An embedded engine (SQLite) has no server: no connections to count, no credentials, no network. */
  embedded?: boolean;
  failures: FailureRules;
  names: NameRules;
  backup: Lazy<BackupCapability<P>>;
  snapshot: Lazy<SnapshotCapability<P>>;
  rotatePassword?: Lazy<RotationCapability<P>>;
  clientTools?: Lazy<ClientToolsCapability<P>>;
  failover?: Lazy<FailoverCapability<P>>;
  sync?: Lazy<SyncCapability<P>>;
  tenancy?: Lazy<TenancyCapability<P>>;
  /** Why an optional capability is absent, in the operator's words (e.g. "SQLite has no server credentials to rotate"). */
  lacks?: Partial<Record<OptionalCapability, string>>;
}

/** The capabilities an engine may leave out. */
export type OptionalCapability = 'rotatePassword' | 'clientTools' | 'failover' | 'sync' | 'tenancy';
export type CapabilityName = 'backup' | 'snapshot' | OptionalCapability;
export type Capability<K extends CapabilityName> = Awaited<ReturnType<NonNullable<EngineSpec[K]>>>;

/**
 * A capability's implementation, imported the first time a store asks for it: `db health` loads
 * an engine's provider, never its backup or snapshot code (start-up stays fast).
 */
export type Lazy<T> = () => Promise<T>;

/** A tenant as the catalog (kept in the store itself) records it. */
export interface TenantRecord {
  name: string;
  /** The schema, database or file (name) holding its data. */
  container: string;
  status: 'active' | 'suspended';
  /** The last migration applied (its file name without the extension), or null before any. */
  version: string | null;
  createdAt: string;
  migratedAt: string | null;
}

/** One migration file: ordered by name; its checksum guards against editing it once applied. */
export interface TenantMigration {
  name: string;
  checksum: string;
  body: string;
}

export interface AppliedMigration {
  tenant: string;
  name: string;
  checksum: string;
  appliedAt: string;
}

export interface TenancySettings {
  prefix: string;
  /** SQLite: the directory of tenant files. */
  directory?: string;
  /** PostgreSQL: a role per tenant owning nothing, granted its schema (suspend revokes it). */
  roles: boolean;
  lockTimeoutMs: number;
}

/** A tenant per schema (PostgreSQL), database (MongoDB) or file (SQLite), with a catalog and a migration ledger in the store. */
export interface TenancyCapability<P extends Provider = Provider> {
  strategy: 'schema' | 'database' | 'file';
  /** Migration files this engine runs: .sql, or .json (MongoDB's declarative steps). */
  migrationExtension: '.sql' | '.json';
  /** Why a container name cannot be used here (length in bytes, characters, reserved names), or undefined. */
  containerProblem(container: string, settings: TenancySettings): string | undefined;
  /** Checks a migration's body before anything runs (MongoDB: its JSON steps); throws naming the file. */
  checkMigration?(migration: TenantMigration): void;
  /** The catalog, in one read. */
  catalog(provider: P, settings: TenancySettings): Promise<TenantRecord[]>;
  /** Every tenant's applied migrations, in one read. */
  ledger(provider: P, settings: TenancySettings): Promise<AppliedMigration[]>;
  /** Containers that look like tenants (named with the prefix), whether or not the catalog has them. */
  containers(provider: P, settings: TenancySettings): Promise<string[]>;
  /** Creates the container, applies the migrations and records the tenant; all or nothing where the engine has transactions. */
  provision(provider: P, tenant: { name: string; container: string }, migrations: TenantMigration[], settings: TenancySettings): Promise<TenantRecord>;
  /** Provisions several tenants in one transaction (fewer commits); when it fails the caller provisions each alone, so one bad tenant costs no other. */
  provisionGroup?(provider: P, tenants: Array<{ name: string; container: string }>, migrations: TenantMigration[], settings: TenancySettings): Promise<void>;
  /** Applies pending migrations to one tenant (in one transaction where the engine allows, with the lock timeout). */
  migrate(provider: P, tenant: TenantRecord, pending: TenantMigration[], settings: TenancySettings): Promise<void>;
  setStatus(provider: P, tenant: TenantRecord, status: TenantRecord['status'], settings: TenancySettings): Promise<void>;
  /** Removes the container and the tenant's catalog and ledger entries. */
  drop(provider: P, tenant: TenantRecord, settings: TenancySettings): Promise<void>;
  /** Size in bytes and rows (documents) per table of one tenant. */
  stats(provider: P, tenant: TenantRecord, settings: TenancySettings): Promise<{ bytes: number; rows: Record<string, number> }>;
  /** What suspend does on this engine, for messages and the README. */
  suspendMeans: string;
  /**
   * One tenant's data as a backup payload, in the engine's backup format (a pg_dump of the schema,
   * the tenant's SQLite file, a mongodump of its database). Absent: tenants of this engine cannot
   * be backed up alone (`tenant drop` then needs --no-backup).
   */
  dumpTenant?(context: DumpContext<P>, tenant: TenantRecord, settings: TenancySettings): Promise<DumpResult>;
  /**
   * Puts one tenant back from its backup: the container it has now (if any) is moved aside as
   * `previous` and kept, the backed-up one takes its place, and the catalog and ledger are set to
   * what the backup recorded (a dropped tenant is registered again). On failure the container is
   * as it was before.
   */
  restoreTenant?(context: TenantRestoreContext<P>): Promise<{ previous?: string }>;
  /**
   * Settles what a killed tenant restore left, from its journal entry (the facts `journal` was
   * given): rolls it back when the restored data never committed, finishes it when it did. Says
   * what it did. Engines whose restore cannot be left half-done by a kill have none.
   */
  settleTenantRestore?(provider: P, entry: TenantRestoreEntry, settings: TenancySettings): Promise<string>;
}

/** The tenant a backup holds, as the catalog had it when the backup was taken. */
export interface BackedUpTenant extends TenantRecord {
  /** The tenant's applied migrations then: a restore puts them back in the ledger. */
  ledger: Array<{ name: string; checksum: string; appliedAt: string }>;
}

export interface TenantRestoreContext<P extends Provider = Provider> {
  manifest: BackupManifest;
  dir: string;
  key?: Buffer;
  store: ResolvedStore;
  provider: P;
  tenant: BackedUpTenant;
  /** The tenant as the catalog has it now; undefined when it is not in the catalog (dropped). */
  current?: TenantRecord;
  /** What the replaced container is renamed to (derived from the container, like a store restore's `__pre_restore_`). */
  previous: string;
  settings: TenancySettings;
  /** A private scratch directory, removed afterwards. */
  scratch: string;
  progress: Progress;
  /** Records, before anything is changed, what `settleTenantRestore` needs to settle a killed restore. */
  journal(facts: Record<string, unknown>): void;
}
