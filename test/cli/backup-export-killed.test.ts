// What a killed `backup export` leaves in --out (a hidden partial directory of decrypted files) is
// removed by the next export of that backup on the same host; a live export's is left alone.
import { execa } from 'execa';
import Sqlite from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { BACKUP_PASSPHRASE } from '../support/secrets.js';

const env = { STORAGE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

/** A SQLite store holding a secret row, and its backup's id. */
async function backedUpStore(): Promise<{ sandbox: Sandbox; id: string }> {
  const sandbox = makeSandbox();
  fs.mkdirSync(path.join(sandbox.dir, 'data'));
  const db = new Sqlite(path.join(sandbox.dir, 'data/app.db'));
  db.exec("create table t (v text); insert into t values ('secret row')");
  db.close();
  sandbox.writeConfig({ stores: { lite: { engine: 'sqlite', path: 'data/app.db' } }, backup: { repository: './repo' } });
  const created = await sandbox.run(['backup', 'create', 'lite', '--json'], { env });
  expect(created.exitCode, created.stderr).toBe(0);
  const id = created.json().stores[0].backup.id;
  return { sandbox, id };
}

describe('backup export after an export was killed', () => {
  it("removes a dead export's partial directory of the same backup, keeps a live one's and other files", async () => {
    const { sandbox, id } = await backedUpStore();
    // What kill -9 leaves: the partial directory of a process that is gone, holding decrypted data.
    const gone = execa('true');
    const dead = gone.pid!;
    await gone;
    const out = path.join(sandbox.dir, 'out');
    const left = path.join(out, `.${id}.partial-${os.hostname()}-${dead}`);
    fs.mkdirSync(left, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(left, 'app.db'), 'decrypted data');
    // A live export's (this test's own process stands for it) and the user's own files stay.
    const live = path.join(out, `.${id}.partial-${os.hostname()}-${process.pid}`);
    fs.mkdirSync(live);
    fs.writeFileSync(path.join(out, 'mine.txt'), 'keep');
    const exported = await sandbox.run(['backup', 'export', id, '--out', out], { env });
    expect(exported.exitCode, exported.stderr).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([`.${id}.partial-${os.hostname()}-${process.pid}`, id, 'mine.txt'].sort());
    expect(fs.existsSync(live)).toBe(true);
  });

  it('a partial directory name planted in --out (a symlink for every pid, as in a shared /tmp) is refused: nothing decrypted lands where it points', async () => {
    const { sandbox, id } = await backedUpStore();
    const out = path.join(sandbox.dir, 'shared');
    const elsewhere = path.join(sandbox.dir, 'attacker');
    fs.mkdirSync(out);
    fs.mkdirSync(elsewhere);
    fs.writeFileSync(path.join(elsewhere, 'theirs.txt'), 'untouched');
    // Every pid the export can get (the whole range where it is small, else the next ones after ours).
    const max = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const [first, last] = max <= 100_000 ? [1, max] : [process.pid, process.pid + 50_000];
    for (let pid = first; pid <= last; pid++) fs.symlinkSync(elsewhere, path.join(out, `.${id}.partial-${os.hostname()}-${pid}`));
    const exported = await sandbox.run(['backup', 'export', id, '--out', out], { env });
    expect(exported.exitCode).not.toBe(0);
    expect(exported.stderr).toMatch(/already exists/);
    expect(fs.readdirSync(elsewhere)).toEqual(['theirs.txt']);
    expect(fs.existsSync(path.join(out, id))).toBe(false);
  }, 120_000);
});
