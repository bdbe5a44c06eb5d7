// Block compression on every core: the stream is cut into blocks, each compressed on libuv's
// thread pool, and the results are pushed in order. Memory is bounded by the blocks in flight,
// whatever the stream's length.
import os from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { ByteQueue } from './byte-queue.js';

export abstract class ParallelBlocks extends Transform {
  private blocks = 0;
  private readonly pending = new ByteQueue();
  /** Blocks being compressed, oldest first; their results are pushed in this order. */
  private readonly inFlight: Promise<Buffer | readonly Buffer[]>[] = [];

  constructor(
    private readonly blockSize: number,
    /**
     * Blocks compressed at once: one per core and one queued so no core waits, but at most three:
     * they run on libuv's pool of four threads, which the file writes need too.
     */
    private readonly parallel = Math.min(os.availableParallelism() + 1, 3),
  ) {
    super();
  }

  /** One block, compressed into a piece that can be decoded on its own (in parts, pushed in order, to save joining them). */
  protected abstract compressBlock(block: Buffer): Promise<Buffer | readonly Buffer[]>;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending.add(chunk);
    this.compressFullBlocks().then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    // Empty input still makes one (empty) block: a compressed stream of nothing is not zero bytes.
    if (this.pending.length > 0 || this.blocks === 0) this.start(this.pending.take(this.pending.length));
    this.pushUntil(0).then(() => callback(), callback);
  }

  private async compressFullBlocks(): Promise<void> {
    while (this.pending.length >= this.blockSize) {
      this.start(this.pending.take(this.blockSize));
      await this.pushUntil(this.parallel - 1);
    }
  }

  private start(block: Buffer): void {
    this.blocks++;
    const compressed = this.compressBlock(block);
    compressed.catch(() => undefined); // awaited in order by pushUntil; this only keeps a later failure from counting as unhandled
    this.inFlight.push(compressed);
  }

  /** Pushes finished blocks, oldest first, until at most `max` are in flight. */
  private async pushUntil(max: number): Promise<void> {
    while (this.inFlight.length > max) {
      const piece = await this.inFlight.shift()!;
      if (Buffer.isBuffer(piece)) this.push(piece);
      else for (const part of piece) this.push(part);
    }
  }
}
