// The streaming pipeline between a dump and the repository: dump → compress → encrypt → hash →
// file, and back. Memory stays flat whatever the database's size.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { StorageError } from '../errors.js';
import { fileSystemFailure, isFileSystemError } from '../system/fs-errors.js';
import { DEFAULT_CHUNK_SIZE, DecryptStream, EncryptStream } from './crypto.js';
import { fsyncFile } from '../system/files.js';
import { GarbagePacer } from '../system/collect-garbage.js';
import { ParallelGzip } from './parallel-gzip.js';
import type { Compression, PayloadFile } from './manifest.js';
import { ParallelZstd, ZSTD_DEFAULT_LEVEL, ZstdDecode } from './zstd.js';

/** Counts bytes passing through, and hashes them when asked to; paces garbage collection when asked to (the plain side). */
class Meter extends Transform {
  bytes = 0;
  private readonly hash;
  private readonly pacer;
  constructor(hashed: boolean, paced = false) {
    super();
    this.hash = hashed ? createHash('sha256') : undefined;
    this.pacer = paced ? new GarbagePacer() : undefined;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    this.pacer?.add(chunk.length);
    callback(null, chunk);
  }
  digest(): string {
    return this.hash!.digest('hex');
  }
}

/**
 * Reads files in 256 KiB pieces: much faster than the 64 KiB default here, as fast as 1 MiB pieces,
 * and a restore's peak memory 4–9 MB lower than with those (3 interleaved rounds, 28 Nov 2026).
 */
export function readFileStream(file: string): fs.ReadStream {
  // Stryker disable next-line ObjectLiteral: equivalent; the piece size changes speed, not the bytes read
  return fs.createReadStream(file, { highWaterMark: 256 * 1024 });
}

export interface WriteOptions {
  compression: Compression;
  /** zstd level (1–19; default 3). gzip always runs at level 1. */
  level?: number;
  /** The backup's data key; undefined for an unencrypted repository. */
  key?: Buffer;
  /** Bound into the encryption so a file cannot be moved to another backup or name. */
  context: string;
  onProgress?: (storedBytes: number) => void;
  /** Stops the write (the file is left for the caller to remove) when the run is called off. */
  signal?: AbortSignal;
}

const SUFFIX: Record<Compression, string> = { zstd: '.zst', gzip: '.gz', none: '' };

/** A payload file's name says what it holds: `payload.sqlite.zst.enc`, `payload.pgdump.enc`... */
export function payloadName(base: string, options: { compression: Compression; encrypted: boolean }): string {
  return `payload.${base}${SUFFIX[options.compression]}${options.encrypted ? '.enc' : ''}`;
}

/** Streams `source` into `dir/name`, returning what the manifest records about it. */
export async function writePayload(source: Readable, dir: string, name: string, options: WriteOptions): Promise<PayloadFile> {
  const file = path.join(dir, name);
  // Stryker disable next-line BooleanLiteral: equivalent; hashing the plain bytes too changes nothing recorded
  const plain = new Meter(false, true);
  const stored = new Meter(true);
  const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream> = [source, plain];
  // Compressed on every core, in blocks. gzip level 1: on typical data about 1.5× faster than the
  // default level 6 for a few percent more bytes. zstd level 3: ~2× gzip level 1's speed, smaller.
  if (options.compression === 'zstd') stages.push(new ParallelZstd(options.level ?? ZSTD_DEFAULT_LEVEL));
  if (options.compression === 'gzip') stages.push(new ParallelGzip(1));
  if (options.key) stages.push(new EncryptStream(options.key, options.context, DEFAULT_CHUNK_SIZE));
  stages.push(stored);
  // Stryker disable next-line ConditionalExpression: equivalent; without a callback the listener below calls nothing (?.)
  if (options.onProgress) {
    let last = 0;
    stored.on('data', () => {
      if (stored.bytes - last > 4 * 1024 * 1024) {
        last = stored.bytes;
        // Stryker disable next-line OptionalChaining: equivalent; only reached when onProgress is set
        options.onProgress?.(stored.bytes);
      }
    });
  }
  stages.push(fs.createWriteStream(file, { mode: 0o600 }));
  try {
    await pipeline(stages as unknown as [Readable, Writable], { signal: options.signal });
  } catch (error) {
    // A write error of a stream names no file: say which one the disk refused.
    if (isFileSystemError(error) && !error.path) error.path = file;
    throw error;
  }
  fsyncFile(file);
  return { name, bytes: stored.bytes, sha256: stored.digest(), plainBytes: plain.bytes, compression: options.compression };
}

class HashCheck extends Transform {
  private readonly meter = createHash('sha256');
  private bytes = 0;
  constructor(private readonly entry: PayloadFile) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.meter.update(chunk);
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    const digest = this.meter.digest('hex');
    if (this.bytes !== this.entry.bytes || digest !== this.entry.sha256) {
      return callback(
        new StorageError(
          'BAD_DATA',
          `${this.entry.name} does not match its manifest (${this.bytes} bytes, expected ${this.entry.bytes}; SHA-256 ${digest === this.entry.sha256 ? 'matches' : 'differs'}).`,
          {
            hint: 'The file was altered or truncated. Do not restore from this backup.',
            details: { file: this.entry.name },
          },
        ),
      );
    }
    callback();
  }
}

/**
 * Reads a payload file back to its vendor format, checking size and SHA-256 of the stored bytes,
 * every chunk's authentication tag, and the plain size; any mismatch fails with BAD_DATA (65).
 */
export async function readPayload(
  dir: string,
  entry: PayloadFile,
  options: { key?: Buffer; context: string; chunkSize?: number },
  sink: Writable,
): Promise<number> {
  const file = path.join(dir, entry.name);
  // A sink never piped to is ended here: its own late failure (a file stream opening in a directory
  // its caller removes on this error) is no crash and no second error, and a tool reading it sees its end.
  const abandon = () => {
    sink.on('error', () => undefined);
    sink.destroy();
  };
  if (!fs.existsSync(file)) {
    abandon();
    throw new StorageError('BAD_DATA', `${entry.name} is missing from the backup.`, {
      hint: 'Do not restore from this backup.',
      details: { file: entry.name },
    });
  }
  // Stryker disable next-line BooleanLiteral: equivalent; the count's hash is never read
  const count = new Meter(false, true);
  const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream> = [];
  try {
    stages.push(readFileStream(file), new HashCheck(entry));
    if (options.key) stages.push(new DecryptStream(options.key, options.context, entry.name, options.chunkSize));
    // The manifest says how each file was compressed: backups made before zstd was the default read as they always did.
    if (entry.compression === 'gzip') stages.push(createGunzip());
    if (entry.compression === 'zstd') stages.push(new ZstdDecode());
  } catch (error) {
    for (const stage of stages) (stage as Readable).destroy();
    abandon();
    throw error;
  }
  stages.push(count, sink);
  try {
    await pipeline(stages as unknown as [Readable, Writable]);
  } catch (error) {
    if (error instanceof StorageError) throw error;
    // A full or read-only disk where the data goes is not a damaged backup.
    if (isFileSystemError(error)) {
      const sinkPath = (sink as Partial<fs.WriteStream>).path;
      throw fileSystemFailure(error, error.syscall === 'write' && typeof sinkPath === 'string' ? sinkPath : error.syscall === 'write' ? undefined : file);
    }
    throw new StorageError('BAD_DATA', `${entry.name} cannot be read back: ${(error as Error).message}.`, {
      hint: 'Do not restore from this backup.',
      details: { file: entry.name },
    });
  }
  if (count.bytes !== entry.plainBytes) {
    throw new StorageError('BAD_DATA', `${entry.name} decodes to ${count.bytes} bytes, the manifest says ${entry.plainBytes}.`, {
      hint: 'Do not restore from this backup.',
      details: { file: entry.name },
    });
  }
  return count.bytes;
}

/** A sink that discards data (for verification reads). */
export function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}
