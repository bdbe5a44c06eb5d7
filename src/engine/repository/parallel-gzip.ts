// gzip on every core: the stream is cut into blocks, each compressed on libuv's thread pool as its
// own gzip member, and the members are written in order. Concatenated members are one valid gzip
// stream (RFC 1952 §2.2): gunzip, zlib and older versions of this tool read it unchanged. Cutting
// costs a few bytes per block, since deflate only looks 32 KiB back anyway.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { ParallelBlocks } from './parallel-blocks.js';

const gzipAsync = promisify(gzip);

export const GZIP_BLOCK_SIZE = 1024 * 1024;

export class ParallelGzip extends ParallelBlocks {
  constructor(
    private readonly level = 1,
    blockSize = GZIP_BLOCK_SIZE,
    parallel?: number,
  ) {
    super(blockSize, parallel);
  }

  protected override compressBlock(block: Buffer): Promise<Buffer> {
    return gzipAsync(block, { level: this.level });
  }
}
