// Settling a rotation that was interrupted, and the refusals before one starts, in-process
// against the MongoDB stand-in for the server side (test/support/mongo-users-wire-server.ts: it
// really checks passwords, and what it holds can be set as a killed rotation would have left it).
// The vault is real; the interrupted rotation is the vault file as a killed run left it (its
// pending password, with that run's pid and host).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planRotation, rotatePassword, settlePendingRotation, tryLogin } from '../../src/engine/secrets/rotate.js';
import { Vault } from '../../src/engine/secrets/vault.js';
import { fleetFor } from '../support/fleet.js';
import { MongoUserServer } from '../support/mongo-users-wire-server.js';
import { refusal } from '../support/refusal.js';

const OLD = 'Mongo-Old-Settle-Pw-4471';
const NEXT = 'Mongo-Next-Settle-Pw-9902';
const deadPid = 2 ** 22 + 4711;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setUp(refuseUpdate = false) {
  const server = await MongoUserServer.start({ user: 'm18_app', password: OLD, refuseUpdate });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm18_settle-'));
  fs.writeFileSync(path.join(dir, 'vault.key'), Buffer.alloc(32, 7).toString('base64'));
  const file = path.join(dir, 'vault.json');
  const vault = await Vault.open(file, { kind: 'keyfile', file: path.join(dir, 'vault.key') }, { create: true });
  vault.set('mongo-pw', OLD);
  const url = `mongodb://m18_app@127.0.0.1:${server.port}/events?directConnection=true`;
  const fleet = await fleetFor(
    {
      stores: {
        events: { engine: 'mongodb', url, password: 'secret:mongo-pw', connectTimeout: '2s' },
        literal: { engine: 'mongodb', url, password: 'not-from-the-vault', connectTimeout: '2s' },
        nouser: { engine: 'mongodb', url: `mongodb://127.0.0.1:${server.port}/events`, password: 'secret:mongo-pw', connectTimeout: '2s' },
        missing: { engine: 'mongodb', url, password: 'secret:not-in-vault', connectTimeout: '2s' },
        lite: { engine: 'sqlite', path: path.join(dir, 'lite.db') },
      },
    },
    {},
    async (name) => vault.get(name),
  );
  cleanups.push(async () => {
    await fleet.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  /** A rotation of `value` left pending by a run with this pid and host (a killed run: a pid that is not running). */
  const leavePending = (value: string, left: { pid?: number; host?: string; store?: string } = {}) => {
    vault.setPending('mongo-pw', value, left.store ?? 'events');
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    data.secrets['mongo-pw'].pending = { ...data.secrets['mongo-pw'].pending, pid: left.pid ?? deadPid, ...(left.host ? { host: left.host } : {}) };
    fs.writeFileSync(file, JSON.stringify(data));
    vault.refresh();
  };
  return { server, vault, fleet, leavePending };
}

describe('settling an interrupted rotation', () => {
  it('nothing pending: nothing to settle; a dry run changes nothing', async () => {
    const { server, vault, fleet } = await setUp();
    expect(await settlePendingRotation(fleet.config, vault, 'mongo-pw')).toBeUndefined();
    expect(await rotatePassword(fleet, 'events', vault, { dryRun: true })).toEqual({
      store: 'events',
      engine: 'mongodb',
      user: 'm18_app',
      secret: 'mongo-pw',
      rotated: false,
      dryRun: true,
    });
    expect(server.updates()).toEqual([]);
    expect(vault.get('mongo-pw')).toBe(OLD);
  });

  it('a rotation whose process still runs is left alone: in progress, and a new rotation is refused (LOCKED) without touching the server; a dry run does not settle it', async () => {
    const { server, vault, fleet, leavePending } = await setUp();
    leavePending(NEXT, { pid: process.pid });
    expect(await settlePendingRotation(fleet.config, vault, 'mongo-pw')).toEqual({
      secret: 'mongo-pw',
      store: 'events',
      outcome: 'in-progress',
      reason: `pid ${process.pid} is still rotating it`,
    });
    const error = await refusal(rotatePassword(fleet, 'events', vault));
    expect(error.code).toBe('LOCKED');
    expect(error.message).toBe(`An earlier rotation of secret "mongo-pw" is not settled: pid ${process.pid} is still rotating it.`);
    expect(error.hint).toBe('Wait for it to finish (or for the server to answer) and run the rotation again; both passwords are kept in the vault meanwhile.');
    expect(await rotatePassword(fleet, 'events', vault, { dryRun: true })).toMatchObject({ rotated: false, dryRun: true });
    expect(vault.pending('mongo-pw')?.value).toBe(NEXT);
    expect(server.updates()).toEqual([]);
  });

  it('a killed rotation the server never took: the old password logs in, so the pending one is dropped; the next rotation says it settled that and rotates', async () => {
    const { server, vault, fleet, leavePending } = await setUp();
    leavePending(NEXT);
    expect(await settlePendingRotation(fleet.config, vault, 'mongo-pw')).toEqual({ secret: 'mongo-pw', store: 'events', outcome: 'kept-current' });
    expect(vault.pending('mongo-pw')).toBeUndefined();
    expect(vault.get('mongo-pw')).toBe(OLD);
    leavePending(NEXT);
    const result = await rotatePassword(fleet, 'events', vault);
    expect(result).toEqual({
      store: 'events',
      engine: 'mongodb',
      user: 'm18_app',
      secret: 'mongo-pw',
      rotated: true,
      dryRun: false,
      settled: { secret: 'mongo-pw', store: 'events', outcome: 'kept-current' },
    });
    expect(server.password).toBe(vault.get('mongo-pw'));
    expect(server.password).not.toBe(OLD);
  });

  it('a pending rotation of another host is settled here even when its pid is a live process of this host', async () => {
    const { vault, fleet, leavePending } = await setUp();
    leavePending(NEXT, { pid: process.pid, host: 'elsewhere' });
    expect(await settlePendingRotation(fleet.config, vault, 'mongo-pw')).toMatchObject({ outcome: 'kept-current' });
    expect(vault.pending('mongo-pw')).toBeUndefined();
  });

  it('a killed rotation the server took: the old password is rejected and the pending one logs in, so it becomes current', async () => {
    const { server, vault, fleet, leavePending } = await setUp();
    leavePending(NEXT);
    server.password = NEXT;
    expect(await settlePendingRotation(fleet.config, vault, 'mongo-pw')).toEqual({ secret: 'mongo-pw', store: 'events', outcome: 'completed' });
    expect(vault.get('mongo-pw')).toBe(NEXT);
    expect(vault.pending('mongo-pw')).toBeUndefined();
    expect(vault.list().find((secret) => secret.name === 'mongo-pw')).toMatchObject({ version: 2 });
    expect(vault.get('mongo-pw', 1)).toBe(OLD);
  });

  it('a rotation that finds a killed rotation the server took settles it as completed and rotates on', async () => {
    const { server, vault, fleet, leavePending } = await setUp();
    leavePending(NEXT);
    server.password = NEXT;
    const result = await rotatePassword(fleet, 'events', vault);
    expect(result).toMatchObject({ rotated: true, settled: { secret: 'mongo-pw', store: 'events', outcome: 'completed' } });
    expect(vault.get('mongo-pw', 2)).toBe(NEXT);
    expect(vault.get('mongo-pw')).toBe(server.password);
    expect([OLD, NEXT]).not.toContain(server.password);
    expect(vault.pending('mongo-pw')).toBeUndefined();
  });

  it('the server takes neither: unsettled, both kept, a new rotation refused naming why', async () => {
    const { server, vault, fleet, leavePending } = await setUp();
    leavePending(NEXT);
    server.password = 'Changed-Elsewhere-Pw-1234';
    const why = 'the server of store "events" did not answer, or took neither password';
    expect(await settlePendingRotation(fleet.config, vault, 'mongo-pw')).toEqual({ secret: 'mongo-pw', store: 'events', outcome: 'unsettled', reason: why });
    expect(vault.get('mongo-pw')).toBe(OLD);
    expect(vault.pending('mongo-pw')?.value).toBe(NEXT);
    expect((await refusal(rotatePassword(fleet, 'events', vault))).message).toBe(`An earlier rotation of secret "mongo-pw" is not settled: ${why}.`);
    expect(server.updates()).toEqual([]);
  });

  it('a pending rotation of a store no longer configured is tried on a store that uses the secret; with none, it stays unsettled', async () => {
    const { server, vault, leavePending } = await setUp();
    leavePending(NEXT, { store: 'renamed-since' });
    const onlySqlite = await fleetFor({ stores: { lite: { engine: 'sqlite', path: path.join(os.tmpdir(), 'm18-settle-none.db') } } });
    expect(await settlePendingRotation(onlySqlite.config, vault, 'mongo-pw')).toEqual({
      secret: 'mongo-pw',
      store: 'renamed-since',
      outcome: 'unsettled',
      reason: 'no configured store uses secret "mongo-pw" to try the passwords on',
    });
    await onlySqlite.close();
    // Only a store that uses this very secret is asked: one listed first with another secret (a user the server does not know) is not.
    const port = server.port;
    const otherFirst = await fleetFor({
      stores: {
        aaa: { engine: 'mongodb', url: `mongodb://nobody@127.0.0.1:${port}/events?directConnection=true`, password: 'secret:other-pw', connectTimeout: '2s' },
        zzz: { engine: 'mongodb', url: `mongodb://m18_app@127.0.0.1:${port}/events?directConnection=true`, password: 'secret:mongo-pw', connectTimeout: '2s' },
      },
    });
    expect(await settlePendingRotation(otherFirst.config, vault, 'mongo-pw')).toEqual({ secret: 'mongo-pw', store: 'renamed-since', outcome: 'kept-current' });
    await otherFirst.close();
    expect(vault.pending('mongo-pw')).toBeUndefined();
  });
});

describe('refused before a rotation starts', () => {
  it('a password not from the vault, a url without a user, a secret not in the vault: each named with what to do; the server untouched', async () => {
    const { server, vault, fleet } = await setUp();
    const literal = await refusal(planRotation(fleet, 'literal'));
    expect(literal.code).toBe('CONFIG_INVALID');
    expect(literal.message).toBe('Store "literal" does not take its password from the vault, so a rotated password would have nowhere to go.');
    expect(literal.hint).toBe('Store the current password with `storage secrets set NAME` and set password: "secret:NAME" for the store first.');
    const nouser = await refusal(planRotation(fleet, 'nouser'));
    expect(nouser.code).toBe('CONFIG_INVALID');
    expect(nouser.message).toBe('Store "nouser" has no user in its url.');
    expect(nouser.hint).toBe('Put the user in the url: postgres://USER@host/db.');
    const missing = await refusal(rotatePassword(fleet, 'missing', vault));
    expect(missing.code).toBe('SECRET_UNRESOLVED');
    expect(missing.message).toBe('Store "missing" takes its password from secret "not-in-vault", which is not in the vault.');
    expect(missing.hint).toBe('Store the current password first: storage secrets set not-in-vault');
    expect(server.updates()).toEqual([]);
  });

  it('a server that refuses the change: UNSUPPORTED, the pending password dropped, the old one current and still the server’s', async () => {
    const { server, vault, fleet } = await setUp(true);
    const error = await refusal(rotatePassword(fleet, 'events', vault));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toContain('refused updateUser');
    expect(vault.pending('mongo-pw')).toBeUndefined();
    expect(vault.get('mongo-pw')).toBe(OLD);
    expect(server.password).toBe(OLD);
    expect(await tryLogin(fleet.store('events'), OLD)).toBe('ok');
  });

  it('an engine without password rotation cannot be logged in to: unreachable', async () => {
    const { fleet } = await setUp();
    expect(await tryLogin(fleet.store('lite'), 'anything')).toBe('unreachable');
  });
});
