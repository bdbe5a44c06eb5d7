// A MongoDB backup's memory does not grow with the number of big documents: cursor batches are
// sized by bytes, not by a count of documents (1000 documents of 15 MB each were once one batch).
import { Binary, MongoClient } from 'mongodb';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoSandbox } from '../support/repository.js';
import { servers, uniqueName } from '../support/servers.js';

const DOCUMENT_BYTES = 6 * 1024 * 1024;

describe('MongoDB backups of big documents', () => {
  const database = uniqueName('bigdocs');
  let client: MongoClient;

  beforeAll(async () => {
    client = new MongoClient(servers().mongoUrl);
    await client.connect();
  });

  afterAll(async () => {
    await client.db(database).dropDatabase();
    await client.close();
  });

  it('peak memory stays flat from 2 to 10 documents of 6 MB', async () => {
    const sandbox = repoSandbox([]);
    sandbox.writeConfig({
      stores: { docs: { engine: 'mongodb', url: `${servers().mongoUrl}/${database}` } },
      backup: { repository: './repo', encryption: { keyFile: 'backup.key' } },
    });
    // The CLI's own peak resident memory, as the kernel counted it, written when it exits.
    const hook = path.join(sandbox.dir, 'peak-rss.cjs');
    const report = path.join(sandbox.dir, 'peak-rss');
    fs.writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(report)}, String(process.resourceUsage().maxRSS)));`);
    const peakKb = async () => {
      const run = await sandbox.run(['backup', 'create', 'docs', '--json'], { env: { NODE_OPTIONS: `--require ${hook}` } });
      expect(run.exitCode, run.stderr).toBe(0);
      return { kb: Number(fs.readFileSync(report, 'utf8')), backup: run.json().stores[0].backup };
    };
    const insert = async (from: number, to: number) => {
      for (let i = from; i < to; i++)
        await client
          .db(database)
          .collection('docs')
          .insertOne({ i, blob: new Binary(Buffer.alloc(DOCUMENT_BYTES, i)) });
    };
    await insert(0, 2);
    const two = await peakKb();
    await insert(2, 10);
    const ten = await peakKb();
    expect(ten.backup.counts).toEqual({ docs: 10 });
    expect(ten.backup.originalBytes).toBeGreaterThan(10 * DOCUMENT_BYTES);
    // Eight more documents are 48 MB; holding them in one batch costs about twice that.
    const growthMb = (ten.kb - two.kb) / 1024;
    expect(growthMb, `peak RSS ${two.kb} kB with 2 documents, ${ten.kb} kB with 10`).toBeLessThan(40);
  });
});
