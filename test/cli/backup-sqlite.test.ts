// Backups of SQLite stores through the built binary: round trips under concurrent writes,
// tampering, wrong keys, kill -9, locks, and the no-config default.
import Sqlite from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupDirs, flipByte, payloadFile, startCli, waitFor, whileStopped } from '../support/backups.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

function liteSandbox(rows = 1000, blobBytes = 0): Sandbox {
  const sandbox = makeSandbox();
  sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/app.db' } }, backup: { repository: './repo', retention: { keepLast: 2 } } });
  fs.mkdirSync(path.join(sandbox.dir, 'data'));
  const db = new Sqlite(path.join(sandbox.dir, 'data/app.db'));
  db.pragma('journal_mode = WAL');
  db.exec('create table events (id integer primary key, body blob, note text); create index events_note on events (note);');
  const insert = db.prepare('insert into events (body, note) values (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(blobBytes ? randomBytes(blobBytes) : null, `n${i}`);
  })();
  db.close();
  return sandbox;
}

const repoOf = (sandbox: Sandbox) => path.join(sandbox.dir, 'repo');

describe('SQLite backups', () => {
  it('round-trips a WAL database that is written to during the backup: a consistent snapshot', async () => {
    const sandbox = liteSandbox(20_000, 512);
    const file = path.join(sandbox.dir, 'data/app.db');
    const writer = execa(
      process.execPath,
      [
        '-e',
        `const D=require('better-sqlite3'); const db=new D(${JSON.stringify(file)}); db.pragma('busy_timeout=5000'); const s=db.prepare("insert into events (note) values ('live')"); const end=Date.now()+4000; while(Date.now()<end){ s.run(); }`,
      ],
      { reject: false },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const created = await sandbox.run(['backup', 'create', 'lite', '--json'], { env });
    await writer;
    expect(created.exitCode, created.stderr).toBe(0);
    const backup = created.json().stores[0].backup;
    expect(backup.counts.events).toBeGreaterThanOrEqual(20_000);

    const restored = await sandbox.run(['backup', 'restore', backup.id, '--to', 'lite', '--database', 'copy', '--json'], { env });
    expect(restored.exitCode, restored.stderr).toBe(0);
    const copy = new Sqlite(path.join(sandbox.dir, 'data/copy.db'), { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    const { n, max } = copy.prepare('select count(*) as n, max(id) as max from events').get() as { n: number; max: number };
    copy.close();
    // Consistent: exactly the rows of one moment, no gaps, matching the manifest.
    expect(n).toBe(backup.counts.events);
    expect(max).toBe(n);
    const source = new Sqlite(file, { readonly: true });
    const sourceHash = (
      source.prepare("select group_concat(id || hex(coalesce(body, x'')) || note, ',') as h from (select * from events where id <= ? order by id)").get(n) as {
        h: string;
      }
    ).h;
    source.close();
    const copyDb = new Sqlite(path.join(sandbox.dir, 'data/copy.db'), { readonly: true });
    const copyHash = (
      copyDb.prepare("select group_concat(id || hex(coalesce(body, x'')) || note, ',') as h from (select * from events order by id)").get() as { h: string }
    ).h;
    copyDb.close();
    expect(copyHash).toBe(sourceHash);

    const verify = await sandbox.run(['backup', 'verify', backup.id, '--restore-test'], { env });
    expect(verify.exitCode, verify.stderr).toBe(0);
    const list = await sandbox.run(['backup', 'list', '--json'], { env });
    expect(list.json().backups[0]).toMatchObject({ status: 'complete', verification: { ok: true, level: 'restore-test' } });
  });

  it('detects a flipped byte, a truncated payload and an edited manifest; restore refuses and writes nothing', async () => {
    const sandbox = liteSandbox(2000, 64);
    const make = async () => (await sandbox.run(['backup', 'create', '--json'], { env })).json().stores[0].backup.id as string;
    const flipped = await make();
    const truncated = await make();
    const edited = await make();
    const dirOf = (id: string) => path.join(repoOf(sandbox), 'backups', id);
    flipByte(payloadFile(dirOf(flipped)));
    const payload = payloadFile(dirOf(truncated));
    fs.truncateSync(payload, fs.statSync(payload).size - 100);
    const manifestFile = path.join(dirOf(edited), 'manifest.json');
    fs.writeFileSync(manifestFile, fs.readFileSync(manifestFile, 'utf8').replace('"events": 2000', '"events": 1999'));

    for (const id of [flipped, truncated, edited]) {
      const verify = await sandbox.run(['backup', 'verify', id, '--read-data', '--json'], { env });
      expect(verify.exitCode, id).toBe(65);
      expect(verify.json().results[0].ok).toBe(false);
      const restore = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', `r_${id.slice(-6)}`], { env });
      expect(restore.exitCode, id).toBe(65);
      expect(fs.readdirSync(path.join(sandbox.dir, 'data')).filter((name) => name.startsWith('r_'))).toEqual([]);
    }
    const named = await sandbox.run(['backup', 'verify', flipped, '--read-data'], { env });
    expect(named.stdout + named.stderr).toContain('payload.sqlite.zst.enc');
  });

  it('a wrong passphrase is a clean error (65) and writes nothing', async () => {
    const sandbox = liteSandbox(10);
    const id = (await sandbox.run(['backup', 'create', '--json'], { env })).json().stores[0].backup.id;
    const wrong = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'nope'], {
      env: { STORAGE_BACKUP_PASSPHRASE: 'not-the-passphrase' },
    });
    expect(wrong.exitCode).toBe(65);
    expect(wrong.stderr).toMatch(/wrong key or passphrase/);
    expect(fs.existsSync(path.join(sandbox.dir, 'data/nope.db'))).toBe(false);
    const noKey = await sandbox.run(['backup', 'list']);
    expect(noKey.exitCode).toBe(78);
  });

  it('backup create with a wrong passphrase fails with it (65) and keeps nothing of the dump it started meanwhile; the right one works', async () => {
    const sandbox = liteSandbox(20_000, 256);
    const first = (await sandbox.run(['backup', 'create', '--json'], { env })).json().stores[0].backup.id;
    const wrong = await sandbox.run(['backup', 'create', '--json'], { env: { STORAGE_BACKUP_PASSPHRASE: 'not-the-passphrase' } });
    expect(wrong.exitCode).toBe(65);
    expect(wrong.json().error.message).toMatch(/wrong key or passphrase/);
    expect(backupDirs(repoOf(sandbox)).map((dir) => path.basename(dir))).toEqual([first]);
    expect(fs.readdirSync(path.join(repoOf(sandbox), 'tmp'))).toEqual([]);
    // The lock was let go: the next run neither waits nor breaks it.
    const right = await sandbox.run(['backup', 'create', '--json'], { env });
    expect(right.exitCode, right.stderr).toBe(0);
    expect(right.stderr).not.toMatch(/stale lock/i);
    expect(backupDirs(repoOf(sandbox))).toHaveLength(2);
  });

  it('a run with a wrong passphrase removes nothing: a dead run’s leftover stays until a run with the key sweeps it', async () => {
    const sandbox = liteSandbox(100);
    const first = (await sandbox.run(['backup', 'create', '--json'], { env })).json().stores[0].backup.id;
    // What a kill -9 leaves: a backup directory of the store with a payload and no manifest.
    const leftover = `${first.split('-')[0]}-lite-dead00`;
    fs.mkdirSync(path.join(repoOf(sandbox), 'backups', leftover));
    fs.writeFileSync(path.join(repoOf(sandbox), 'backups', leftover, 'payload.sqlite.zst.enc'), 'partial');
    const wrong = await sandbox.run(['backup', 'create'], { env: { STORAGE_BACKUP_PASSPHRASE: 'not-the-passphrase' } });
    expect(wrong.exitCode).toBe(65);
    expect(wrong.stderr).not.toContain(`Removed ${leftover}`);
    expect(
      backupDirs(repoOf(sandbox))
        .map((dir) => path.basename(dir))
        .sort(),
    ).toEqual([first, leftover].sort());
    const right = await sandbox.run(['backup', 'create', '--json'], { env });
    expect(right.exitCode, right.stderr).toBe(0);
    expect(right.stderr).toContain(`Removed ${leftover}`);
    expect(backupDirs(repoOf(sandbox)).map((dir) => path.basename(dir))).not.toContain(leftover);
    expect(backupDirs(repoOf(sandbox))).toHaveLength(2);
  });

  it('restoring over a database that holds data needs --confirm without a TTY (77)', async () => {
    const sandbox = liteSandbox(10);
    const id = (await sandbox.run(['backup', 'create', '--json'], { env })).json().stores[0].backup.id;
    const refused = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'app'], { env });
    expect(refused.exitCode).toBe(77);
    expect(refused.stderr).toContain('--confirm app');
    const done = await sandbox.run(['backup', 'restore', id, '--to', 'lite', '--database', 'app', '--confirm', 'app', '--json'], { env });
    expect(done.exitCode, done.stderr).toBe(0);
    // One naming scheme with snapshot restores and PostgreSQL, a name `db drop` accepts (issue 10, item 14).
    expect(done.json().previous).toMatch(/^app__pre_restore_\d{17}$/);
  });

  it('kill -9 mid-backup leaves no complete backup; earlier ones still verify; the next run breaks the lock and sweeps', async () => {
    const sandbox = liteSandbox(4000, 16_384);
    const first = await sandbox.run(['backup', 'create', '--json'], { env });
    expect(first.exitCode).toBe(0);
    const firstId = first.json().stores[0].backup.id;
    const victim = startCli(sandbox, ['backup', 'create'], env);
    await waitFor(() =>
      backupDirs(repoOf(sandbox)).some(
        (dir) => !dir.endsWith(firstId) && fs.readdirSync(dir).some((f) => f.startsWith('payload') && fs.statSync(path.join(dir, f)).size > 0),
      ),
    );
    victim.kill('SIGKILL');
    await victim;
    const list = (await sandbox.run(['backup', 'list', '--json'], { env })).json().backups;
    expect(list.filter((b: { status: string }) => b.status === 'complete').map((b: { id: string }) => b.id)).toEqual([firstId]);
    expect(list.some((b: { status: string }) => b.status === 'incomplete')).toBe(true);
    expect((await sandbox.run(['backup', 'verify', firstId, '--read-data'], { env })).exitCode).toBe(0);
    const next = await sandbox.run(['backup', 'create'], { env });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/stale lock/);
    expect(next.stderr).toMatch(/left it incomplete/);
    const after = (await sandbox.run(['backup', 'list', '--json'], { env })).json().backups;
    expect(after.map((b: { status: string }) => b.status)).toEqual(['complete', 'complete']);
  });

  it('two backups of one store at once: one wins, the other exits 75 naming the holder; list shows it running', async () => {
    const sandbox = liteSandbox(4000, 16_384);
    const winner = startCli(sandbox, ['backup', 'create'], env);
    // Its lock taken and its backup directory made: from here on it lists as running.
    await waitFor(() => fs.existsSync(path.join(repoOf(sandbox), 'locks', 'lite.lock')) && backupDirs(repoOf(sandbox)).length > 0);
    // The winner is stopped while the others run, so it cannot finish before the loser starts.
    const [loser, listing] = await whileStopped(winner, () =>
      Promise.all([sandbox.run(['backup', 'create'], { env }), sandbox.run(['backup', 'list', '--json'], { env })]),
    );
    expect(loser.exitCode).toBe(75);
    expect(loser.stderr).toMatch(/locked by storage backup create/);
    // While it runs, the winner shows as running, never as complete.
    expect(listing.json().backups.map((b: { status: string }) => b.status)).toEqual(['running']);
    expect((await winner).exitCode).toBe(0);
  });

  it('prune keeps the policy, never the failed, and --dry-run names exactly what a real run deletes', async () => {
    const sandbox = liteSandbox(10);
    for (let i = 0; i < 4; i++) expect((await sandbox.run(['backup', 'create', '-q'], { env })).exitCode).toBe(0);
    const empty = await sandbox.run(['backup', 'prune', '--keep-last', '0'], { env });
    expect(empty.exitCode).toBe(64);
    const dry = (await sandbox.run(['backup', 'prune', '--dry-run', '--json'], { env })).json();
    expect(dry.remove).toHaveLength(2);
    const real = (await sandbox.run(['backup', 'prune', '--json'], { env })).json();
    expect(real.remove).toEqual(dry.remove);
    const left = (await sandbox.run(['backup', 'list', '--json'], { env })).json().backups.map((b: { id: string }) => b.id);
    expect(left).toEqual(dry.keep.map((k: { id: string }) => k.id).sort());
  });

  it('with no config at all, backup create uses the embedded store and a key file it creates (0600)', async () => {
    const sandbox = makeSandbox();
    const created = await sandbox.run(['backup', 'create']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/Created the backup key file .*backup\.key/);
    const keyFile = path.join(sandbox.env.XDG_CONFIG_HOME, 'storage', 'backup.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const verify = await sandbox.run(['backup', 'verify', '--latest', '--read-data']);
    expect(verify.exitCode).toBe(0);
  });
});
