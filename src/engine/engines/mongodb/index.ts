// MongoDB (and MongoDB-wire servers such as FerretDB): one MongoClient per store; backups as raw
// BSON in the mongodump layout; snapshots as collection copies; rotation with updateUser;
// failover by asking a replica set's primary to step down (the set elects the next one); sync of
// collections (shapes inferred from the documents, upserts by _id); a database per tenant with
// declarative JSON migrations.
import type { EngineSpec } from '../spec.js';
import { mongoFailures } from './failures.js';
import { MongoProvider } from './provider.js';

export const mongodb: EngineSpec<MongoProvider> = {
  engine: 'mongodb',
  label: 'MongoDB',
  openProvider: (store, secrets) => new MongoProvider(store, secrets),
  failures: mongoFailures,
  // Database names are under 64 bytes and cannot hold / \ . " $ * < > : | ? space or NUL.
  names: { maxBytes: 63, unsafe: /[/\\. "$*<>:|?\0]/g },
  backup: async () => (await import('./backup.js')).mongoBackup,
  snapshot: async () => (await import('./snapshot.js')).mongoSnapshots,
  rotatePassword: async () => (await import('./rotate.js')).mongoRotation,
  failover: async () => (await import('./failover.js')).mongoFailover,
  sync: async () => (await import('./sync.js')).mongoSync,
  tenancy: async () => (await import('./tenancy.js')).mongoTenancy,
  lacks: { clientTools: 'its backups run no external programs' },
};
