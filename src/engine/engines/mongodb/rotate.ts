// Password rotation on MongoDB: `updateUser` in the user's authentication database (the url's
// authSource, else admin). FerretDB v1 has no user management: there the change fails cleanly.
import type { ResolvedStore } from '../../config/load.js';
import { parseStoreUrl } from '../../config/store-url.js';
import { StorageError } from '../../errors.js';
import { describeFailure } from '../failures.js';
import type { LoginResult, RotationCapability } from '../spec.js';
import { urlWithPassword } from '../target.js';
import type { MongoProvider } from './provider.js';

async function tryLogin(store: ResolvedStore, password: string): Promise<LoginResult> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(urlWithPassword(store, password), { serverSelectionTimeoutMS: store.connectTimeoutMs });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return 'ok';
  } catch (error) {
    return describeFailure(store, error).code === 'AUTH_FAILED' ? 'rejected' : 'unreachable';
  } finally {
    await client.close().catch(() => undefined);
  }
}

export const mongoRotation: RotationCapability<MongoProvider> = {
  async prepare(provider, { user, oldPassword }) {
    const store = provider.store;
    const client = await provider.getClient();
    const authDb = parseStoreUrl((store.config as { url: string }).url)?.params.get('authSource') ?? 'admin';
    const update = async (password: string) => {
      await client.db(authDb).command({ updateUser: user, pwd: password });
    };
    return {
      change: async (password) => {
        try {
          await update(password);
        } catch (error) {
          throw new StorageError('UNSUPPORTED', `The server of store "${store.name}" refused updateUser: ${(error as Error).message}. Nothing was changed.`, {
            hint: 'The server must support MongoDB user management (FerretDB v1 with the SQLite backend does not).',
          });
        }
      },
      restore: () => update(oldPassword),
    };
  },
  tryLogin,
};
