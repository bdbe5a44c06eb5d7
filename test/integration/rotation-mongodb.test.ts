// MongoDB password rotation's rollback. FerretDB refuses `updateUser`, so this runs the real
// rotation driver (rotatePassword with the MongoDB engine's prepare/tryLogin and the official
// driver, a real vault) against a STAND-IN for the MongoDB server side only: one user, `updateUser`
// and SCRAM-SHA-256 logins (test/support/mongo-users-wire-server.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rotatePassword, tryLogin, type RotationStep } from '../../src/engine/secrets/rotate.js';
import { Vault } from '../../src/engine/secrets/vault.js';
import { fleetFor } from '../support/fleet.js';
import { MongoUserServer } from '../support/mongo-users-wire-server.js';

const OLD = 'Mongo-Old-Rotation-Pw-7310';

async function setUp(refuseLogin?: (password: string) => boolean) {
  const server = await MongoUserServer.start({ user: 'm18_app', password: OLD, refuseLogin });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm18_rotate-'));
  fs.writeFileSync(path.join(dir, 'vault.key'), Buffer.alloc(32, 5).toString('base64'));
  const vault = await Vault.open(path.join(dir, 'vault.json'), { kind: 'keyfile', file: path.join(dir, 'vault.key') }, { create: true });
  vault.set('mongo-pw', OLD);
  const fleet = await fleetFor(
    {
      stores: {
        events: {
          engine: 'mongodb',
          url: `mongodb://m18_app@127.0.0.1:${server.port}/events?directConnection=true`,
          password: 'secret:mongo-pw',
          connectTimeout: '2s',
        },
      },
    },
    {},
    async (name) => vault.get(name),
  );
  return { server, vault, fleet, dir };
}

describe('MongoDB password rotation (rotation driver against a stand-in for the server side: FerretDB has no updateUser)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('stand-in: a rotation that the server takes and proves makes the new password current (the stand-in really checks passwords)', async () => {
    const { server, vault, fleet, dir } = await setUp();
    cleanups.push(async () => {
      await fleet.close();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    expect(await rotatePassword(fleet, 'events', vault)).toMatchObject({ rotated: true, user: 'm18_app', secret: 'mongo-pw' });
    const next = vault.get('mongo-pw')!;
    expect(next).not.toBe(OLD);
    expect(server.password).toBe(next);
    expect(server.updates()).toEqual([{ user: 'm18_app', pwd: next, db: 'admin' }]);
    expect(vault.pending('mongo-pw')).toBeUndefined();
    expect(await tryLogin(fleet.store('events'), next)).toBe('ok');
    expect(await tryLogin(fleet.store('events'), OLD)).toBe('rejected');
  });

  it('stand-in: updateUser succeeds but the new password fails its proof → the old password is put back on the server and the vault keeps the old one', async () => {
    // The server takes the change, then refuses every login with anything but the old password.
    const { server, vault, fleet, dir } = await setUp((password) => password !== OLD);
    cleanups.push(async () => {
      await fleet.close();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const steps: RotationStep[] = [];
    await expect(rotatePassword(fleet, 'events', vault, { onStep: (step) => steps.push(step) })).rejects.toThrow(
      /failed after the server-side change: the server rejected the new password.*old password was put back/,
    );
    expect(steps).toEqual(['pending-saved', 'server-changed']);
    // The server-side step ran, then the rollback: the old password set again, and it is what the server holds.
    const updates = server.updates();
    expect(updates).toHaveLength(2);
    expect(updates[0].pwd).not.toBe(OLD);
    expect(updates[1]).toEqual({ user: 'm18_app', pwd: OLD, db: 'admin' });
    expect(server.password).toBe(OLD);
    // The vault: the old password current, nothing pending, no version made.
    expect(vault.get('mongo-pw')).toBe(OLD);
    expect(vault.pending('mongo-pw')).toBeUndefined();
    expect(vault.list().find((secret) => secret.name === 'mongo-pw')).toMatchObject({ version: 1, versions: [] });
    // The rotated password never reached the vault file in plaintext, nor the old one.
    const file = fs.readFileSync(path.join(dir, 'vault.json'), 'utf8');
    expect(file).not.toContain(OLD);
    expect(file).not.toContain(updates[0].pwd);
  });
});
