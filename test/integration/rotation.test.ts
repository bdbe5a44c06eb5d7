// Password rotation against a real PostgreSQL server that enforces passwords.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotatePassword } from '../../src/engine/secrets/rotate.js';
import { Vault } from '../../src/engine/secrets/vault.js';
import { fleetFor } from '../support/fleet.js';
import { startCountingProxy, type CountingProxy } from '../support/net.js';
import { pgAdmin, servers, uniqueName } from '../support/servers.js';

const FIRST = 'Initial-Rotation-Pw-5521';

async function canLogin(port: number, user: string, password: string): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'postgres', connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('password rotation (PostgreSQL)', () => {
  const role = uniqueName('rot');
  const port = Number(new URL(servers().pgAuthUrl).port);
  let proxy: CountingProxy;
  let vault: Vault;

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create role ${role} login password '${FIRST}'`), servers().pgAuthUrl);
    proxy = await startCountingProxy(port, 'forward');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-rotate-'));
    fs.writeFileSync(path.join(dir, 'vault.key'), Buffer.alloc(32, 3).toString('base64'));
    vault = await Vault.open(path.join(dir, 'vault.json'), { kind: 'keyfile', file: path.join(dir, 'vault.key') }, { create: true });
    vault.set('rot-pw', FIRST);
  });

  afterAll(async () => {
    await proxy.close();
    await pgAdmin((client) => client.query(`drop role if exists ${role}`), servers().pgAuthUrl);
  });

  const appFleet = () =>
    fleetFor(
      { stores: { app: { engine: 'postgres', url: `postgres://${role}@127.0.0.1:${proxy.port}/postgres`, password: 'secret:rot-pw' } } },
      {},
      async (name) => vault.get(name),
    );

  it('sets a new password through a client-side SCRAM verifier, proves it, and saves it in the vault', async () => {
    const fleet = await appFleet();
    const before = proxy.sent.length;
    try {
      expect(await rotatePassword(fleet, 'app', vault)).toMatchObject({ rotated: true, user: role, secret: 'rot-pw' });
    } finally {
      await fleet.close();
    }
    const next = vault.get('rot-pw')!;
    expect(next).not.toBe(FIRST);
    expect(next.length).toBeGreaterThanOrEqual(32);
    expect(await canLogin(port, role, FIRST)).toBe(false);
    expect(await canLogin(port, role, next)).toBe(true);
    // What went over the wire: a verifier, never the plaintext.
    const traffic = proxy.sent.subarray(before).toString('latin1');
    expect(traffic).toMatch(/alter role \S+ password 'SCRAM-SHA-256\$4096:/);
    expect(traffic).not.toContain(next);
    const stored = await pgAdmin(
      (client) => client.query<{ p: string }>('select rolpassword as p from pg_authid where rolname = $1', [role]),
      servers().pgAuthUrl,
    );
    expect(stored.rows[0].p).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  it('puts the old password back when saving to the vault fails after the server-side change', async () => {
    const old = vault.get('rot-pw')!;
    const fleet = await appFleet();
    const failingVault = {
      get: (name: string) => vault.get(name),
      set: () => {
        throw new Error('disk full (injected)');
      },
    };
    try {
      await expect(rotatePassword(fleet, 'app', failingVault)).rejects.toThrow(/old password was put back/);
    } finally {
      await fleet.close();
    }
    expect(await canLogin(port, role, old)).toBe(true);
    expect(vault.get('rot-pw')).toBe(old);
  });
});
