// MongoDB snapshots: every collection is copied with its options and indexes into a snapshot
// database (cursor → batched inserts; FerretDB v1 has no $out or $merge). MongoDB cannot rename
// a database, so a restore first copies the current data aside, and only then replaces it.
import type { Document, MongoClient } from 'mongodb';
import { createIndexesLike, userCollections, type MongoProvider } from './provider.js';
import { StorageError } from '../../errors.js';
import type { SnapshotCapability } from '../spec.js';

const BATCH = 1000;

async function copyDatabase(client: MongoClient, from: string, to: string): Promise<void> {
  for (const info of await userCollections(client, from)) {
    const name = String(info.name);
    try {
      await client.db(to).createCollection(name, info.options ?? {});
    } catch {
      await client.db(to).createCollection(name);
    }
    const target = client.db(to).collection(name);
    let batch: Document[] = [];
    for await (const doc of client
      .db(from)
      .collection(name)
      .find({}, { batchSize: BATCH, promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true })) {
      batch.push(doc);
      if (batch.length >= BATCH) {
        await target.insertMany(batch, { ordered: true });
        batch = [];
      }
    }
    if (batch.length) await target.insertMany(batch, { ordered: true });
    await createIndexesLike(target, await client.db(from).collection(name).listIndexes().toArray());
  }
}

async function dropCollections(client: MongoClient, database: string): Promise<void> {
  for (const info of await userCollections(client, database)) await client.db(database).collection(String(info.name)).drop();
}

export const mongoSnapshots: SnapshotCapability<MongoProvider> = {
  // MongoDB cannot rename a database: a restore copies the current data aside, then replaces it in place.
  restoresInPlace: true,
  async defaultDatabase(provider) {
    return provider.defaultDatabase;
  },

  async create(provider, source, copy) {
    const client = await provider.getClient();
    try {
      await copyDatabase(client, source, copy);
    } catch (error) {
      await client
        .db(copy)
        .dropDatabase()
        .catch(() => undefined);
      throw error;
    }
    const stats = await client
      .db(copy)
      .command({ dbStats: 1 })
      .catch(() => ({}) as Document);
    return { method: 'collection-copy' as const, sizeBytes: typeof stats.dataSize === 'number' ? stats.dataSize : null };
  },

  async restore(provider, record, { previous }, journal) {
    const client = await provider.getClient();
    // The current data is copied aside before anything is dropped (recorded first: a killed copy is known).
    journal('staging');
    await copyDatabase(client, record.source, previous);
    journal('swapping');
    await dropCollections(client, record.source);
    await copyDatabase(client, record.copy, record.source);
  },

  async settleRestore(provider, record, restoring) {
    const client = await provider.getClient();
    if ((restoring.phase ?? 'swapping') === 'staging') {
      // Killed while copying the current data aside: the database is untouched, the partial copy goes.
      await client.db(restoring.previous).dropDatabase();
      return `dropped ${restoring.previous}, the partial copy of an interrupted restore (${record.source} was not touched)`;
    }
    // Killed while replacing the data (the earlier data is complete in `previous`): finish what was confirmed.
    const names = (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((db) => db.name);
    if (!names.includes(record.copy))
      throw new StorageError('NOT_FOUND', `Cannot finish the interrupted restore of ${record.source}: the snapshot copy ${record.copy} is gone.`, {
        hint: `The data before the restore is in ${restoring.previous}; copy it back, then delete the snapshot record.`,
      });
    await dropCollections(client, record.source);
    await copyDatabase(client, record.copy, record.source);
    return `finished the interrupted restore of ${record.source} from ${record.copy} (the earlier data is in ${restoring.previous})`;
  },

  async exists(provider, copy) {
    const client = await provider.getClient();
    return (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.some((db) => db.name === copy);
  },

  async drop(provider, copy) {
    const client = await provider.getClient();
    await client.db(copy).dropDatabase();
  },

  async stats(provider, database) {
    const client = await provider.getClient();
    const stats: Record<string, { rows: number; sizeBytes: number | null }> = {};
    for (const info of await userCollections(client, database)) {
      const name = String(info.name);
      const coll = await client
        .db(database)
        .command({ collStats: name })
        .catch(() => ({}) as Document);
      stats[name] = { rows: await client.db(database).collection(name).countDocuments(), sizeBytes: typeof coll.size === 'number' ? coll.size : null };
    }
    return stats;
  },
};
