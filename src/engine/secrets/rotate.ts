// Password rotation: generate a strong password, record it in the vault as *pending*, change it
// on the server, prove it works on a fresh connection, and only then make it the current value.
// A rotation killed at any point leaves both passwords in the vault: the next command that needs
// the secret (rotate, db health, validate, …) tries both and settles which one the server takes.
// If anything fails after the server-side change, the old password is put back.
import { randomBytes } from 'node:crypto';
import { parseStoreUrl } from '../config/store-url.js';
import os from 'node:os';
import type { LoadedConfig, ResolvedStore } from '../config/load.js';
import { secretName, secretReferences } from '../config/secrets.js';
import { StorageError, isStorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { describeFailure } from '../providers/failures.js';
import { quoteIdent, type PostgresProvider } from '../providers/postgres.js';
import type { MongoProvider } from '../providers/mongodb.js';
import { withUrlParts, withoutCredentials } from '../providers/target.js';
import { registerSecret } from '../redact.js';
import { scramVerifier } from './scram.js';
import type { PendingRotation } from './vault.js';
import { shellQuote } from '../shell.js';

/** Where the rotated password is kept: the vault, or anything with its rotation protocol. */
export interface SecretStore {
  get(name: string): string | undefined;
  /** Records the next password before the server is changed. */
  setPending(name: string, value: string, store: string): void;
  /** The server took it: the pending password becomes current (the old one kept as a version). */
  commitPending(name: string, expected?: string): void;
  /** The server kept the old password: the pending one is dropped. */
  clearPending(name: string): void;
}

/** A store of secrets that can also say whether a rotation is in flight (the vault). */
export interface SettlingStore extends SecretStore {
  pending(name: string): (PendingRotation & { value: string }) | undefined;
  refresh?(): void;
}

export interface RotationPlan {
  store: string;
  engine: ResolvedStore['engine'];
  user: string;
  secret: string;
}

export interface RotationResult extends RotationPlan {
  rotated: boolean;
  dryRun: boolean;
  /** An interrupted earlier rotation this run settled first. */
  settled?: Settlement;
}

/** The points a rotation passes, in order (reported through `onStep`, e.g. for tests that interrupt it). */
export type RotationStep = 'pending-saved' | 'server-changed' | 'proven' | 'saved';

export interface RotateOptions {
  dryRun?: boolean;
  onStep?: (step: RotationStep) => void;
}

export type Settlement =
  | { secret: string; store: string; outcome: 'kept-current' }
  | { secret: string; store: string; outcome: 'completed' }
  | { secret: string; store: string; outcome: 'in-progress' | 'unsettled'; reason: string };

export function generatePassword(length = 32): string {
  return randomBytes(length).toString('base64url').slice(0, length);
}

export function planRotation(fleet: Fleet, storeName: string): RotationPlan {
  const store = fleet.store(storeName);
  if (store.config.engine === 'sqlite') {
    throw new StorageError('USAGE', `Store "${store.name}" is SQLite: it has no server credentials to rotate.`, {
      hint: 'Rotation applies to PostgreSQL and MongoDB stores.',
    });
  }
  const secret = secretName(store.config.password);
  if (!secret) {
    throw new StorageError(
      'CONFIG_INVALID',
      `Store "${store.name}" does not take its password from the vault, so a rotated password would have nowhere to go.`,
      {
        hint: `Store the current password with \`storage secrets set NAME\` and set password: "secret:NAME" for the store first.`,
      },
    );
  }
  const user = parseStoreUrl(store.config.url)?.username ?? '';
  if (!user)
    throw new StorageError('CONFIG_INVALID', `Store "${store.name}" has no user in its url.`, { hint: 'Put the user in the url: postgres://USER@host/db.' });
  return { store: store.name, engine: store.engine, user, secret };
}

/** The store's URL logging in with `password` (any password in the URL itself is taken out first). */
function urlWith(store: ResolvedStore, password: string): string {
  return withUrlParts(withoutCredentials((store.config as { url: string }).url).url, { password });
}

type LoginResult = 'ok' | 'rejected' | 'unreachable';

/** Tries to log in to the store with `password` on a fresh connection: accepted, rejected (authentication), or no answer. */
export async function tryLogin(store: ResolvedStore, password: string): Promise<LoginResult> {
  const judge = (error: unknown): LoginResult => (describeFailure(store, error).code === 'AUTH_FAILED' ? 'rejected' : 'unreachable');
  if (store.engine === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: urlWith(store, password), connectionTimeoutMillis: store.connectTimeoutMs });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return 'ok';
    } catch (error) {
      return judge(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  if (store.engine === 'mongodb') {
    const { MongoClient } = await import('mongodb');
    const client = new MongoClient(urlWith(store, password), { serverSelectionTimeoutMS: store.connectTimeoutMs });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return 'ok';
    } catch (error) {
      return judge(error);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  return 'unreachable';
}

function holderAlive(pending: PendingRotation): boolean {
  if (pending.host !== os.hostname()) return false;
  try {
    process.kill(pending.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Settles an interrupted rotation of `secret`: the current password still logs in → the pending
 * one is dropped; the server rejects it and takes the pending one → the pending one becomes
 * current. A rotation whose process is still running is left alone, and so is one the server
 * cannot be asked about (it stays pending until a command can reach it).
 */
export async function settlePendingRotation(config: LoadedConfig, vault: SettlingStore, secret: string): Promise<Settlement | undefined> {
  const pending = vault.pending(secret);
  if (!pending) return undefined;
  const base = { secret, store: pending.store };
  if (holderAlive(pending)) return { ...base, outcome: 'in-progress', reason: `pid ${pending.pid} is still rotating it` };
  const users = secretReferences(config).filter((ref) => ref.name === secret && config.stores.has(ref.user));
  const store = config.stores.get(pending.store) ?? (users[0] ? config.stores.get(users[0].user) : undefined);
  if (!store) return { ...base, outcome: 'unsettled', reason: `no configured store uses secret "${secret}" to try the passwords on` };
  const current = vault.get(secret);
  const onCurrent = current === undefined ? 'rejected' : await tryLogin(store, current);
  if (onCurrent === 'ok') {
    vault.clearPending(secret);
    return { ...base, outcome: 'kept-current' };
  }
  const onPending = await tryLogin(store, pending.value);
  if (onPending === 'ok' && onCurrent === 'rejected') {
    vault.commitPending(secret, pending.value);
    return { ...base, outcome: 'completed' };
  }
  return { ...base, outcome: 'unsettled', reason: `the server of store "${store.name}" did not answer, or took neither password` };
}

interface ServerSide {
  /** Sets the role's password on the server. */
  change(password: string): Promise<void>;
  /** Puts the old password back, by any connection that still works. */
  restore(): Promise<void>;
}

async function postgresSide(fleet: Fleet, plan: RotationPlan, oldPassword: string, next: string): Promise<ServerSide> {
  const store = fleet.store(plan.store);
  const provider = (await fleet.provider(store)) as PostgresProvider;
  const statement = (password: string) => `alter role ${quoteIdent(plan.user)} password '${scramVerifier(password)}'`;
  const alter = (password: string) => provider.withClient((client) => client.query(statement(password)));
  // Connected (with the current password) before anything changes: the pool is the way back.
  await provider.withClient((client) => client.query('select 1'));
  return {
    change: async (password) => {
      await alter(password);
    },
    restore: async () => {
      try {
        await alter(oldPassword);
      } catch {
        const { default: pg } = await import('pg');
        const client = new pg.Client({ connectionString: urlWith(store, next), connectionTimeoutMillis: store.connectTimeoutMs });
        client.on('error', () => undefined);
        await client.connect();
        try {
          await client.query(statement(oldPassword));
        } finally {
          await client.end().catch(() => undefined);
        }
      }
    },
  };
}

async function mongoSide(fleet: Fleet, plan: RotationPlan, oldPassword: string): Promise<ServerSide> {
  const store = fleet.store(plan.store);
  const provider = (await fleet.provider(store)) as MongoProvider;
  const client = await provider.getClient();
  const authDb = parseStoreUrl((store.config as { url: string }).url)?.params.get('authSource') ?? 'admin';
  const update = async (password: string) => {
    await client.db(authDb).command({ updateUser: plan.user, pwd: password });
  };
  return {
    change: async (password) => {
      try {
        await update(password);
      } catch (error) {
        throw new StorageError('UNSUPPORTED', `The server of store "${plan.store}" refused updateUser: ${(error as Error).message}. Nothing was changed.`, {
          hint: 'The server must support MongoDB user management (FerretDB v1 with the SQLite backend does not).',
        });
      }
    },
    restore: () => update(oldPassword),
  };
}

export async function rotatePassword(fleet: Fleet, storeName: string, vault: SecretStore, options: RotateOptions = {}): Promise<RotationResult> {
  const plan = planRotation(fleet, storeName);
  const step = options.onStep ?? (() => undefined);
  let settled: Settlement | undefined;
  if ('pending' in vault && !options.dryRun) {
    settled = await settlePendingRotation(fleet.config, vault as SettlingStore, plan.secret);
    if (settled && settled.outcome !== 'kept-current' && settled.outcome !== 'completed') {
      throw new StorageError('LOCKED', `An earlier rotation of secret "${plan.secret}" is not settled: ${settled.reason}.`, {
        hint: 'Wait for it to finish (or for the server to answer) and run the rotation again; both passwords are kept in the vault meanwhile.',
      });
    }
  }
  const oldPassword = vault.get(plan.secret);
  if (oldPassword === undefined) {
    throw new StorageError('SECRET_UNRESOLVED', `Store "${plan.store}" takes its password from secret "${plan.secret}", which is not in the vault.`, {
      hint: `Store the current password first: storage secrets set ${shellQuote(plan.secret)}`,
    });
  }
  if (options.dryRun) return { ...plan, rotated: false, dryRun: true };
  const next = generatePassword();
  registerSecret(next);
  const server = plan.engine === 'postgres' ? await postgresSide(fleet, plan, oldPassword, next) : await mongoSide(fleet, plan, oldPassword);

  vault.setPending(plan.secret, next, plan.store);
  step('pending-saved');
  try {
    await server.change(next);
  } catch (error) {
    // A refusal from the server (an error reply) changed nothing: the pending password goes. A lost
    // connection may have lost the reply, not the change: then the check settles which one holds.
    const refused = isStorageError(error) && ['QUERY_FAILED', 'UNSUPPORTED', 'AUTH_FAILED'].includes(error.code);
    if (refused) {
      try {
        vault.clearPending(plan.secret);
      } catch {
        // Left pending: the next command finds the old password works and drops it.
      }
    } else await settleAfterFailure(fleet, vault, plan);
    throw error;
  }
  step('server-changed');
  try {
    const proof = await tryLogin(fleet.store(plan.store), next);
    if (proof !== 'ok')
      throw new Error(proof === 'rejected' ? 'the server rejected the new password on a fresh connection' : 'the server did not answer a fresh connection');
    step('proven');
    vault.commitPending(plan.secret, next);
    step('saved');
  } catch (error) {
    const cause = (error as Error).message;
    try {
      await server.restore();
    } catch (failure) {
      throw new StorageError('FAILED', `Rotation failed (${cause}) and putting the old password back failed too (${(failure as Error).message}).`, {
        hint: `The new password is kept in the vault as pending for secret "${plan.secret}"; the next command that connects to store "${plan.store}" (e.g. storage db health ${plan.store}) tries both and keeps the one the server takes.`,
      });
    }
    await settleAfterFailure(fleet, vault, plan);
    throw new StorageError(
      'FAILED',
      `Rotation of "${plan.user}" on store "${plan.store}" failed after the server-side change: ${cause}. The old password was put back; the vault is unchanged.`,
      { hint: 'Fix the cause (vault writable? server reachable?) and run the rotation again.' },
    );
  }
  return { ...plan, rotated: true, dryRun: false, ...(settled ? { settled } : {}) };
}

/** After a failed step: drop the pending password if the old one works (else leave it for the next command to settle). */
async function settleAfterFailure(fleet: Fleet, vault: SecretStore, plan: RotationPlan): Promise<void> {
  try {
    const current = vault.get(plan.secret);
    if (current !== undefined && (await tryLogin(fleet.store(plan.store), current)) === 'ok') vault.clearPending(plan.secret);
  } catch {
    // Left pending: settled by the next command that needs the secret.
  }
}
