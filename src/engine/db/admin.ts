// Creating and dropping databases. Dropping is destructive: the caller must pass the
// database's name as confirmation, which the command layer gets from a prompt or --confirm.
import { requireConfirmation } from '../confirm.js';
import type { Fleet } from '../fleet.js';
import type { DropResult } from '../engines/provider.js';

export async function createDatabase(fleet: Fleet, storeName: string, database: string): Promise<{ store: string; database: string; created: true }> {
  const store = fleet.store(storeName);
  const provider = await fleet.provider(store);
  await provider.createDatabase(database);
  return { store: store.name, database, created: true };
}

export interface DropRequest {
  store: string;
  database: string;
  confirm: string | undefined;
  force: boolean;
}

export async function dropDatabase(fleet: Fleet, request: DropRequest): Promise<DropResult & { store: string }> {
  const store = fleet.store(request.store);
  requireConfirmation(request.database, request.confirm, `Dropping database "${request.database}" on store "${store.name}"`);
  const provider = await fleet.provider(store);
  const result = await provider.dropDatabase(request.database, { force: request.force });
  return { store: store.name, ...result };
}
