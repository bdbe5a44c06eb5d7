// MongoDB backups are not built yet: say so plainly instead of pretending.
import { StorageError } from '../errors.js';
import type { EngineBackup } from './engine.js';

function notYet(): never {
  throw new StorageError('UNSUPPORTED', 'Backups of MongoDB stores are not available in this version yet.', {
    hint: 'Back up PostgreSQL and SQLite stores with storage; use mongodump for MongoDB meanwhile.',
  });
}

export const mongoBackup: EngineBackup = {
  dump: async () => notYet(),
  restore: async () => notYet(),
  targetState: async () => notYet(),
  count: async () => notYet(),
  drop: async () => notYet(),
};
