// `storage validate` as CI runs it: no TTY, exit codes, JSON and JUnit.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flipByte, payloadFile } from '../support/backups.js';
import { runAtClock } from '../support/repository.js';
import { makeSandbox } from '../support/cli.js';
import { startBlackhole } from '../support/net.js';
import { servers } from '../support/servers.js';

describe('storage validate', () => {
  it('passes with warnings on a fresh default estate, fails under --strict, and fails (3) naming a tampered backup', async () => {
    const sandbox = makeSandbox();
    expect((await sandbox.run(['backup', 'create', '-q'])).exitCode).toBe(0);
    const lenient = await sandbox.run(['validate', '--json']);
    expect(lenient.exitCode, lenient.stdout).toBe(0);
    expect(lenient.json().summary.warn).toBeGreaterThan(0);
    expect((await sandbox.run(['validate', '--strict'])).exitCode).toBe(3);
    const restoreTest = await sandbox.run(['validate', '--suite', 'backups', '--restore-test', '--json']);
    expect(restoreTest.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'backups.restore-test[local]', status: 'pass' })]));

    const id = (await sandbox.run(['backup', 'list', '--json'])).json().backups[0].id;
    flipByte(payloadFile(path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'backups', 'backups', id)));
    expect((await sandbox.run(['backup', 'verify', id, '--read-data'])).exitCode).toBe(65);
    const junit = path.join(sandbox.dir, 'report.xml');
    const failed = await sandbox.run(['validate', '--suite', 'backups', '--junit', junit, '--json']);
    expect(failed.exitCode).toBe(3);
    expect(failed.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'backups.verified[local]', status: 'fail' })]));
    expect(fs.readFileSync(junit, 'utf8')).toMatch(/<testcase classname="storage.backups" name="backups.verified\[local\][^"]*"[^>]*>\s*<failure/);
  });

  it('fails the RPO check once the newest backup is older than backup.rpo', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'a.db' } }, backup: { repository: './repo', rpo: '1h', retention: { keepLast: 3 } } });
    fs.writeFileSync(path.join(sandbox.dir, 'a.db'), '');
    expect((await sandbox.run(['backup', 'create', '--verify', '-q'])).exitCode).toBe(0);
    expect((await sandbox.run(['validate', '--suite', 'backups'])).exitCode).toBe(0);
    // Two hours later (the clock moved with faketime, so no test waits and load cannot blur it).
    const late = await runAtClock(sandbox, '+2h', ['validate', '--suite', 'backups', '--json']);
    expect(late.exitCode).toBe(3);
    expect(late.json().checks.find((c: { id: string }) => c.id === 'backups.rpo[lite]')).toMatchObject({
      status: 'fail',
      reason: expect.stringContaining('older than backup.rpo 1h'),
    });
  });

  it('an invalid config is 78 with the field path; an unreachable store fails connectivity', async () => {
    const bad = makeSandbox();
    bad.writeConfig('stores:\n  main: { engine: postgres, url: 42 }\n');
    const invalid = await bad.run(['validate']);
    expect(invalid.exitCode).toBe(78);
    expect(invalid.stderr).toContain('stores.main.url');
    const down = makeSandbox();
    down.writeConfig({ stores: { gone: { engine: 'postgres', url: 'postgres://x@127.0.0.1:1/x' } } });
    const result = await down.run(['validate', '--suite', 'connectivity', '--json']);
    expect(result.exitCode).toBe(3);
    expect(result.json().checks[0]).toMatchObject({ id: 'connectivity.stores[gone]', status: 'fail' });
  });

  it('judges real servers: a PostgreSQL store configured as standby fails, connections count against max_connections less the reserve, FerretDB warns', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({
      stores: {
        pg: { engine: 'postgres', url: servers().pgUrl, role: 'standby' },
        pgok: { engine: 'postgres', url: servers().pgUrl },
        docs: { engine: 'mongodb', url: `${servers().mongoUrl}/validate_docs` },
      },
    });
    const result = await sandbox.run(['validate', '--suite', 'connectivity', '--suite', 'capacity', '--json']);
    expect(result.exitCode).toBe(3);
    const byId = Object.fromEntries(result.json().checks.map((c: { id: string }) => [c.id, c]));
    expect(byId['connectivity.stores[pg]']).toMatchObject({
      status: 'fail',
      reason: expect.stringMatching(/^configured as standby, answers as (standalone|primary)$/),
    });
    expect(byId['connectivity.stores[pgok]']).toMatchObject({ status: 'pass' });
    expect(byId['connectivity.stores[docs]']).toMatchObject({ status: 'pass' });
    expect(byId['capacity.connections[pgok]']).toMatchObject({ status: 'pass', reason: expect.stringMatching(/^\d+ of \d+ non-reserved connections in use/) });
    expect(byId['capacity.connections[docs]']).toMatchObject({ status: 'warn', reason: expect.stringContaining('serverStatus.connections') });

    // The thresholds are the operator's: at 0 % any connection in use warns.
    sandbox.writeConfig({ stores: { pgok: { engine: 'postgres', url: servers().pgUrl } }, validate: { connectionsWarnPercent: 0 } });
    const strict = await sandbox.run(['validate', '--suite', 'capacity', '--json']);
    expect(strict.json().checks.find((c: { id: string }) => c.id === 'capacity.connections[pgok]')).toMatchObject({ status: 'warn' });
    sandbox.writeConfig({
      stores: { pgok: { engine: 'postgres', url: servers().pgUrl } },
      validate: { connectionsWarnPercent: 90, connectionsFailPercent: 50 },
    });
    const contradictory = await sandbox.run(['validate']);
    expect(contradictory.exitCode).toBe(78);
    expect(contradictory.stderr).toContain('validate.connectionsWarnPercent');
  });

  it('prereqs.pg-tools fails on an old or missing pg_dump / pg_restore and passes on the installed ones', async () => {
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { pg: { engine: 'postgres', url: servers().pgUrl } } });
    const oldBin = path.join(sandbox.dir, 'old-bin');
    fs.mkdirSync(oldBin);
    fs.writeFileSync(path.join(oldBin, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n', { mode: 0o755 });
    const old = await sandbox.run(['validate', '--suite', 'prereqs', '--json'], { env: { STORAGE_PG_BIN: oldBin } });
    expect(old.exitCode).toBe(3);
    expect(old.json().checks.find((c: { id: string }) => c.id === 'prereqs.pg-tools[pg]')).toMatchObject({
      status: 'fail',
      reason: expect.stringMatching(/^pg_dump 9 is older than the server \(\d+\); pg_restore is not installed$/),
      hint: expect.stringContaining('STORAGE_PG_BIN'),
    });
    const installed = await sandbox.run(['validate', '--suite', 'prereqs', '--json']);
    expect(installed.exitCode, installed.stdout).toBe(0);
    expect(installed.json().checks.find((c: { id: string }) => c.id === 'prereqs.pg-tools[pg]')).toMatchObject({ status: 'pass' });
  });

  it('backup.verify: read-data makes each backup read back as it is taken, and validate holds the newest one to the level asked', async () => {
    const sandbox = makeSandbox();
    fs.writeFileSync(path.join(sandbox.dir, 'a.db'), '');
    const config = {
      stores: { lite: { engine: 'sqlite', path: 'a.db' } },
      backup: { repository: './repo', rpo: '1h', retention: { keepLast: 3 }, verify: 'read-data' },
    };
    sandbox.writeConfig(config);
    expect((await sandbox.run(['backup', 'create', '-q'])).exitCode).toBe(0);
    expect((await sandbox.run(['backup', 'list', '--json'])).json().backups[0].verification).toMatchObject({ level: 'read-data', ok: true });
    const verified = () => sandbox.run(['validate', '--suite', 'backups', '--json']);
    const check = (result: Awaited<ReturnType<typeof verified>>) => result.json().checks.find((c: { id: string }) => c.id === 'backups.verified[lite]');
    let result = await verified();
    expect(result.exitCode, result.stdout).toBe(0);
    expect(check(result)).toMatchObject({ status: 'pass', reason: expect.stringContaining('passed read-data verification') });

    sandbox.writeConfig({ ...config, backup: { ...config.backup, verify: 'restore-test' } });
    result = await verified();
    expect(result.exitCode).toBe(3);
    expect(check(result)).toMatchObject({ status: 'fail', hint: expect.stringMatching(/^storage backup verify \S+ --restore-test$/) });
    expect((await sandbox.run(['validate', '--suite', 'backups', '--restore-test'])).exitCode).toBe(0);
    expect((await verified()).exitCode).toBe(0);
  });

  it('finds a damaged newest backup on the spot (tier 1), with no earlier verify', async () => {
    const sandbox = makeSandbox();
    expect((await sandbox.run(['backup', 'create', '-q'])).exitCode).toBe(0);
    const id = (await sandbox.run(['backup', 'list', '--json'])).json().backups[0].id;
    const payload = payloadFile(path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'backups', 'backups', id));
    fs.truncateSync(payload, fs.statSync(payload).size - 7);
    const result = await sandbox.run(['validate', '--suite', 'backups', '--json']);
    expect(result.exitCode).toBe(3);
    expect(result.json().checks.find((c: { id: string }) => c.id === 'backups.verified[local]')).toMatchObject({
      status: 'fail',
      reason: expect.stringContaining(`${id} is damaged`),
    });
    expect((await sandbox.run(['backup', 'list', '--json'])).json().backups[0].verification).toBeUndefined();

    // An edited manifest makes that backup unreadable: the integrity check names it.
    expect((await sandbox.run(['backup', 'create', '-q'])).exitCode).toBe(0);
    const newest = (await sandbox.run(['backup', 'list', '--json'])).json().backups.find((b: { id: string }) => b.id !== id).id;
    const manifest = path.join(sandbox.env.XDG_DATA_HOME, 'storage', 'backups', 'backups', newest, 'manifest.json');
    fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace(/"originalBytes": \d+/, '"originalBytes": 1'));
    const edited = await sandbox.run(['validate', '--suite', 'backups', '--json']);
    expect(edited.exitCode).toBe(3);
    expect(edited.json().checks).toEqual(expect.arrayContaining([expect.objectContaining({ id: `backups.integrity[${newest}]`, status: 'fail' })]));
  });

  it('--timeout bounds the whole run: a server that never answers is an error at the timeout, the others still report, and the process exits', async () => {
    const hole = await startBlackhole();
    try {
      const sandbox = makeSandbox();
      sandbox.writeConfig({
        stores: {
          pg: { engine: 'postgres', url: servers().pgUrl },
          hung: { engine: 'postgres', url: `postgres://x@127.0.0.1:${hole.port}/x`, connectTimeout: '60s' },
        },
      });
      const began = Date.now();
      const result = await sandbox.run(['validate', '--suite', 'connectivity', '--suite', 'prereqs', '--timeout', '2', '--json'], { timeoutMs: 40_000 });
      // Well under the 60 s connect timeout: the run's bound, not the driver's, decides when it ends.
      expect(Date.now() - began).toBeLessThan(30_000);
      expect(result.exitCode).toBe(3);
      const report = result.json();
      expect(report.timedOut).toBe(true);
      // Each store keeps its own outcome: the healthy one passes, only the hung one is an error.
      expect(report.checks.find((c: { id: string }) => c.id === 'connectivity.stores[hung]')).toMatchObject({
        status: 'error',
        reason: 'did not finish within 2000 ms',
      });
      expect(report.checks.find((c: { id: string }) => c.id === 'connectivity.stores[pg]')).toMatchObject({ status: 'pass' });
      expect(report.checks.find((c: { id: string }) => c.id === 'prereqs.pg-tools[pg]')).toMatchObject({ status: 'pass' });
      expect(report.checks.find((c: { id: string }) => c.id === 'prereqs.node')).toMatchObject({ status: 'pass' });
    } finally {
      await hole.close();
    }
  });
});
