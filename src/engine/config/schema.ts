// The configuration file's schema. Unknown keys are errors, so a typo is reported with its
// path instead of being silently ignored.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { parseStoreUrl } from './store-url.js';

export const STORE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

const DURATION_EXAMPLE = 'expected a duration such as "500ms", "5s", "2m", "24h" or "7d"';

const duration = z.string().refine((value) => parseDuration(value) !== undefined, { message: DURATION_EXAMPLE });

/** A duration that drives a timer: bounded, since a timer past ~24.8 days overflows and fires at once. */
function timerDuration(max: string) {
  const maxMs = parseDuration(max)!;
  return z.string().superRefine((value, context) => {
    const ms = parseDuration(value);
    if (ms === undefined) context.addIssue({ code: 'custom', message: DURATION_EXAMPLE });
    else if (ms < 1) context.addIssue({ code: 'custom', message: 'must be at least 1ms' });
    else if (ms > maxMs) context.addIssue({ code: 'custom', message: `must be at most ${max} (got ${value})` });
  });
}

const secretOrPlain = z.string().min(1, 'must not be empty');

const timeouts = {
  /** How long to wait for a connection before the store counts as unreachable. */
  connectTimeout: timerDuration('10m').optional(),
  /** How long one statement may run before it is cancelled. */
  statementTimeout: timerDuration('24h').optional(),
  /** The largest number of pooled connections this tool opens to the store. */
  poolSize: z.number().int().min(1).max(100).optional(),
};

const role = z.enum(['primary', 'standby', 'standalone']).optional();

function urlWithScheme(schemes: string[], rules: { singleHost?: boolean; database?: 'required' } = {}) {
  return z.string().superRefine((value, context) => {
    const url = parseStoreUrl(value);
    if (!url || !schemes.includes(url.scheme)) {
      context.addIssue({ code: 'custom', message: `expected a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}` });
      return;
    }
    if (rules.singleHost && url.hosts.length > 1)
      context.addIssue({ code: 'custom', message: 'names several hosts; give the primary here and the others as standbys' });
    if (rules.database === 'required' && !url.database)
      context.addIssue({
        code: 'custom',
        message: `names no database (the server would silently use "test"); add it to the path, e.g. ${url.scheme}://${url.hosts.join(',')}/DATABASE`,
      });
  });
}

/** A member this machine can stop, start and rewind (failover): its data directory and server programs. */
const localControl = z
  .object({
    dataDir: z.string().min(1, 'must not be empty'),
    binDir: z.string().min(1, 'must not be empty').optional(),
  })
  .strict();

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

export const PostgresStoreSchema = z
  .object({
    engine: z.literal('postgres'),
    url: urlWithScheme(['postgres', 'postgresql'], { singleHost: true }),
    password: secretOrPlain.optional(),
    role,
    /** The failover name of the server at `url` (default: the store's name). */
    member: z.string().regex(STORE_NAME).optional(),
    control: localControl.optional(),
    /** The replication slot the server at `url` streams through when it is a standby (default: its member name). */
    slot: z.string().regex(SLOT_NAME, 'slot names use lower-case letters, digits and _ (at most 63)').optional(),
    standbys: z
      .array(
        z
          .object({
            name: z.string().regex(STORE_NAME),
            url: urlWithScheme(['postgres', 'postgresql'], { singleHost: true }),
            control: localControl.optional(),
            slot: z.string().regex(SLOT_NAME, 'slot names use lower-case letters, digits and _ (at most 63)').optional(),
          })
          .strict(),
      )
      .optional(),
    ...timeouts,
  })
  .strict();

export const MongoStoreSchema = z
  .object({
    engine: z.literal('mongodb'),
    url: urlWithScheme(['mongodb', 'mongodb+srv'], { database: 'required' }),
    password: secretOrPlain.optional(),
    role,
    ...timeouts,
  })
  .strict();

export const SqliteStoreSchema = z
  .object({
    engine: z.literal('sqlite'),
    path: z.string().min(1, 'must not be empty'),
    readonly: z.boolean().optional(),
    ...timeouts,
  })
  .strict();

export const StoreSchema = z.discriminatedUnion('engine', [PostgresStoreSchema, MongoStoreSchema, SqliteStoreSchema]);

const retention = z
  .object({
    keepLast: z.number().int().min(0).optional(),
    keepHourly: z.number().int().min(0).optional(),
    keepDaily: z.number().int().min(0).optional(),
    keepWeekly: z.number().int().min(0).optional(),
    keepMonthly: z.number().int().min(0).optional(),
    keepWithin: duration.optional(),
  })
  .strict();

export const BackupSchema = z
  .object({
    repository: z.string().min(1).optional(),
    encryption: z
      .union([
        z.object({ key: z.string().min(1) }).strict(),
        z.object({ keyFile: z.string().min(1) }).strict(),
        z.object({ passphrase: z.string().min(1) }).strict(),
        z.object({ enabled: z.literal(false) }).strict(),
      ])
      .optional(),
    /** How new backups are compressed before encryption (default zstd); backups record theirs, so older gzip ones stay readable. */
    compression: z.enum(['zstd', 'gzip', 'none']).optional(),
    /** zstd level for new backups (default 3; higher is smaller and slower). */
    compressionLevel: z.number().int().min(1).max(19).optional(),
    /** PostgreSQL row counts in the manifest: the planner's estimates (default: free) or exact counts in the dump's snapshot (a second scan of every table). */
    rowCounts: z.enum(['exact', 'estimate']).optional(),
    retention: retention.optional(),
    rpo: duration.optional(),
    /** The verification each new backup gets, and that `validate` requires of each store's newest one. */
    verify: z.enum(['files', 'read-data', 'restore-test']).optional(),
  })
  .strict();

export const ConfigSchema = z
  .object({
    stores: z.record(z.string().regex(STORE_NAME, 'store names start with a letter and use letters, digits, - and _'), StoreSchema).optional(),
    defaults: z.object(timeouts).strict().optional(),
    backup: BackupSchema.optional(),
    /** One schema (PostgreSQL), database (MongoDB) or file (SQLite) per tenant (`storage tenant`). */
    tenancy: z
      .object({
        store: z.string(),
        /** Must match the store's engine when given: schema (PostgreSQL), database (MongoDB), file (SQLite). */
        strategy: z.enum(['schema', 'database', 'file']).optional(),
        /** Put before each tenant's name to make its schema, database or file (default "t_"; "" for none). */
        prefix: z
          .string()
          .regex(/^[a-z0-9_]*$/, 'a prefix uses lower-case letters, digits and _')
          .max(20)
          .optional(),
        /** The directory of ordered migration files (.sql; MongoDB: .json steps). */
        migrations: z.string().min(1).optional(),
        /** SQLite: where tenant files live (default: a "tenants" directory beside the store's file). */
        directory: z.string().min(1).optional(),
        /** PostgreSQL and MongoDB: a role per tenant (default true), granted its schema or database; suspend revokes it (false on servers without roles, e.g. FerretDB). */
        roles: z.boolean().optional(),
        /** How long a tenant's migration waits for a lock before it fails (default 5s). */
        lockTimeout: duration.optional(),
      })
      .strict()
      .optional(),
    /** Thresholds of `storage validate`. */
    validate: z
      .object({
        /** A store slower than this to answer is a warning (default 1s). */
        slowLatency: duration.optional(),
        /** Connections in use, in percent of the limit, that warn (default 80) and fail (default 95). */
        connectionsWarnPercent: z.number().min(0).max(100).optional(),
        connectionsFailPercent: z.number().min(0).max(100).optional(),
        /** Free space wanted for the repository, as a multiple of the largest newest backup (default 2). */
        diskMargin: z.number().min(0).max(100).optional(),
        /** WAL, in bytes, a replication slot on the primary may hold back before it warns (default 1 GiB) and fails (default 4 GiB). */
        slotRetainedWarn: z.number().int().min(0).optional(),
        slotRetainedFail: z.number().int().min(0).optional(),
        /** A standby's replay lag, in bytes, that warns (default 16 MiB) and fails (default 256 MiB). */
        replicationLagWarn: z.number().int().min(0).optional(),
        replicationLagFail: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    /** Named sync jobs: copy a table/collection from one store to another (`storage sync`). */
    sync: z
      .object({
        jobs: z.record(
          z.string().regex(STORE_NAME, 'job names start with a letter and use letters, digits, - and _'),
          z
            .object({
              from: z.object({ store: z.string().min(1), table: z.string().min(1) }).strict(),
              to: z.object({ store: z.string().min(1), table: z.string().min(1) }).strict(),
              /** Key columns (default: the source's primary key, or _id). */
              key: z.array(z.string().min(1)).min(1).optional(),
              /** A column that only grows (an updated_at, a serial): incremental runs read rows at or past the last value seen. */
              watermark: z.string().min(1).optional(),
              /** A timestamp watermark is read from this far before the last value seen (clock skew between writers; default 5s). */
              watermarkOverlap: duration.optional(),
              mode: z.enum(['upsert', 'mirror', 'append']).optional(),
              /** Rows changed on both sides since the last run: source-wins (default), target-wins, manual, or { newest-wins: column }. */
              conflict: z.union([z.enum(['source-wins', 'target-wins', 'manual']), z.object({ 'newest-wins': z.string().min(1) }).strict()]).optional(),
              batchSize: z.number().int().min(1).max(100_000).optional(),
              /** `validate` fails the job when its last completed run is older than this. */
              maxLag: duration.optional(),
            })
            .strict(),
        ),
      })
      .strict()
      .optional(),
    vault: z
      .object({ path: z.string().min(1).optional(), keyFile: z.string().min(1).optional() })
      .strict()
      .optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof ConfigSchema>;
export type StoreConfig = z.infer<typeof StoreSchema>;
export type PostgresStoreConfig = z.infer<typeof PostgresStoreSchema>;
export type MongoStoreConfig = z.infer<typeof MongoStoreSchema>;
export type SqliteStoreConfig = z.infer<typeof SqliteStoreSchema>;
export type Engine = StoreConfig['engine'];
