// MongoDB backups, driver-based so they work against FerretDB v1 (no $out, no transactions):
// each collection is streamed as raw BSON straight from the cursor (no re-encoding) into the
// mongodump layout, `<db>/<collection>.bson` plus `<collection>.metadata.json` with options and
// indexes, each file compressed and encrypted. Collections are read one after another; without
// transactions a backup is consistent per collection, not across collections.
import { Readable, Writable } from 'node:stream';
import type { Db, Document } from 'mongodb';
import { StorageError } from '../../errors.js';
import { createIndexesLike, userCollections, type MongoProvider } from './provider.js';
import type { BackupCapability } from '../spec.js';
import { fileNameSafe } from '../../system/files.js';
import type { Compression, PayloadFile } from '../../repository/manifest.js';
import { discard, payloadName, readPayload, writePayload } from '../../repository/payload.js';

const BATCH = 1000;
/**
 * About this many bytes of documents per round trip. Batches are sized by bytes, from the
 * collection's average document size: a count alone (1000) held 30 documents of 15 MB (450 MB)
 * in one reply, and memory grew with document size.
 */
const BATCH_BYTES = 8 * 1024 * 1024;
/** MongoDB's largest document (16 MiB) plus the 16 KiB it allows internal documents. */
const MAX_BSON_BYTES = 16 * 1024 * 1024 + 16 * 1024;
/** Without a size from the server, assume large documents rather than small ones. */
const UNKNOWN_SIZE_BATCH = 16;

/** Documents per cursor batch for a collection, from its average document size. */
export function dumpBatchSize(averageDocumentBytes: number | undefined): number {
  if (!(averageDocumentBytes && averageDocumentBytes > 0)) return UNKNOWN_SIZE_BATCH;
  return Math.max(1, Math.min(BATCH, Math.floor(BATCH_BYTES / averageDocumentBytes)));
}

async function averageDocumentBytes(db: Db, collection: string): Promise<number | undefined> {
  try {
    const stats = await db.command({ collStats: collection });
    if (Number(stats.avgObjSize) > 0) return Number(stats.avgObjSize);
  } catch {
    // Servers that dropped collStats answer the aggregation stage instead.
  }
  try {
    const [stats] = await db
      .collection(collection)
      .aggregate([{ $collStats: { storageStats: {} } }])
      .toArray();
    const average = Number((stats as { storageStats?: { avgObjSize?: number } } | undefined)?.storageStats?.avgObjSize);
    return average > 0 ? average : undefined;
  } catch {
    return undefined;
  }
}

/** Names as file-safe text without dots, so the parts of a payload file's name can be told apart. */
const encodeName = (name: string) => encodeURIComponent(name).replace(/\./g, '%2E');

function fileName(database: string, collection: string, suffix: '.bson' | '.metadata.json', options: { compression: Compression; encrypted: boolean }): string {
  return payloadName(`${encodeName(database)}.${encodeName(collection)}${suffix}`, options);
}

/** Decodes a name part of a payload file's name; a part that does not decode stays as it is. */
function decodeName(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The vendor (mongodump) path of a payload file, for export: `<db>/<collection>.bson`, each part one plain file name. */
export function mongodumpPath(name: string): string {
  const match = /^payload\.([^.]+)\.([^.]+)(\.bson|\.metadata\.json)(\.gz|\.zst)?(\.enc)?$/.exec(name);
  if (!match) return fileNameSafe(name);
  return `${fileNameSafe(decodeName(match[1]))}/${fileNameSafe(decodeName(match[2]))}${match[3]}`;
}

/** Splits a stream of concatenated BSON documents into documents. */
class BsonSplitter extends Writable {
  private buffer: Buffer = Buffer.alloc(0);
  constructor(private readonly onDocument: (doc: Buffer) => Promise<void>) {
    super();
  }
  override async _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): Promise<void> {
    try {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      while (this.buffer.length >= 4) {
        const size = this.buffer.readInt32LE(0);
        // A length read from the file is bounded before anything is buffered for it.
        if (size < 5 || size > MAX_BSON_BYTES) throw new StorageError('BAD_DATA', `A BSON document in the backup has an impossible length (${size} bytes).`);
        if (this.buffer.length < size) break;
        await this.onDocument(this.buffer.subarray(0, size));
        this.buffer = this.buffer.subarray(size);
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
  override _final(callback: (error?: Error | null) => void): void {
    callback(this.buffer.length === 0 ? null : new StorageError('BAD_DATA', 'The backup ends in the middle of a BSON document.'));
  }
}

/** The collection that marks a database whose restore has not finished. */
export const UNFINISHED_MARKER = '_storage_restore_unfinished';

export const mongoBackup: BackupCapability<MongoProvider> = {
  // The mongodump layout: mongorestore reads it.
  exportName: (_manifest, fileName) => mongodumpPath(fileName),

  async dump({ provider, backupId, dir, key, compression, compressionLevel, progress, signal }) {
    const store = provider;
    const client = await store.getClient();
    const database = store.defaultDatabase;
    const build = await client.db('admin').command({ buildInfo: 1 });
    const collections = await userCollections(client, database);
    if (collections.length === 0) {
      // MongoDB has no empty databases: none means the url names a database that does not exist.
      throw new StorageError('NOT_FOUND', `Database "${database}" of store "${store.store.name}" has no collections: there is nothing to back up.`, {
        hint: `MongoDB keeps no empty databases, so this is usually a wrong database in the store's url; \`storage db info ${store.store.name}\` lists the databases the server has.`,
        details: { store: store.store.name, database },
      });
    }
    const files: PayloadFile[] = [];
    const counts: Record<string, number> = {};
    for (const info of collections) {
      const name = String(info.name);
      const done = progress.step(`dump ${database}.${name}`);
      const collection = client.db(database).collection(name);
      let documents = 0;
      const batchSize = dumpBatchSize(await averageDocumentBytes(client.db(database), name));
      const cursor = collection.find({}, { raw: true, batchSize });
      // A byte stream (not object mode, which buffers 16 documents whatever their size): one
      // document is pulled only when the one before has moved on.
      const source = Readable.from(
        (async function* () {
          for await (const raw of cursor) {
            documents++;
            yield raw as unknown as Buffer;
          }
        })(),
        { objectMode: false, highWaterMark: 1024 * 1024 },
      );
      const bson = fileName(database, name, '.bson', { compression, encrypted: key !== undefined });
      files.push(await writePayload(source, dir, bson, { compression, level: compressionLevel, key, context: `${backupId}/${bson}`, signal }));
      counts[name] = documents;
      const indexes = await collection.listIndexes().toArray();
      const metadata = JSON.stringify({ collectionName: name, type: 'collection', options: info.options ?? {}, indexes }, null, 2);
      const meta = fileName(database, name, '.metadata.json', { compression, encrypted: key !== undefined });
      files.push(
        await writePayload(Readable.from([Buffer.from(metadata)]), dir, meta, {
          compression,
          level: compressionLevel,
          key,
          context: `${backupId}/${meta}`,
          signal,
        }),
      );
      done(`${documents} documents, ${indexes.length} indexes`);
    }
    return { database, payloadFormat: 'mongodump' as const, files, counts, serverVersion: String(build.version ?? 'unknown') };
  },

  async restore({ manifest, dir, key, provider, database, staged, previous, journal, progress }) {
    if (previous !== undefined || staged !== database) {
      throw new StorageError(
        'UNSUPPORTED',
        `Restoring over the existing MongoDB database "${database}" is not supported: MongoDB cannot rename a database, so it could not be swapped in safely.`,
        {
          hint: 'Restore into a new database (the default, or --database NEW_NAME), check it, then point the application at it.',
        },
      );
    }
    // Check every byte of every file before writing anything.
    let done = progress.step('read back and check every file');
    for (const file of manifest.files) await readPayload(dir, file, { key, context: `${manifest.id}/${file.name}` }, discard());
    done();
    const client = await provider.getClient();
    const { BSON } = await import('mongodb');
    const target = client.db(database);
    journal('staging');
    // MongoDB cannot rename a database, so the restore writes in place and marks the database
    // unfinished first: anyone listing its collections sees the marker, and the next restore of the
    // store (or `snapshot cleanup`) drops a database still marked by a run that is gone.
    await target.collection(UNFINISHED_MARKER).insertOne({
      note: 'storage is restoring this database; until this collection is gone it is incomplete',
      backup: manifest.id,
      startedAt: new Date().toISOString(),
      pid: process.pid,
    });
    try {
      for (const file of manifest.files.filter((f) => f.name.includes('.metadata.json'))) {
        const chunks: Buffer[] = [];
        await readPayload(dir, file, { key, context: `${manifest.id}/${file.name}` }, new Writable({ write: (chunk, _e, cb) => (chunks.push(chunk), cb()) }));
        const metadata = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { collectionName: string; options: Document; indexes: Document[] };
        const name = metadata.collectionName;
        done = progress.step(`restore ${database}.${name}`);
        try {
          await target.createCollection(name, metadata.options);
        } catch {
          await target.createCollection(name);
          progress.warn(`${name}: the server did not accept the collection options ${JSON.stringify(metadata.options)}; created it without them.`);
        }
        const collection = target.collection(name);
        const bsonFile = manifest.files.find((f) => f.name === file.name.replace('.metadata.json', '.bson'))!;
        let batch: Document[] = [];
        let restored = 0;
        const flush = async () => {
          if (batch.length === 0) return;
          await collection.insertMany(batch, { ordered: true, bypassDocumentValidation: true });
          restored += batch.length;
          batch = [];
        };
        await readPayload(
          dir,
          bsonFile,
          { key, context: `${manifest.id}/${bsonFile.name}` },
          new BsonSplitter(async (raw) => {
            batch.push(BSON.deserialize(raw, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true }));
            if (batch.length >= BATCH) await flush();
          }),
        );
        await flush();
        const indexes = await createIndexesLike(collection, metadata.indexes);
        done(`${restored} documents, ${indexes} indexes`);
      }
      await target.collection(UNFINISHED_MARKER).drop();
    } catch (error) {
      // A half-restored new database must not look finished.
      await target.dropDatabase().catch(() => undefined);
      throw error;
    }
    return { database };
  },

  async targetState(provider, database) {
    const client = await provider.getClient();
    const names = (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((db) => db.name);
    if (!names.includes(database)) return 'absent';
    return (await userCollections(client, database)).length === 0 ? 'empty' : 'non-empty';
  },

  async count(provider, database) {
    const client = await provider.getClient();
    const counts: Record<string, number> = {};
    for (const info of await userCollections(client, database))
      counts[String(info.name)] = await client.db(database).collection(String(info.name)).countDocuments();
    return counts;
  },

  async drop(provider, database) {
    const client = await provider.getClient();
    await client.db(database).dropDatabase();
  },

  async settleRestore(provider, entry) {
    const client = await provider.getClient();
    const names = (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((db) => db.name);
    if (!names.includes(entry.database)) return undefined;
    const marked = (await client.db(entry.database).listCollections({ name: UNFINISHED_MARKER }, { nameOnly: true }).toArray()).length > 0;
    // Only a database this tool created and still marks as unfinished is dropped.
    if (!entry.scratch && !marked) return undefined;
    await client.db(entry.database).dropDatabase();
    return `dropped ${entry.database}, left unfinished by an interrupted restore`;
  },

  systemDatabases: ['admin', 'local', 'config'],
  restoresInPlace: true,
  countedThings: { one: 'collection', many: 'collections' },
};
