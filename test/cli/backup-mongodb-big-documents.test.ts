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

  it('peak memory stays flat from 6 to 16 documents of 6 MB', async () => {
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
    // Six documents already bring the garbage collector to its steady state.
    await insert(0, 6);
    const few = await peakKb();
    await insert(6, 16);
    const many = await peakKb();
    expect(many.backup.counts).toEqual({ docs: 16 });
    expect(many.backup.originalBytes).toBeGreaterThan(16 * DOCUMENT_BYTES);
    // Ten more documents are 60 MB; held in one batch they cost about twice that (a batch of
    // 1000 documents grew by 85 MB from 2 to 10 of them here).
    const growthMb = (many.kb - few.kb) / 1024;
    expect(growthMb, `peak RSS ${few.kb} kB with 6 documents, ${many.kb} kB with 16`).toBeLessThan(50);
  });
});
