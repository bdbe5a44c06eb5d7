// config.file: the config parsed and validated (an invalid one exits 78 before any check runs),
// and every store has what its engine needs to be reached.
import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedStore } from '../../config/load.js';
import { parseStoreUrl } from '../../config/store-url.js';
import type { Check, CheckOutcome } from '../registry.js';

/** What a store lacks that its engine needs, judged from the config alone. */
export function judgeStoreConfig(store: ResolvedStore): CheckOutcome {
  const { config } = store;
  if (store.embedded)
    return { subject: store.name, status: 'pass', reason: `the embedded default store (${store.config.engine === 'sqlite' ? store.config.path : ''})` };
  if (config.engine === 'sqlite') {
    const dir = path.dirname(config.path);
    if (fs.existsSync(config.path)) return { subject: store.name, status: 'pass', reason: `sqlite file ${config.path}` };
    return {
      subject: store.name,
      status: 'fail',
      reason: fs.existsSync(dir) ? `${config.path} does not exist` : `${config.path} does not exist, nor does its directory`,
      hint: `Fix stores.${store.name}.path: a configured SQLite file is opened, never created (only the embedded default is).`,
    };
  }
  const url = parseStoreUrl(config.url);
  if (!url || url.hosts.length === 0)
    return { subject: store.name, status: 'fail', reason: 'the url names no host', hint: `Give the host: ${config.engine}://HOST:PORT/DB` };
  if (config.engine === 'mongodb' && !url.database)
    return {
      subject: store.name,
      status: 'fail',
      reason: 'the url names no database (MongoDB would silently use "test")',
      hint: `Name the database: mongodb://${url.hosts.join(',')}/DB`,
    };
  if (config.engine === 'postgres' && !url.database)
    return {
      subject: store.name,
      status: 'warn',
      reason: 'the url names no database, so the server picks one named after the user',
      hint: 'Name the database: postgres://user@host:5432/DB',
    };
  return { subject: store.name, status: 'pass', reason: `${config.engine} at ${url.hosts.join(',')}` };
}

export const configFile: Check = {
  id: 'config.file',
  suite: 'config',
  title: 'the config validates and every store has what its engine needs',
  async run({ fleet, stores }) {
    const source = fleet.config.source.path ?? 'no config file (the embedded default store)';
    return [{ status: 'pass', reason: `${source}: valid` }, ...fleet.select(stores).map(judgeStoreConfig)];
  },
};
