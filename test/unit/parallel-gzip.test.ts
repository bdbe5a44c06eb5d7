import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ParallelGzip } from '../../src/engine/repository/parallel-gzip.js';

async function compress(input: Buffer, pieces: number[], blockSize: number, parallel: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const size of pieces) {
    chunks.push(input.subarray(at, at + size));
    at += size;
  }
  if (at < input.length) chunks.push(input.subarray(at));
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), new ParallelGzip(1, blockSize, parallel), new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }));
  return Buffer.concat(out);
}

describe('parallel gzip', () => {
  it('is one gzip stream that decodes to exactly the input, whatever the block and piece sizes, in order', async () => {
    const text = Buffer.from('row,'.repeat(300_000) + 'the end');
    const mixed = Buffer.concat([randomBytes(700_000), text, randomBytes(5)]);
    for (const [blockSize, parallel] of [
      [64 * 1024, 1],
      [64 * 1024, 4],
      [100_003, 3],
      [4 * 1024 * 1024, 2],
    ]) {
      const gz = await compress(mixed, [1, 70_000, 3, 250_000, 999_999], blockSize, parallel);
      expect(gunzipSync(gz).equals(mixed)).toBe(true);
      // The streaming decoder the restore path uses reads every member too.
      const out: Buffer[] = [];
      await pipeline(Readable.from([gz]), createGunzip(), new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }));
      expect(Buffer.concat(out).equals(mixed)).toBe(true);
    }
    expect((await compress(text, [], 64 * 1024, 2)).length).toBeLessThan(text.length / 20);
  });

  it('an empty input is still a valid gzip stream, which decodes to nothing', async () => {
    const gz = await compress(Buffer.alloc(0), [], 1024, 2);
    expect(gz.length).toBeGreaterThan(0);
    expect(gunzipSync(gz).length).toBe(0);
  });
});
