// SQLite backups: the online backup API copies a consistent snapshot while other connections
// write (WAL too); the payload is the plain database file, gzip-compressed and encrypted.
// Restores write a temp file, check it, fsync, then rename it into place.
import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { StorageError } from '../errors.js';
import type { SqliteProvider } from '../providers/sqlite.js';
import type { Provider } from '../providers/types.js';
import type { EngineBackup } from './engine.js';
import { fsyncDir, fsyncFile } from './files.js';
import { payloadName, readFileStream, readPayload, writePayload } from './payload.js';

/** Rows per table of a SQLite file (read-only). */
export function countRows(file: string): Record<string, number> {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all() as { name: string }[];
    const counts: Record<string, number> = {};
    for (const { name } of tables) counts[name] = (db.prepare(`select count(*) as n from "${name.replace(/"/g, '""')}"`).get() as { n: number }).n;
    return counts;
  } finally {
    db.close();
  }
}

function sqlite(provider: Provider): SqliteProvider {
  return provider as SqliteProvider;
}

export const sqliteBackup: EngineBackup = {
  async dump({ provider, backupId, dir, scratch, key, compress, progress }) {
    const db = await sqlite(provider).handle();
    const snapshot = path.join(scratch, 'snapshot.db');
    let done = progress.step('snapshot the database (online backup API)');
    // One step copies every page under one read lock: a consistent snapshot even while others write.
    await db.backup(snapshot, { progress: () => 1_000_000_000 });
    const counts = countRows(snapshot);
    done(`${Object.keys(counts).length} tables`);
    done = progress.step(`${compress ? 'compress, ' : ''}${key ? 'encrypt and ' : ''}write`);
    const name = payloadName('sqlite', { compress, encrypted: key !== undefined });
    const file = await writePayload(readFileStream(snapshot), dir, name, { compress, key, context: `${backupId}/${name}` });
    fs.rmSync(snapshot, { force: true });
    done();
    const version = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
    return { database: sqlite(provider).databaseName, payloadFormat: 'sqlite-file', files: [file], counts, serverVersion: version };
  },

  async restore({ manifest, dir, key, provider, database, replace, progress }) {
    const target = sqlite(provider).fileFor(database);
    const temp = `${target}.restoring-${process.pid}`;
    let done = progress.step('read, check and decrypt the payload into a temp file');
    try {
      await readPayload(dir, manifest.files[0], { key, context: `${manifest.id}/${manifest.files[0].name}` }, fs.createWriteStream(temp, { mode: 0o600 }));
      fsyncFile(temp);
      const check = new Sqlite(temp, { readonly: true, fileMustExist: true });
      const result = check.pragma('integrity_check', { simple: true });
      check.close();
      for (const suffix of ['-wal', '-shm']) fs.rmSync(`${temp}${suffix}`, { force: true });
      if (result !== 'ok')
        throw new StorageError('BAD_DATA', `The restored SQLite file fails integrity_check: ${String(result)}.`, { hint: 'Do not use this backup.' });
      done();
      done = progress.step(`put ${path.basename(target)} in place`);
      let previous: string | undefined;
      if (fs.existsSync(target)) {
        if (!replace) throw new StorageError('CONFIRMATION_REQUIRED', `${target} exists; replacing it needs confirmation.`);
        if (path.resolve(target) === path.resolve(sqlite(provider).file)) await provider.close();
        previous = `${target}.pre-restore-${Date.now()}`;
        fs.renameSync(target, previous);
        for (const suffix of ['-wal', '-shm']) if (fs.existsSync(`${target}${suffix}`)) fs.renameSync(`${target}${suffix}`, `${previous}${suffix}`);
      }
      fs.renameSync(temp, target);
      fsyncDir(path.dirname(target));
      done();
      return { database, previous };
    } finally {
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${temp}${suffix}`, { force: true });
    }
  },

  async targetState(provider, database) {
    const file = sqlite(provider).fileFor(database);
    if (!fs.existsSync(file)) return 'absent';
    return Object.keys(countRows(file)).length === 0 && fs.statSync(file).size <= 8192 ? 'empty' : 'non-empty';
  },

  async count(provider, database) {
    return countRows(sqlite(provider).fileFor(database));
  },

  async drop(provider, database) {
    await provider.dropDatabase(database, { force: true });
  },
};
