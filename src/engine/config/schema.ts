// The configuration file's schema. Unknown keys are errors, so a typo is reported with its
// path instead of being silently ignored.
import { z } from 'zod';
import { parseDuration } from './duration.js';

export const STORE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

const duration = z.string().refine((value) => parseDuration(value) !== undefined, {
  message: 'expected a duration such as "500ms", "5s", "2m", "24h" or "7d"',
});

const secretOrPlain = z.string().min(1, 'must not be empty');

const timeouts = {
  /** How long to wait for a connection before the store counts as unreachable. */
  connectTimeout: duration.optional(),
  /** How long one statement may run before it is cancelled. */
  statementTimeout: duration.optional(),
  /** The largest number of pooled connections this tool opens to the store. */
  poolSize: z.number().int().min(1).max(100).optional(),
};

const role = z.enum(['primary', 'standby', 'standalone']).optional();

function urlWithScheme(schemes: string[]) {
  return z.string().refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `expected a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}` },
  );
}

export const PostgresStoreSchema = z
  .object({
    engine: z.literal('postgres'),
    url: urlWithScheme(['postgres', 'postgresql']),
    password: secretOrPlain.optional(),
    role,
    standbys: z.array(z.object({ name: z.string().regex(STORE_NAME), url: urlWithScheme(['postgres', 'postgresql']) }).strict()).optional(),
    ...timeouts,
  })
  .strict();

export const MongoStoreSchema = z
  .object({
    engine: z.literal('mongodb'),
    url: urlWithScheme(['mongodb', 'mongodb+srv']),
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
    compression: z.enum(['gzip', 'none']).optional(),
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
    tenancy: z.object({ store: z.string(), prefix: z.string().optional() }).strict().optional(),
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
