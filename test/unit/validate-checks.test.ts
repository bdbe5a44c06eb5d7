// Each validate check's pass / warn / fail judgement, on plain data where the check judges data,
// and on real config files, vaults and audit logs in temp directories where it reads them.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendAudit, auditPaths } from '../../src/engine/audit/log.js';
import { mergeVerification, passedAtLeast, strongerLevel, type BackupEntry, type VerificationRecord } from '../../src/engine/repository/repository.js';
import type { StoreHealth } from '../../src/engine/db/health.js';
import type { CheckContext } from '../../src/engine/validate/registry.js';
import { auditChain } from '../../src/engine/validate/checks/audit-chain.js';
import { backupsEncryption } from '../../src/engine/validate/checks/backups-encryption.js';
import { backupsRetention } from '../../src/engine/validate/checks/backups-retention.js';
import { judgeRpo } from '../../src/engine/validate/checks/backups-rpo.js';
import { judgeVerified } from '../../src/engine/validate/checks/backups-verified.js';
import { backupsIntegrity, judgeRepositoryEntries } from '../../src/engine/validate/checks/backups-integrity.js';
import { judgeSnapshot } from '../../src/engine/validate/checks/snapshots-state.js';
import type { SnapshotStatus } from '../../src/engine/snapshot/service.js';
import { judgeConnections } from '../../src/engine/validate/checks/capacity-connections.js';
import { judgeDisk } from '../../src/engine/validate/checks/capacity-disk.js';
import { configFile } from '../../src/engine/validate/checks/config-file.js';
import { configPlaintext } from '../../src/engine/validate/checks/config-plaintext.js';
import { configSecrets } from '../../src/engine/validate/checks/config-secrets.js';
import { judgeConnectivity } from '../../src/engine/validate/checks/connectivity-stores.js';
import { judgeNode } from '../../src/engine/validate/checks/prereqs-node.js';
import { judgePgTools } from '../../src/engine/engines/postgres/tools.js';
import { canWriteAt, judgeVaultMode, prereqsPaths } from '../../src/engine/validate/checks/prereqs-paths.js';
import { Vault } from '../../src/engine/secrets/vault.js';
import { fleetFor } from '../support/fleet.js';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'storage-checks-'));

async function runCheck(
  check: { run: (context: CheckContext) => Promise<unknown> },
  config: Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv; strict?: boolean } = {},
) {
  const env = options.env ?? {};
  const fleet = await fleetFor(config, env);
  return (await check.run({ fleet, strict: options.strict ?? false, stores: [], env })) as {
    subject?: string;
    status: string;
    reason: string;
    hint?: string;
  }[];
}

const statuses = (outcomes: { subject?: string; status: string }[]) => Object.fromEntries(outcomes.map((o) => [o.subject ?? '-', o.status]));

describe('config checks', () => {
  it('config.file: a configured sqlite file that does not exist fails (it is never created); a postgres url without a database warns', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'here.db'), '');
    const outcomes = await runCheck(configFile, {
      stores: {
        here: { engine: 'sqlite', path: path.join(dir, 'here.db') },
        fresh: { engine: 'sqlite', path: path.join(dir, 'fresh.db') },
        nodir: { engine: 'sqlite', path: path.join(dir, 'missing', 'x.db') },
        nodb: { engine: 'postgres', url: 'postgres://app@db.example:5432' },
        pg: { engine: 'postgres', url: 'postgres://app@db.example:5432/app' },
        mongo: { engine: 'mongodb', url: 'mongodb://db.example:27017/app' },
      },
    });
    expect(statuses(outcomes)).toEqual({ '-': 'pass', here: 'pass', fresh: 'fail', nodir: 'fail', nodb: 'warn', pg: 'pass', mongo: 'pass' });
    expect(outcomes.find((o) => o.subject === 'nodir')!.reason).toContain('nor does its directory');
    expect(outcomes.find((o) => o.subject === 'fresh')!.hint).toContain('stores.fresh.path');
  });

  it('config.plaintext: passwords and backup passphrases written in the file warn, and fail under --strict; secret: references pass', async () => {
    const config = {
      stores: {
        a: { engine: 'postgres', url: 'postgres://app@h/app', password: 'hunter2-plain' },
        b: { engine: 'postgres', url: 'postgres://app:inline-pw@h/app' },
        c: { engine: 'postgres', url: 'postgres://app@h/app', password: 'secret:c-pw' },
      },
      backup: { encryption: { passphrase: 'plain passphrase here' } },
    };
    const lenient = await runCheck(configPlaintext, config);
    expect(statuses(lenient)).toEqual({ 'stores.a.password': 'warn', 'stores.b.url': 'warn', 'backup.encryption.passphrase': 'warn' });
    expect(JSON.stringify(lenient)).not.toMatch(/hunter2-plain|inline-pw|plain passphrase here/);
    expect(statuses(await runCheck(configPlaintext, config, { strict: true }))).toEqual({
      'stores.a.password': 'fail',
      'stores.b.url': 'fail',
      'backup.encryption.passphrase': 'fail',
    });
    const clean = await runCheck(configPlaintext, { stores: { c: config.stores.c }, backup: { encryption: { passphrase: 'secret:backup-pass' } } });
    expect(statuses(clean)).toEqual({ '-': 'pass' });
  });

  it('config.secrets: each reference resolves through the vault, a missing one fails naming it, and a vault without its key fails with a hint', async () => {
    const dir = tempDir();
    const vaultFile = path.join(dir, 'vault.json');
    const keyFile = path.join(dir, 'vault.key');
    fs.writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    (await Vault.open(vaultFile, { kind: 'keyfile', file: keyFile }, { create: true })).set('main-pw', 'value-of-main-pw');
    const config = {
      stores: {
        main: { engine: 'postgres', url: 'postgres://app@h/app', password: 'secret:main-pw' },
        other: { engine: 'mongodb', url: 'mongodb://h/app', password: 'secret:not-there' },
      },
      backup: { encryption: { key: 'secret:backup-key' } },
    };
    const outcomes = await runCheck(configSecrets, config, { env: { STORAGE_VAULT: vaultFile, STORAGE_VAULT_KEY_FILE: keyFile } });
    expect(statuses(outcomes)).toEqual({ 'stores.main.password': 'pass', 'stores.other.password': 'fail', 'backup.encryption.key': 'fail' });
    expect(outcomes.find((o) => o.subject === 'stores.other.password')).toMatchObject({
      reason: expect.stringContaining('not-there'),
      hint: 'storage secrets set not-there',
    });
    expect(JSON.stringify(outcomes)).not.toContain('value-of-main-pw');

    const noKey = await runCheck(configSecrets, config, { env: { STORAGE_VAULT: vaultFile } });
    expect(noKey.every((o) => o.status === 'fail')).toBe(true);
    expect(noKey[0].hint).toContain('STORAGE_VAULT_PASSPHRASE');
    expect(statuses(await runCheck(configSecrets, { stores: { l: { engine: 'sqlite', path: path.join(dir, 'l.db') } } }))).toEqual({ '-': 'pass' });
  });
});

describe('prereqs checks', () => {
  it('prereqs.node: 20.19+, 22.12+ and 24+ pass (package.json engines), others fail', () => {
    for (const version of ['20.19.0', '20.20.2', '22.12.0', '22.23.3', '24.0.0', '24.21.0', '26.1.0']) expect(judgeNode(version).status).toBe('pass');
    expect(judgeNode('20.18.3')).toMatchObject({ status: 'fail', hint: expect.stringContaining('20.19') });
    for (const version of ['18.20.0', '21.7.3', '22.3.1', '23.11.0']) expect(judgeNode(version).status).toBe('fail');
  });

  it('prereqs.node agrees with package.json engines', () => {
    const { engines } = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(engines.node).toBe('^20.19.0 || ^22.12.0 || >=24.0.0');
  });

  it('prereqs.pg-tools: a missing or older pg_dump / pg_restore fails, equal or newer passes', () => {
    expect(judgePgTools(15, { pg_dump: 15, pg_restore: 16 }).status).toBe('pass');
    expect(judgePgTools(16, { pg_dump: 15, pg_restore: 16 })).toMatchObject({ status: 'fail', reason: 'pg_dump 15 is older than the server (16)' });
    expect(judgePgTools(15, { pg_dump: undefined, pg_restore: 15 })).toMatchObject({
      status: 'fail',
      reason: 'pg_dump is not installed',
      hint: expect.stringContaining('STORAGE_PG_BIN'),
    });
  });

  it('prereqs.paths: writability is tried, not guessed (a file in the way, /proc), and a vault readable by others fails', async () => {
    const dir = tempDir();
    expect(canWriteAt(path.join(dir, 'not', 'yet', 'made'))).toEqual({ ok: true });
    fs.writeFileSync(path.join(dir, 'plain-file'), '');
    expect(canWriteAt(path.join(dir, 'plain-file', 'repo'))).toMatchObject({ ok: false, why: expect.stringContaining('is a file') });
    expect(canWriteAt('/proc/1/storage-repo').ok).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(['plain-file']); // the probe leaves nothing behind
    expect(judgeVaultMode('/v.json', 0o100600).status).toBe('pass');
    expect(judgeVaultMode('/v.json', 0o100644)).toMatchObject({ status: 'fail', reason: '/v.json is 0644, not 0600', hint: 'chmod 600 /v.json' });

    const vault = path.join(dir, 'vault.json');
    fs.writeFileSync(vault, '{}', { mode: 0o644 });
    fs.chmodSync(vault, 0o644);
    const outcomes = await runCheck(prereqsPaths, { backup: { repository: '/proc/1/storage-repo' } }, { env: { STORAGE_VAULT: vault } });
    expect(statuses(outcomes)).toEqual({ repository: 'fail', 'vault-dir': 'pass', vault: 'fail' });
  });
});

describe('connectivity and capacity judgements', () => {
  const health = (role: StoreHealth['role'], latencyMs = 3): StoreHealth => ({
    store: 'main',
    engine: 'postgres',
    target: 'h',
    status: 'up',
    latencyMs,
    serverVersion: '15',
    role,
    readOnly: role === 'standby',
    checkedAt: '',
    error: null,
  });

  it('connectivity.stores: down fails with its hint; a standby where a primary is configured fails, and the reverse; slow warns', () => {
    const down = { ...health(null), status: 'down' as const, error: { code: 'UNREACHABLE', message: 'refused', hint: 'is it running?' } };
    expect(judgeConnectivity(down, undefined)).toMatchObject({ status: 'fail', reason: 'UNREACHABLE: refused', hint: 'is it running?' });
    expect(judgeConnectivity(health('standby'), 'primary')).toMatchObject({ status: 'fail', reason: 'configured as primary, answers as standby' });
    expect(judgeConnectivity(health('primary'), 'standby')).toMatchObject({ status: 'fail', reason: 'configured as standby, answers as primary' });
    expect(judgeConnectivity(health('standalone'), 'standby').status).toBe('fail');
    expect(judgeConnectivity(health('standalone'), 'primary').status).toBe('warn');
    expect(judgeConnectivity(health('primary'), 'standalone').status).toBe('pass');
    expect(judgeConnectivity(health('standby'), 'standby').status).toBe('pass');
    expect(judgeConnectivity(health('primary', 1500), 'primary')).toMatchObject({ status: 'warn', reason: expect.stringContaining('1500 ms') });
    expect(judgeConnectivity(health('primary', 40), undefined).status).toBe('pass');
    expect(judgeConnectivity(health('primary', 40), undefined, 20)).toMatchObject({ status: 'warn', reason: expect.stringContaining('over 20 ms') });
  });

  it('capacity.connections: over 80% warns, over 95% fails', () => {
    expect(judgeConnections('m', 80, 100, 'connections').status).toBe('pass');
    expect(judgeConnections('m', 81, 100, 'connections')).toMatchObject({ status: 'warn', reason: '81 of 100 connections in use (81%)' });
    expect(judgeConnections('m', 96, 100, 'connections').status).toBe('fail');
    expect(judgeConnections('m', 0, 0, 'connections').status).toBe('fail');
    // validate.connectionsWarnPercent / connectionsFailPercent move the lines.
    expect(judgeConnections('m', 60, 100, 'connections', 50, 70)).toMatchObject({ status: 'warn', hint: expect.stringContaining('Over 50%') });
    expect(judgeConnections('m', 71, 100, 'connections', 50, 70).status).toBe('fail');
  });

  it('capacity.disk: free space under twice the largest backup fails', () => {
    expect(judgeDisk(10e9, 0).status).toBe('pass');
    expect(judgeDisk(2e9, 1e9).status).toBe('pass');
    expect(judgeDisk(1.5e9, 1e9)).toMatchObject({ status: 'fail', reason: '1500 MB free, 2000 MB wanted (2 × the largest backup)' });
    expect(judgeDisk(1.5e9, 1e9, 1.2).status).toBe('pass');
  });
});

describe('backup checks', () => {
  const now = Date.parse('2026-11-26T12:00:00Z');
  const entry = (startedAt: string): BackupEntry =>
    ({ id: 'b1', store: 'main', status: 'complete', createdAt: startedAt, manifest: { startedAt } }) as unknown as BackupEntry;

  it('backups.rpo: none fails, no rpo set warns, within passes, older fails', () => {
    expect(judgeRpo('main', undefined, '24h', now)).toMatchObject({ status: 'fail', hint: 'storage backup create main' });
    expect(judgeRpo('main', entry('2026-11-26T11:00:00Z'), undefined, now).status).toBe('warn');
    expect(judgeRpo('main', entry('2026-11-26T11:00:00Z'), '2h', now)).toMatchObject({ status: 'pass', reason: expect.stringContaining('3600s old') });
    expect(judgeRpo('main', entry('2026-11-26T09:00:00Z'), '2h', now)).toMatchObject({
      status: 'fail',
      reason: expect.stringContaining('older than backup.rpo 2h'),
    });
  });

  const record = (level: VerificationRecord['level'], ok: boolean, at: string, previous?: VerificationRecord) =>
    mergeVerification(previous, { level, ok, at, problems: ok ? [] : [`bad at ${level}`] });

  it('verification records remember each level that passed, and a failure forgets that level and the stronger ones', () => {
    const restored = record('restore-test', true, '2026-11-20T00:00:00Z');
    expect(restored.passed).toEqual({ files: restored.at, 'read-data': restored.at, 'restore-test': restored.at });
    const filesLater = record('files', true, '2026-11-21T00:00:00Z', restored);
    expect(passedAtLeast(filesLater, 'read-data')).toBe('2026-11-20T00:00:00Z');
    expect(passedAtLeast(filesLater, 'files')).toBe('2026-11-21T00:00:00Z');
    const readFailed = record('read-data', false, '2026-11-22T00:00:00Z', filesLater);
    expect(readFailed.passed).toEqual({ files: '2026-11-21T00:00:00Z' });
    const readAgain = record('files', true, '2026-11-23T00:00:00Z', readFailed);
    expect(passedAtLeast(readAgain, 'read-data')).toBeUndefined();
    expect([strongerLevel('read-data', 'restore-test'), strongerLevel('read-data', undefined), strongerLevel(undefined, 'files')]).toEqual([
      'restore-test',
      'read-data',
      'files',
    ]);
    // A record from before levels were kept counts for its own level.
    expect(passedAtLeast({ level: 'read-data', ok: true, at: 'T', problems: [] }, 'files')).toBe('T');
  });

  it('backups.verified: damage found now or recorded fails; the level backup.verify asks for must have passed; never read back warns', () => {
    const intact = { ok: true, problems: [] };
    const base = { store: 'main', id: 'b1', now: intact, record: undefined, required: undefined };
    expect(judgeVerified({ ...base, now: { ok: false, problems: ['payload.gz has 10 bytes, the manifest says 20'] } })).toMatchObject({
      status: 'fail',
      reason: expect.stringContaining('payload.gz'),
    });
    expect(judgeVerified({ ...base, record: record('read-data', false, 'T') })).toMatchObject({
      status: 'fail',
      reason: expect.stringContaining('FAILED read-data'),
    });
    expect(judgeVerified(base)).toMatchObject({ status: 'warn', hint: expect.stringContaining('--read-data') });
    expect(judgeVerified({ ...base, record: record('read-data', true, 'T') }).status).toBe('pass');
    expect(judgeVerified({ ...base, required: 'read-data', record: record('files', true, 'T') })).toMatchObject({
      status: 'fail',
      hint: 'storage backup verify b1 --read-data',
    });
    expect(judgeVerified({ ...base, required: 'read-data', record: record('restore-test', true, 'T') }).status).toBe('pass');
    expect(judgeVerified({ ...base, required: 'restore-test', record: record('read-data', true, 'T') })).toMatchObject({
      status: 'fail',
      hint: 'storage backup verify b1 --restore-test',
    });
  });

  it('backups.retention and backups.encryption: an empty policy warns; encryption explicitly off warns, and fails under --strict', async () => {
    expect(statuses(await runCheck(backupsRetention, {}))).toEqual({ '-': 'warn' });
    expect(statuses(await runCheck(backupsRetention, { backup: { retention: { keepDaily: 7 } } }))).toEqual({ '-': 'pass' });
    expect(statuses(await runCheck(backupsEncryption, {}))).toEqual({ '-': 'pass' });
    const off = { backup: { encryption: { enabled: false } } };
    expect(statuses(await runCheck(backupsEncryption, off))).toEqual({ '-': 'warn' });
    expect(statuses(await runCheck(backupsEncryption, off, { strict: true }))).toEqual({ '-': 'fail' });
  });
});

describe('repository and snapshot checks', () => {
  const now = Date.parse('2026-11-26T12:00:00Z');
  const entry = (id: string, status: BackupEntry['status'], createdAt = '2026-11-26T11:00:00Z') => ({ id, store: 'main', status, createdAt }) as BackupEntry;

  it('backups.integrity: a manifest that fails its seal fails; leftovers of a killed run warn after a day; a running backup is fine', () => {
    expect(judgeRepositoryEntries([entry('a', 'complete'), entry('b', 'running'), entry('c', 'incomplete')], now)).toEqual([
      { status: 'pass', reason: '1 complete backup, every manifest sealed' },
    ]);
    expect(judgeRepositoryEntries([entry('a', 'complete'), entry('old', 'incomplete', '2026-11-24T11:00:00Z')], now).map((o) => o.status)).toEqual([
      'pass',
      'warn',
    ]);
    const damaged = judgeRepositoryEntries([entry('a', 'complete'), entry('x', 'damaged')], now);
    expect(damaged).toEqual([expect.objectContaining({ subject: 'x', status: 'fail', reason: expect.stringContaining('fails its seal') })]);
  });

  it('snapshots.state: an interrupted restore fails with its explanation; one under way, a vanished copy or an unreachable store warn', () => {
    const status = (state: SnapshotStatus['state'], explanation?: string) =>
      ({ name: 'k1', store: 'main', copy: 'app__snap_k1', state, explanation }) as SnapshotStatus;
    expect(judgeSnapshot(status('ok'))).toBeUndefined();
    expect(judgeSnapshot(status('restore-interrupted', 'A restore ... To finish, rename x'))).toMatchObject({
      subject: 'main/k1',
      status: 'fail',
      reason: 'A restore ... To finish, rename x',
      hint: 'storage snapshot show k1 --store main',
    });
    expect(judgeSnapshot(status('restoring', 'A restore is under way'))?.status).toBe('warn');
    expect(judgeSnapshot(status('missing'))).toMatchObject({ status: 'warn', reason: expect.stringContaining('app__snap_k1') });
    expect(judgeSnapshot(status('unknown'))?.status).toBe('warn');
  });
});

describe('a repository that cannot be had', () => {
  it('backups.integrity: none yet fails with a first backup to take; one behind a link to a volume not mounted fails saying so', async () => {
    const dir = tempDir();
    const none = await runCheck(backupsIntegrity, { backup: { repository: path.join(dir, 'repo') } });
    expect(none).toEqual([{ status: 'fail', reason: `no backup repository at ${path.join(dir, 'repo')}`, hint: 'Take a backup: storage backup create --all' }]);
    const link = path.join(dir, 'linked');
    fs.symlinkSync(path.join(dir, 'volume', 'repo'), link);
    const broken = await runCheck(backupsIntegrity, { backup: { repository: link } });
    expect(broken).toEqual([
      {
        status: 'fail',
        reason: `the backup repository ${link} is a symbolic link to ${path.join(dir, 'volume', 'repo')}, which does not exist`,
        hint: 'Mount or restore what the link points to, or mend the link.',
      },
    ]);
  });
});

describe('audit check', () => {
  it('audit.chain: an intact log passes; an edited line fails naming it', async () => {
    const dir = tempDir();
    const record = { command: 'storage backup create main', stores: ['main'], outcome: 'ok' as const, exitCode: 0, durationMs: 5 };
    for (let i = 0; i < 3; i++) appendAudit(record, auditPaths(dir));
    const env = { STORAGE_AUDIT_DIR: dir };
    expect(await runCheck(auditChain, {}, { env })).toEqual([expect.objectContaining({ status: 'pass', reason: expect.stringContaining('3 entries') })]);
    const log = auditPaths(dir).log;
    const lines = fs.readFileSync(log, 'utf8').split('\n');
    lines[1] = lines[1].replace('"exitCode":0', '"exitCode":1');
    fs.writeFileSync(log, lines.join('\n'));
    expect(await runCheck(auditChain, {}, { env })).toEqual([expect.objectContaining({ status: 'fail', reason: expect.stringMatching(/^line 2: /) })]);
  });
});
