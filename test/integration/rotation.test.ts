// Password rotation against a real PostgreSQL server that enforces passwords.
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rotatePassword, settlePendingRotation, type RotationStep } from '../../src/engine/secrets/rotate.js';
import { Vault } from '../../src/engine/secrets/vault.js';
import { makeSandbox } from '../support/cli.js';
import { fleetFor } from '../support/fleet.js';
import { ROOT } from '../support/paths.js';
import { startCountingProxy, startFaultProxy, type CountingProxy, type FaultProxy } from '../support/net.js';
import { refusal } from '../support/refusal.js';
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
      expect(await rotatePassword(fleet, 'app', vault)).toEqual({
        store: 'app',
        engine: 'postgres',
        rotated: true,
        dryRun: false,
        user: role,
        secret: 'rot-pw',
      });
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
    // The final vault write (the pending password made current) fails.
    const failingVault = {
      get: (name: string) => vault.get(name),
      setPending: (name: string, value: string, store: string) => vault.setPending(name, value, store),
      commitPending: () => {
        throw new Error('disk full (injected)');
      },
      clearPending: (name: string) => vault.clearPending(name),
    };
    try {
      const error = await refusal(rotatePassword(fleet, 'app', failingVault));
      expect(error.message).toMatch(/failed after the server-side change: disk full \(injected\)\. The old password was put back; the vault is unchanged\.$/);
      expect(error.hint).toBe('Fix the cause (vault writable? server reachable?) and run the rotation again.');
    } finally {
      await fleet.close();
    }
    expect(await canLogin(port, role, old)).toBe(true);
    expect(vault.get('rot-pw')).toBe(old);
  });
});

describe('rotation failures on the wire (PostgreSQL behind a fault-injecting proxy)', () => {
  const role = uniqueName('rotfault');
  const port = Number(new URL(servers().pgAuthUrl).port);
  const deadPid = 2 ** 22 + 4711;
  let proxy: FaultProxy;
  let vault: Vault;
  let vaultFile: string;

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create role ${role} login password '${FIRST}'`), servers().pgAuthUrl);
  });

  beforeEach(async () => {
    await pgAdmin((client) => client.query(`alter role ${role} password '${FIRST}'`), servers().pgAuthUrl);
    proxy = await startFaultProxy(port);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-rotate-fault-'));
    fs.writeFileSync(path.join(dir, 'vault.key'), Buffer.alloc(32, 5).toString('base64'));
    vaultFile = path.join(dir, 'vault.json');
    vault = await Vault.open(vaultFile, { kind: 'keyfile', file: path.join(dir, 'vault.key') }, { create: true });
    vault.set('fault-pw', FIRST);
  });

  afterEach(async () => {
    await proxy.close();
  });

  afterAll(async () => {
    await pgAdmin((client) => client.query(`drop role if exists ${role}`), servers().pgAuthUrl);
  });

  const faultFleet = () =>
    fleetFor(
      {
        stores: { app: { engine: 'postgres', url: `postgres://${role}@127.0.0.1:${proxy.port}/postgres`, password: 'secret:fault-pw', connectTimeout: '2s' } },
      },
      {},
      async (name) => vault.get(name),
    );

  /** Rotates store app's password through the proxy and returns how it failed (the fleet closed after). */
  const failedRotation = async () => {
    const fleet = await faultFleet();
    try {
      return await refusal(rotatePassword(fleet, 'app', vault));
    } finally {
      await fleet.close();
    }
  };

  /** The pending rotation as a killed run would have left it (its pid no longer running), so the next command settles it. */
  const asIfKilled = () => {
    const data = JSON.parse(fs.readFileSync(vaultFile, 'utf8'));
    data.secrets['fault-pw'].pending.pid = deadPid;
    fs.writeFileSync(vaultFile, JSON.stringify(data));
    vault.refresh();
  };

  it('the server applies the change and the connection drops before its reply: the new password stays pending (the old one no longer logs in), and the next command makes it current', async () => {
    // The ALTER ROLE is committed; its CommandComplete never reaches the client.
    proxy.onCommandComplete = (tag) => (tag === 'ALTER ROLE' ? 'drop' : undefined);
    const error = await failedRotation();
    expect(error.code).toBe('UNREACHABLE');
    expect(error.message).toMatch(/Connection terminated unexpectedly.* The password change may have reached the server before the connection was lost\.$/);
    // The operator is told where the new password is, not only that the server was unreachable.
    expect(error.hint).toBe(
      'The new password is kept in the vault as pending for secret "fault-pw"; the next command that connects to store "app" (e.g. storage db health app) tries both and keeps the one the server takes.',
    );
    expect(vault.get('fault-pw')).toBe(FIRST);
    const pending = vault.pending('fault-pw');
    expect(pending, 'the new password the server took is not lost').toBeDefined();
    expect(pending!.value).not.toBe(FIRST);
    expect(await canLogin(port, role, pending!.value)).toBe(true);
    expect(await canLogin(port, role, FIRST)).toBe(false);

    proxy.onCommandComplete = undefined;
    asIfKilled();
    const settleFleet = await faultFleet();
    try {
      expect(await settlePendingRotation(settleFleet.config, vault, 'fault-pw')).toEqual({ secret: 'fault-pw', store: 'app', outcome: 'completed' });
    } finally {
      await settleFleet.close();
    }
    expect(vault.get('fault-pw')).toBe(pending!.value);
    expect(vault.pending('fault-pw')).toBeUndefined();
  });

  it('the connection drops before the server gets the change: the pending password is dropped (the old one still logs in) and the plain connection error is reported, not "may have reached the server"', async () => {
    proxy.onClientData = (chunk) => (chunk.includes('alter role') ? 'drop' : undefined);
    const error = await failedRotation();
    expect(error.code).toBe('UNREACHABLE');
    expect(error.message).not.toMatch(/may have reached the server/);
    expect(error.hint).not.toMatch(/pending/);
    expect(vault.get('fault-pw')).toBe(FIRST);
    expect(vault.pending('fault-pw')).toBeUndefined();
    expect(await canLogin(port, role, FIRST)).toBe(true);
  });

  it('the server takes the change, then answers no fresh connection: the proof fails as "did not answer", the old password is put back over the open connection', async () => {
    proxy.onCommandComplete = (tag) => {
      if (tag === 'ALTER ROLE') proxy.refuseNew = true;
      return undefined;
    };
    const error = await failedRotation();
    expect(error.code).toBe('FAILED');
    expect(error.message).toBe(
      `Rotation of "${role}" on store "app" failed after the server-side change: the server did not answer a fresh connection. The old password was put back; the new password stays pending in the vault until a command can check which one the server takes.`,
    );
    expect(error.hint).toBe('Fix the cause (vault writable? server reachable?) and run the rotation again.');
    expect(await canLogin(port, role, FIRST)).toBe(true);
    expect(vault.get('fault-pw')).toBe(FIRST);
    // The old password could not be tried either, so the new one stays pending for the next command to drop.
    const pending = vault.pending('fault-pw');
    expect(pending).toBeDefined();
    expect(await canLogin(port, role, pending!.value)).toBe(false);
  });

  it('the server is gone after taking the change: no proof and no way to put the old password back: FAILED saying so, the new password (the one the server takes) kept pending', async () => {
    proxy.onCommandComplete = (tag) => {
      if (tag === 'ALTER ROLE') proxy.down = true;
      return undefined;
    };
    const error = await failedRotation();
    expect(error.code).toBe('FAILED');
    expect(error.message).toMatch(/^Rotation failed \(the server did not answer a fresh connection\) and putting the old password back failed too \(.+\)\.$/);
    expect(error.hint).toBe(
      'The new password is kept in the vault as pending for secret "fault-pw"; the next command that connects to store "app" (e.g. storage db health app) tries both and keeps the one the server takes.',
    );
    expect(vault.get('fault-pw')).toBe(FIRST);
    const pending = vault.pending('fault-pw');
    expect(pending).toBeDefined();
    expect(await canLogin(port, role, pending!.value)).toBe(true);
    expect(await canLogin(port, role, FIRST)).toBe(false);

    proxy.down = false;
    asIfKilled();
    const settleFleet = await faultFleet();
    try {
      expect(await settlePendingRotation(settleFleet.config, vault, 'fault-pw')).toMatchObject({ outcome: 'completed' });
    } finally {
      await settleFleet.close();
    }
    expect(vault.get('fault-pw')).toBe(pending!.value);
  });

  it('settling: the old password’s login gets no answer while the pending one logs in: unsettled, nothing committed without proof the old one is gone', async () => {
    const NEXT = 'Pending-Fault-Pw-7713';
    vault.setPending('fault-pw', NEXT, 'app');
    asIfKilled();
    await pgAdmin((client) => client.query(`alter role ${role} password '${NEXT}'`), servers().pgAuthUrl);
    const fleet = await faultFleet();
    try {
      // The first login (with the current password) is reset; the second (the pending one) goes through.
      proxy.resetNext = 1;
      const before = proxy.connections;
      expect(await settlePendingRotation(fleet.config, vault, 'fault-pw')).toEqual({
        secret: 'fault-pw',
        store: 'app',
        outcome: 'unsettled',
        reason: 'the server of store "app" did not answer, or took neither password',
      });
      expect(proxy.connections - before).toBe(2);
      expect(vault.get('fault-pw')).toBe(FIRST);
      expect(vault.pending('fault-pw')?.value).toBe(NEXT);
      // Once the old password can be tried (and is rejected), the pending one is made current.
      expect(await settlePendingRotation(fleet.config, vault, 'fault-pw')).toMatchObject({ outcome: 'completed' });
      expect(vault.get('fault-pw')).toBe(NEXT);
    } finally {
      await fleet.close();
    }
  });
});

describe('password rotation killed at each step (PostgreSQL)', () => {
  const role = uniqueName('rotkill');
  const port = Number(new URL(servers().pgAuthUrl).port);
  const sandbox = makeSandbox();
  const vaultFile = path.join(sandbox.dir, 'vault.json');
  const keyFile = path.join(sandbox.dir, 'vault.key');
  const env = { STORAGE_VAULT: vaultFile, STORAGE_VAULT_KEY_FILE: keyFile };
  const source = { kind: 'keyfile' as const, file: keyFile };

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create role ${role} login password '${FIRST}'`), servers().pgAuthUrl);
    fs.writeFileSync(keyFile, Buffer.alloc(32, 9).toString('base64'), { mode: 0o600 });
    (await Vault.open(vaultFile, source, { create: true })).set('kill-pw', FIRST);
    sandbox.writeConfig({ stores: { app: { engine: 'postgres', url: `postgres://${role}@127.0.0.1:${port}/postgres`, password: 'secret:kill-pw' } } });
  });

  afterAll(async () => {
    await pgAdmin((client) => client.query(`drop role if exists ${role}`), servers().pgAuthUrl);
  });

  /** Runs a rotation in its own process and kill -9s it right after `step`. */
  async function rotateKilledAfter(step: RotationStep): Promise<void> {
    const dist = (file: string) => JSON.stringify(path.join(ROOT, 'dist', file));
    const script = `import { Fleet } from ${dist('engine/fleet.js')};
      import { Vault } from ${dist('engine/secrets/vault.js')};
      import { rotatePassword } from ${dist('engine/secrets/rotate.js')};
      const env = ${JSON.stringify(env)};
      const fleet = await Fleet.load({ configPath: ${JSON.stringify(path.join(sandbox.dir, 'storage.config.yaml'))}, env });
      const vault = await Vault.open(env.STORAGE_VAULT, { kind: 'keyfile', file: env.STORAGE_VAULT_KEY_FILE });
      await rotatePassword(fleet, 'app', vault, { onStep: (at) => { if (at === process.argv[1]) process.kill(process.pid, 'SIGKILL'); } });
      console.log('not killed');`;
    const child = await execa(process.execPath, ['--input-type=module', '-e', script, step], { reject: false });
    expect(child.signal, child.stderr).toBe('SIGKILL');
  }

  const stored = async () => {
    const vault = await Vault.open(vaultFile, source);
    return { current: vault.get('kill-pw')!, pending: vault.pending('kill-pw') };
  };

  it.each([
    ['pending-saved', ['db', 'health', 'app', '--json'], 'kept-old'],
    ['server-changed', ['validate', '--suite', 'config', '--json'], 'took-new'],
    ['proven', ['secrets', 'rotate', 'app', '--confirm', 'app', '--json'], 'rotated-again'],
    ['saved', ['db', 'health', 'app', '--json'], 'took-new'],
  ] as const)('killed after "%s", the next `%s` settles it: the vault holds the password the server takes, none is lost', async (step, command, expected) => {
    const before = (await stored()).current;
    expect(await canLogin(port, role, before)).toBe(true);
    await rotateKilledAfter(step);
    const killed = await stored();
    if (step !== 'saved') {
      // Both passwords are in the vault: the old as current, the new as pending.
      expect(killed.current).toBe(before);
      expect(killed.pending?.value).toBeDefined();
    }
    const newPassword = step === 'saved' ? killed.current : killed.pending!.value;

    const settle = await sandbox.run([...command], { env });
    expect(settle.exitCode, `${settle.stdout}\n${settle.stderr}`).toBe(0);
    const after = await stored();
    expect(after.pending, 'the pending rotation is settled').toBeUndefined();
    expect(await canLogin(port, role, after.current), 'the vault holds the password the server takes').toBe(true);
    if (expected === 'kept-old') expect(after.current).toBe(before);
    if (expected === 'took-new') expect(after.current).toBe(newPassword);
    if (expected === 'rotated-again') {
      expect(after.current).not.toBe(before);
      expect(after.current).not.toBe(newPassword);
      // The interrupted rotation's password was settled into the vault first, then replaced and kept as a version.
      const vault = await Vault.open(vaultFile, source);
      expect(vault.list()[0].versions.map((version) => vault.get('kill-pw', version))).toContain(newPassword);
    }
  });
});
