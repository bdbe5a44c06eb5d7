// Password rotation: generate a strong password, record it in the vault as *pending*, change it
// on the server, prove it works on a fresh connection, and only then make it the current value.
// A rotation killed at any point leaves both passwords in the vault: the next command that needs
// the secret (rotate, db health, validate, …) tries both and settles which one the server takes.
// If anything fails after the server-side change, the old password is put back.
import { generatePassword } from './password.js';
import { parseStoreUrl } from '../config/store-url.js';
import os from 'node:os';
import type { LoadedConfig, ResolvedStore } from '../config/load.js';
import { secretName, secretReferences } from '../config/secrets.js';
import { StorageError, isStorageError } from '../errors.js';
import type { Fleet } from '../fleet.js';
import { loadEngine } from '../engines/index.js';
import type { LoginResult } from '../engines/spec.js';
import { registerSecret } from '../redact.js';
import type { PendingRotation } from './vault.js';
import { shellQuote } from '../system/shell.js';
import { processAlive } from '../system/processes.js';

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

export async function planRotation(fleet: Fleet, storeName: string): Promise<RotationPlan> {
  // An engine without rotation (SQLite: no server credentials) is refused here, by the registry.
  const { store } = await fleet.capability(storeName, 'rotatePassword');
  const secret = secretName('password' in store.config ? store.config.password : undefined);
  if (!secret) {
    throw new StorageError(
      'CONFIG_INVALID',
      `Store "${store.name}" does not take its password from the vault, so a rotated password would have nowhere to go.`,
      {
        hint: `Store the current password with \`storage secrets set NAME\` and set password: "secret:NAME" for the store first.`,
      },
    );
  }
  const user = ('url' in store.config ? parseStoreUrl(store.config.url)?.username : undefined) ?? '';
  if (!user)
    throw new StorageError('CONFIG_INVALID', `Store "${store.name}" has no user in its url.`, { hint: 'Put the user in the url: postgres://USER@host/db.' });
  return { store: store.name, engine: store.engine, user, secret };
}

/** Tries to log in to the store with `password` on a fresh connection: accepted, rejected (authentication), or no answer. */
export async function tryLogin(store: ResolvedStore, password: string): Promise<LoginResult> {
  const spec = await loadEngine(store.engine);
  const rotation = await spec.rotatePassword?.();
  return rotation ? rotation.tryLogin(store, password) : 'unreachable';
}

function holderAlive(pending: PendingRotation): boolean {
  return pending.host === os.hostname() && processAlive(pending.pid);
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

export async function rotatePassword(fleet: Fleet, storeName: string, vault: SecretStore, options: RotateOptions = {}): Promise<RotationResult> {
  const plan = await planRotation(fleet, storeName);
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
  const { provider, impl } = await fleet.capability(plan.store, 'rotatePassword');
  const server = await impl.prepare(provider, { user: plan.user, oldPassword, next });

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
      throw error;
    }
    if ((await settleAfterFailure(fleet, vault, plan)) || !isStorageError(error)) throw error;
    // The old password no longer logs in (or could not be tried): the server may hold the new one.
    throw new StorageError(error.code, `${error.message} The password change may have reached the server before the connection was lost.`, {
      hint: pendingKept(plan),
      details: error.details,
      cause: error,
    });
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
        hint: pendingKept(plan),
      });
    }
    const vaultState = (await settleAfterFailure(fleet, vault, plan))
      ? 'the vault is unchanged'
      : 'the new password stays pending in the vault until a command can check which one the server takes';
    throw new StorageError(
      'FAILED',
      `Rotation of "${plan.user}" on store "${plan.store}" failed after the server-side change: ${cause}. The old password was put back; ${vaultState}.`,
      { hint: 'Fix the cause (vault writable? server reachable?) and run the rotation again.' },
    );
  }
  return { ...plan, rotated: true, dryRun: false, ...(settled ? { settled } : {}) };
}

/**
 * After a failed step: drops the pending password if the old one works, and says whether it did
 * (false: it is left for the next command to settle).
 */
async function settleAfterFailure(fleet: Fleet, vault: SecretStore, plan: RotationPlan): Promise<boolean> {
  try {
    const current = vault.get(plan.secret);
    if (current !== undefined && (await tryLogin(fleet.store(plan.store), current)) === 'ok') {
      vault.clearPending(plan.secret);
      return true;
    }
  } catch {
    // Left pending: settled by the next command that needs the secret.
  }
  return false;
}

/** What an operator is told when a rotation ends with the new password kept pending in the vault. */
function pendingKept(plan: RotationPlan): string {
  return `The new password is kept in the vault as pending for secret "${plan.secret}"; the next command that connects to store "${plan.store}" (e.g. storage db health ${plan.store}) tries both and keeps the one the server takes.`;
}
