// The behaviours that protect data, each tested by its outcome (exit code, the bytes left on disk,
// the data, the files in the repository) so that breaking it fails a test (issue 18: each was a
// hand-made mutation that the suite let through). Real PostgreSQL, FerretDB and SQLite.
import Sqlite from 'better-sqlite3';
import { execa } from 'execa';
import { MongoClient } from 'mongodb';
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDirs, payloadFile } from '../support/backups.js';
import { makeSandbox, type Sandbox } from '../support/cli.js';
import { pgBinDir } from '../support/pg-cluster.js';
import { pgAdmin, pgUrlFor, servers, uniqueName } from '../support/servers.js';

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Every file under `dir`, recursively. */
function allFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

function completeBackups(sandbox: Sandbox): string[] {
  return backupDirs(path.join(sandbox.dir, 'repo')).filter((dir) => fs.existsSync(path.join(dir, 'manifest.json')));
}

describe('a pg_dump that fails after writing part of its output', () => {
  const database = uniqueName('m18_cut');
  const role = uniqueName('m18_dumper');

  beforeAll(async () => {
    await pgAdmin((client) => client.query(`create database ${database}`));
    // pg_dump reads every table's data after writing the archive's header and table of contents, in
    // name order: a_first's rows go out, then z_last (row-level security, which pg_dump runs
    // without and a non-owner cannot bypass) makes it exit 1 with a partial archive written.
    await pgAdmin(
      (client) =>
        client.query(`
          create role ${role} login;
          create table a_first as select g as id, md5(g::text) as v from generate_series(1, 20000) g;
          create table z_last (id int, owner text);
          insert into z_last values (1, 'someone else');
          alter table z_last enable row level security;
          create policy only_own on z_last using (owner = current_user);
          grant select on a_first, z_last to ${role};
        `),
      pgUrlFor(database),
    );
  });

  afterAll(async () => {
    await pgAdmin(async (client) => {
      await client.query(`drop database if exists ${database} with (force)`);
      await client.query(`drop role if exists ${role}`);
    });
  });

  it('fails the backup (exit 1, the pg_dump error named), seals nothing: no manifest, no complete entry in backup list', async () => {
    const url = new URL(pgUrlFor(database));
    url.username = role;
    // The premise: this pg_dump really writes part of an archive, then exits non-zero.
    const direct = await execa(path.join(pgBinDir(), 'pg_dump'), ['-Fc', '--dbname', url.toString()], { reject: false, encoding: 'buffer' });
    expect(direct.exitCode).toBe(1);
    expect(direct.stdout.length).toBeGreaterThan(100_000);

    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { cut: { engine: 'postgres', url: url.toString() } }, backup: { repository: './repo', encryption: { enabled: false } } });
    const result = await sandbox.run(['backup', 'create', 'cut', '--json']);
    expect(result.exitCode, result.stderr).toBe(1);
    const outcome = result.json().stores[0];
    expect(outcome.ok).toBe(false);
    expect(`${outcome.error.message} ${outcome.error.hint ?? ''}`).toMatch(/pg_dump/);
    expect(completeBackups(sandbox)).toEqual([]);
    const list = await sandbox.run(['backup', 'list', '--json']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.json().backups.filter((backup: { status: string }) => backup.status === 'complete')).toEqual([]);
    expect(fs.readdirSync(path.join(sandbox.dir, 'repo', 'locks'))).toEqual([]);
  });
});

describe('SQLite restores from an unencrypted, uncompressed repository', () => {
  let sandbox: Sandbox;
  let dataDir: string;
  let live: string;
  let good: string;
  let tampered: string;

  const notes = () => {
    const db = new Sqlite(live, { readonly: true });
    try {
      return (db.prepare("select group_concat(note, ',') as v from (select note from events order by id)").get() as { v: string }).v;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    sandbox = makeSandbox();
    dataDir = path.join(sandbox.dir, 'data');
    live = path.join(dataDir, 'app.db');
    fs.mkdirSync(dataDir);
    const db = new Sqlite(live);
    db.exec("create table events (id integer primary key, note text); insert into events (note) values ('first'), ('MARK-row-two'), ('third')");
    db.close();
    sandbox.writeConfig({
      stores: { lite: { engine: 'sqlite', path: 'data/app.db' } },
      backup: { repository: './repo', encryption: { enabled: false }, compression: 'none' },
    });
    const make = async () => {
      const created = await sandbox.run(['backup', 'create', 'lite', '--json']);
      expect(created.exitCode, created.stderr).toBe(0);
      return created.json().stores[0].backup.id as string;
    };
    good = await make();
    tampered = await make();
    // The payload is the plain database file: flip one bit of a row's text, which SQLite's own
    // integrity_check cannot see. Only the manifest's SHA-256 tells.
    const payload = payloadFile(path.join(sandbox.dir, 'repo', 'backups', tampered));
    expect(path.basename(payload)).toBe('payload.sqlite');
    const bytes = fs.readFileSync(payload);
    const at = bytes.indexOf('MARK-row-two');
    expect(at).toBeGreaterThan(0);
    bytes[at] ^= 0x01; // 'M' → 'L': same size, a valid database, other data
    fs.writeFileSync(payload, bytes);
    // The live database changes after the backups, so a restore would visibly replace it.
    const change = new Sqlite(live);
    change.exec("insert into events (note) values ('after the backups')");
    change.close();
  });

  it('a flipped byte of the payload fails verify --read-data (65), naming the file', async () => {
    const verify = await sandbox.run(['backup', 'verify', tampered, '--read-data', '--json']);
    expect(verify.exitCode, verify.stdout).toBe(65);
    expect(verify.json().results[0].ok).toBe(false);
    expect(verify.stdout).toContain('payload.sqlite');
    const untouched = await sandbox.run(['backup', 'verify', good, '--read-data', '--json']);
    expect(untouched.exitCode, untouched.stdout).toBe(0);
  });

  it('restoring it into a new database refuses (65) and writes nothing', async () => {
    const before = fs.readdirSync(dataDir).sort();
    const restore = await sandbox.run(['backup', 'restore', tampered, '--to', 'lite', '--database', 'm18_new', '--json']);
    expect(restore.exitCode, restore.stdout).toBe(65);
    expect(restore.json().error.code).toBe('BAD_DATA');
    expect(fs.readdirSync(dataDir).sort()).toEqual(before);
  });

  it('restoring it over the existing database with --confirm exits 65 and leaves the live file byte for byte as it was, nothing moved aside', async () => {
    const hash = sha256(live);
    const before = fs.readdirSync(dataDir).sort();
    const restore = await sandbox.run(['backup', 'restore', tampered, '--to', 'lite', '--database', 'app', '--confirm', 'app', '--json']);
    expect(restore.exitCode, restore.stdout).toBe(65);
    expect(fs.existsSync(live)).toBe(true);
    expect(sha256(live)).toBe(hash);
    expect(fs.readdirSync(dataDir).sort()).toEqual(before);
    expect(notes()).toBe('first,MARK-row-two,third,after the backups');
  });

  it('--confirm with anything but the database name ("yes") is refused (77) and replaces nothing; the exact name restores', async () => {
    const hash = sha256(live);
    const before = fs.readdirSync(dataDir).sort();
    for (const answer of ['yes', 'app.db', 'APP']) {
      const refused = await sandbox.run(['backup', 'restore', good, '--to', 'lite', '--database', 'app', '--confirm', answer, '--json']);
      expect(refused.exitCode, `${answer}: ${refused.stdout}`).toBe(77);
      expect(refused.json().error.code).toBe('CONFIRMATION_MISMATCH');
      expect(sha256(live)).toBe(hash);
      expect(fs.readdirSync(dataDir).sort()).toEqual(before);
    }
    expect(notes()).toBe('first,MARK-row-two,third,after the backups');
    const confirmed = await sandbox.run(['backup', 'restore', good, '--to', 'lite', '--database', 'app', '--confirm', 'app', '--json']);
    expect(confirmed.exitCode, confirmed.stdout).toBe(0);
    expect(notes()).toBe('first,MARK-row-two,third');
    expect(fs.readdirSync(dataDir).filter((name) => name.startsWith('app__pre_restore_'))).toHaveLength(1);
  });
});

describe('the backup manifest of a store whose URL holds a password', () => {
  it('no file in the repository (manifest, payload, anything) contains the password; the manifest holds the masked URL', async () => {
    const url = servers().pgAuthUrl;
    const password = decodeURIComponent(new URL(url).password);
    expect(password.length).toBeGreaterThan(0);
    const sandbox = makeSandbox();
    // Unencrypted: every byte the repository holds is readable here.
    sandbox.writeConfig({ stores: { secure: { engine: 'postgres', url } }, backup: { repository: './repo', encryption: { enabled: false } } });
    const created = await sandbox.run(['backup', 'create', 'secure', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const [dir] = completeBackups(sandbox);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const masked = new URL(url);
    masked.password = '****';
    expect(manifest.source).toBe(masked.toString());
    const files = allFiles(path.join(sandbox.dir, 'repo'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      expect(bytes.includes(Buffer.from(password)), file).toBe(false);
      expect(bytes.includes(Buffer.from(encodeURIComponent(password))), file).toBe(false);
    }
  });
});

describe('MongoDB snapshot restore (FerretDB)', () => {
  const database = uniqueName('m18_snap');
  let mongo: MongoClient;

  beforeAll(async () => {
    mongo = new MongoClient(servers().mongoUrl);
    await mongo.connect();
  });

  afterAll(async () => {
    for (const { name } of (await mongo.db('admin').admin().listDatabases({ nameOnly: true })).databases.filter((db) => db.name.startsWith(database)))
      await mongo.db(name).dropDatabase();
    await mongo.close();
  });

  const contents = async (name: string) => {
    const collections = (await mongo.db(name).listCollections().toArray()).map((c) => c.name).sort();
    const out: Record<string, unknown[]> = {};
    for (const collection of collections)
      out[collection] = await mongo
        .db(name)
        .collection(collection)
        .find({}, { sort: { _id: 1 } })
        .toArray();
    return out;
  };

  it('copies the current collections aside before replacing them: the "previous" copy holds the replaced data, every document', async () => {
    const items = mongo.db(database).collection<{ _id: number; v: string }>('items');
    await items.insertMany(Array.from({ length: 120 }, (_, i) => ({ _id: i, v: `v${i}` })));
    await mongo
      .db(database)
      .collection('extra')
      .insertOne({ _id: 1 as never, kept: 'in the snapshot' });
    const sandbox = makeSandbox();
    sandbox.writeConfig({ stores: { events: { engine: 'mongodb', url: `${servers().mongoUrl}/${database}` } } });
    const snapshotted = await contents(database);
    expect((await sandbox.run(['snapshot', 'create', 'events', '--name', 'm18_s1'])).exitCode).toBe(0);

    // The data the restore replaces: fewer, changed documents and a collection of its own.
    await items.deleteMany({ _id: { $gte: 100 } });
    await items.updateOne({ _id: 7 }, { $set: { v: 'changed after the snapshot' } });
    await mongo
      .db(database)
      .collection('later')
      .insertMany([
        { _id: 1 as never, n: 1 },
        { _id: 2 as never, n: 2 },
      ]);
    const replaced = await contents(database);
    expect(replaced.items).toHaveLength(100);

    const restored = await sandbox.run(['snapshot', 'restore', 'm18_s1', '--store', 'events', '--confirm', database, '--json']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    const previous = restored.json().previous as string;
    expect(previous).toMatch(new RegExp(`^${database}__pre_restore_`));
    expect(await contents(database)).toEqual(snapshotted);
    const kept = await contents(previous);
    expect(Object.fromEntries(Object.entries(kept).map(([name, docs]) => [name, docs.length]))).toEqual({ extra: 1, items: 100, later: 2 });
    expect(kept).toEqual(replaced);
  });
});

describe('audit verify and the prev link', () => {
  /** JSON with keys sorted at every level: what the audit log's HMAC covers. */
  const canonical = (value: unknown): string =>
    Array.isArray(value)
      ? `[${value.map(canonical).join(',')}]`
      : value !== null && typeof value === 'object'
        ? `{${Object.keys(value)
            .sort()
            .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
            .join(',')}}`
        : JSON.stringify(value);

  it('an edited middle entry whose own hash was recomputed with the audit key fails `audit verify` (65) at the entry after it', async () => {
    const sandbox = makeSandbox();
    const auditDir = path.join(sandbox.dir, 'audit');
    const env = { STORAGE_AUDIT_DIR: auditDir };
    for (const name of ['m18_a', 'm18_b', 'm18_c']) expect((await sandbox.run(['db', 'create', 'local', name], { env })).exitCode).toBe(0);
    expect((await sandbox.run(['audit', 'verify', '--json'], { env })).exitCode).toBe(0);

    const log = path.join(auditDir, 'audit.log');
    const key = Buffer.from(JSON.parse(fs.readFileSync(path.join(auditDir, 'audit.key'), 'utf8')).key, 'base64');
    const lines = fs.readFileSync(log, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const { hash, ...edited } = { ...JSON.parse(lines[1]), command: 'storage db create local m18_innocent' };
    const rehashed = { ...edited, hash: createHmac('sha256', key).update(canonical(edited)).digest('hex') };
    expect(rehashed.hash).not.toBe(hash);
    lines[1] = JSON.stringify(rehashed);
    fs.writeFileSync(log, `${lines.join('\n')}\n`);

    const tampered = await sandbox.run(['audit', 'verify', '--json'], { env });
    expect(tampered.exitCode, tampered.stdout).toBe(65);
    expect(tampered.json().error).toMatchObject({ code: 'BAD_DATA', details: { line: 3 } });
    expect(tampered.json().error.message).toMatch(/does not follow/);
  });
});
