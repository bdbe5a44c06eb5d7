// Password rotation on PostgreSQL: `ALTER ROLE … PASSWORD 'SCRAM-SHA-256$…'` with the verifier
// computed here (as psql's \password does), so the new password never reaches the server or its
// logs; proven on a fresh connection outside the pool.
import type { ResolvedStore } from '../../config/load.js';
import { describeFailure } from '../failures.js';
import type { LoginResult, RotationCapability } from '../spec.js';
import { urlWithPassword } from '../target.js';
import { quoteIdent, type PostgresProvider } from './provider.js';
import { scramVerifier } from './scram.js';

async function tryLogin(store: ResolvedStore, password: string): Promise<LoginResult> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: urlWithPassword(store, password), connectionTimeoutMillis: store.connectTimeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return 'ok';
  } catch (error) {
    return describeFailure(store, error).code === 'AUTH_FAILED' ? 'rejected' : 'unreachable';
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const postgresRotation: RotationCapability<PostgresProvider> = {
  async prepare(provider, { user, oldPassword, next }) {
    const store = provider.store;
    const statement = (password: string) => `alter role ${quoteIdent(user)} password '${scramVerifier(password)}'`;
    const alter = (password: string) => provider.withClient((client) => client.query(statement(password)));
    // Connected (with the current password) before anything changes: the pool is the way back.
    await provider.withClient((client) => client.query('select 1'));
    return {
      change: async (password) => {
        await alter(password);
      },
      restore: async () => {
        try {
          await alter(oldPassword);
        } catch {
          const { default: pg } = await import('pg');
          const client = new pg.Client({ connectionString: urlWithPassword(store, next), connectionTimeoutMillis: store.connectTimeoutMs });
          client.on('error', () => undefined);
          await client.connect();
          try {
            await client.query(statement(oldPassword));
          } finally {
            await client.end().catch(() => undefined);
          }
        }
      },
    };
  },
  tryLogin,
};
