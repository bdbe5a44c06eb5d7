// Password rotation: generate a strong password, change it on the server, prove it works on a
// fresh connection, and only then update the vault. If anything fails after the server-side
// change, the old password is put back, and the error says so.
import { randomBytes } from 'node:crypto';
import type { ResolvedStore } from '../config/load.js';
import { secretName } from '../config/secrets.js';
import { StorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { quoteIdent, type PostgresProvider } from '../providers/postgres.js';
import type { MongoProvider } from '../providers/mongodb.js';
import { withUrlParts } from '../providers/target.js';
import { registerSecret } from '../redact.js';
import { scramVerifier } from './scram.js';
import { shellQuote } from '../shell.js';

/** Where the rotated password is kept: a vault-like store of secrets. */
export interface SecretStore {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
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
}

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
  const user = decodeURIComponent(new URL(store.config.url).username);
  if (!user)
    throw new StorageError('CONFIG_INVALID', `Store "${store.name}" has no user in its url.`, { hint: 'Put the user in the url: postgres://USER@host/db.' });
  return { store: store.name, engine: store.engine, user, secret };
}

async function rotatePostgres(fleet: Fleet, plan: RotationPlan, vault: SecretStore, oldPassword: string, next: string): Promise<void> {
  const store = fleet.store(plan.store);
  const provider = (await fleet.provider(store)) as PostgresProvider;
  const statement = (password: string) => `alter role ${quoteIdent(plan.user)} password '${scramVerifier(password)}'`;
  const { default: pg } = await import('pg');
  const fresh = (password: string) =>
    new pg.Client({ connectionString: withUrlParts((store.config as { url: string }).url, { password }), connectionTimeoutMillis: store.connectTimeoutMs });
  const alter = (password: string) => provider.withClient((client) => client.query(statement(password)));
  // Putting the old password back: through the pool if it still has a connection, else logged in with the new one.
  const rollback = async () => {
    try {
      await alter(oldPassword);
    } catch {
      const client = fresh(next);
      await client.connect();
      try {
        await client.query(statement(oldPassword));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  };
  await alter(next);
  try {
    const probe = fresh(next);
    await probe.connect();
    await probe.query('select 1');
    await probe.end();
    vault.set(plan.secret, next);
  } catch (error) {
    await rollback().catch((failure) => {
      throw new StorageError(
        'FAILED',
        `Rotation failed (${(error as Error).message}) and putting the old password back failed too (${(failure as Error).message}).`,
        {
          hint: `The role "${plan.user}" now has a password that is not in the vault; set one by hand with \\password and store it with \`storage secrets set ${shellQuote(plan.secret)}\`.`,
        },
      );
    });
    throw new StorageError(
      'FAILED',
      `Rotation of "${plan.user}" on store "${plan.store}" failed after the server-side change: ${(error as Error).message}. The old password was put back; the vault is unchanged.`,
      {
        hint: 'Fix the cause (vault writable? server reachable?) and run the rotation again.',
      },
    );
  }
}

async function rotateMongo(fleet: Fleet, plan: RotationPlan, vault: SecretStore, oldPassword: string, next: string): Promise<void> {
  const store = fleet.store(plan.store);
  const provider = (await fleet.provider(store)) as MongoProvider;
  const client = await provider.getClient();
  const authDb = new URL((store.config as { url: string }).url).searchParams.get('authSource') ?? 'admin';
  const update = (password: string) => client.db(authDb).command({ updateUser: plan.user, pwd: password });
  try {
    await update(next);
  } catch (error) {
    throw new StorageError('UNSUPPORTED', `The server of store "${plan.store}" refused updateUser: ${(error as Error).message}. Nothing was changed.`, {
      hint: 'The server must support MongoDB user management (FerretDB v1 with the SQLite backend does not).',
    });
  }
  try {
    const { MongoClient } = await import('mongodb');
    const probe = new MongoClient(withUrlParts((store.config as { url: string }).url, { password: next }), {
      serverSelectionTimeoutMS: store.connectTimeoutMs,
    });
    await probe.connect();
    await probe.db('admin').command({ ping: 1 });
    await probe.close();
    vault.set(plan.secret, next);
  } catch (error) {
    await update(oldPassword);
    throw new StorageError(
      'FAILED',
      `Rotation of "${plan.user}" on store "${plan.store}" failed after the server-side change: ${(error as Error).message}. The old password was put back; the vault is unchanged.`,
      {
        hint: 'Fix the cause and run the rotation again.',
      },
    );
  }
}

export async function rotatePassword(fleet: Fleet, storeName: string, vault: SecretStore, options: { dryRun?: boolean } = {}): Promise<RotationResult> {
  const plan = planRotation(fleet, storeName);
  const oldPassword = vault.get(plan.secret);
  if (oldPassword === undefined) {
    throw new StorageError('SECRET_UNRESOLVED', `Store "${plan.store}" takes its password from secret "${plan.secret}", which is not in the vault.`, {
      hint: `Store the current password first: storage secrets set ${shellQuote(plan.secret)}`,
    });
  }
  if (options.dryRun) return { ...plan, rotated: false, dryRun: true };
  const next = generatePassword();
  registerSecret(next);
  if (plan.engine === 'postgres') await rotatePostgres(fleet, plan, vault, oldPassword, next);
  else await rotateMongo(fleet, plan, vault, oldPassword, next);
  return { ...plan, rotated: true, dryRun: false };
}
