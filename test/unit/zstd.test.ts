import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ParallelZstd, ZstdDecode } from '../../src/engine/repository/zstd.js';

function pieces(input: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(input.subarray(at, at + size));
    at += size;
  }
  if (at < input.length) out.push(input.subarray(at));
  return out;
}

async function run(chunks: Buffer[], ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline([Readable.from(chunks), ...stages, new Writable({ write: (c, _e, cb) => (out.push(c), cb()) })] as never);
  return Buffer.concat(out);
}

const text = Buffer.from('id,name,amount\n' + Array.from({ length: 120_000 }, (_, i) => `${i},customer ${i % 977},${(i * 7919) % 100_000}`).join('\n'));
const mixed = Buffer.concat([randomBytes(700_000), text, randomBytes(5)]);

describe('zstd in blocks', () => {
  it('decodes to exactly the input, whatever the block and piece sizes, in order; and is one stream the zstd tool reads', async () => {
    for (const [blockSize, parallel] of [
      [64 * 1024, 1],
      [64 * 1024, 4],
      [100_003, 3],
      [4 * 1024 * 1024, 2],
    ]) {
      const zst = await run(pieces(mixed, [1, 70_000, 3, 250_000, 999_999]), new ParallelZstd(3, blockSize, parallel));
      expect((await run(pieces(zst, [7, 1, 16, 100_000, 3]), new ZstdDecode())).equals(mixed)).toBe(true);
      expect(execFileSync('zstd', ['-d', '-c', '-q'], { input: zst, maxBuffer: 64 * 1024 * 1024 }).equals(mixed)).toBe(true);
    }
    expect((await run([text], new ParallelZstd(3))).length).toBeLessThan(text.length / 4);
  });

  it('an empty input is a non-empty stream that decodes to nothing', async () => {
    const zst = await run([], new ParallelZstd(3, 1024, 2));
    expect(zst.length).toBeGreaterThan(0);
    expect((await run([zst], new ZstdDecode())).length).toBe(0);
  });

  it('a cut, damaged or foreign stream fails instead of decoding to something else', async () => {
    const zst = await run([mixed], new ParallelZstd(3, 256 * 1024, 2));
    await expect(run([zst.subarray(0, zst.length - 1)], new ZstdDecode())).rejects.toThrow(/truncated/);
    await expect(run([zst.subarray(0, 10)], new ZstdDecode())).rejects.toThrow(/truncated/);
    const header = Buffer.from(zst);
    header[0] ^= 0x01;
    await expect(run([header], new ZstdDecode())).rejects.toThrow(/lacks a block header/);
    const huge = Buffer.from(zst);
    huge.writeUInt32LE(0xffffffff, 8);
    await expect(run([huge], new ZstdDecode())).rejects.toThrow(/impossible sizes/);
    const frame = Buffer.from(zst);
    frame[20] ^= 0xff; // inside the first zstd frame's header
    await expect(run([frame], new ZstdDecode())).rejects.toThrow();
    await expect(run([Buffer.from('not zstd at all, just text......')], new ZstdDecode())).rejects.toThrow();
  });
});
