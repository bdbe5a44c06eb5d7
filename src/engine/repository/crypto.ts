// Authenticated encryption for backup payloads and keys.
//
// Payloads use a chunked AES-256-GCM stream (the STREAM construction): the plaintext is cut
// into fixed-size chunks; each chunk's nonce is a random per-file prefix, the chunk's counter
// and a final-chunk flag, and the file header is bound into every chunk as associated data.
// A flipped bit fails that chunk's tag, reordered chunks fail their counters, and a file cut
// at any point lacks a valid final chunk, so truncation, reordering and tampering are all caught.
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { StorageError } from '../errors.js';
import { ByteQueue } from './byte-queue.js';

export const KEY_BYTES = 32;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** The largest chunk a reader accepts: a size read from disk is bounded before anything is buffered for it. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const TAG_BYTES = 16;
const PREFIX_BYTES = 7;
const MAGIC = Buffer.from('STGENC1\0', 'latin1');
export const HEADER_BYTES = MAGIC.length + PREFIX_BYTES + 4;

function nonce(prefix: Buffer, counter: number, final: boolean): Buffer {
  const out = Buffer.alloc(12);
  prefix.copy(out, 0);
  out.writeUInt32BE(counter, PREFIX_BYTES);
  out[11] = final ? 1 : 0;
  return out;
}

function tampered(what: string): StorageError {
  return new StorageError('BAD_DATA', `${what} failed authentication: the data was altered, truncated or reordered, or the key is wrong.`, {
    hint: 'Do not restore from this file. Verify other backups with `storage backup verify --read-data`.',
  });
}

/** Encrypts a byte stream into the chunked format. `context` (e.g. backup id and file name) is bound into every chunk. */
export class EncryptStream extends Transform {
  private readonly header: Buffer;
  private readonly prefix = randomBytes(PREFIX_BYTES);
  private readonly pending = new ByteQueue();
  private counter = 0;
  private headerSent = false;

  constructor(
    private readonly key: Buffer,
    private readonly context: string,
    private readonly chunkSize = DEFAULT_CHUNK_SIZE,
  ) {
    super();
    if (!(Number.isInteger(chunkSize) && chunkSize > 0 && chunkSize <= MAX_CHUNK_SIZE)) throw new RangeError(`chunk size ${chunkSize} out of range`);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(chunkSize);
    this.header = Buffer.concat([MAGIC, this.prefix, size]);
  }

  private aad(): Buffer {
    return Buffer.concat([this.header, Buffer.from(this.context, 'utf8')]);
  }

  /** Encrypts one chunk, given as the pieces it arrived in, and pushes it (no copy of the plain bytes). */
  private seal(plain: Buffer[], final: boolean): void {
    if (this.counter >= 0xffffffff) throw new StorageError('FAILED', 'Payload too large for one encrypted file.');
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.prefix, this.counter++, final));
    cipher.setAAD(this.aad());
    for (const piece of plain) this.push(cipher.update(piece));
    this.push(Buffer.concat([cipher.final(), cipher.getAuthTag()]));
  }

  private sendHeader(): void {
    if (!this.headerSent) {
      this.push(this.header);
      this.headerSent = true;
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.pending.add(chunk);
      // Emit full chunks only while more data follows, so the final chunk always exists.
      while (this.pending.length > this.chunkSize) this.seal(this.pending.takePieces(this.chunkSize), false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.seal(this.pending.takePieces(this.pending.length), true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/** Decrypts the chunked format; fails with BAD_DATA (exit 65) on any alteration. */
export class DecryptStream extends Transform {
  // Incoming pieces are joined only when a whole chunk is there, so each byte is copied once.
  private readonly queue = new ByteQueue();
  private header?: Buffer;
  private prefix?: Buffer;
  private unit = 0;
  private counter = 0;

  constructor(
    private readonly key: Buffer,
    private readonly context: string,
    private readonly label = 'Encrypted file',
    /** The chunk size the manifest records; the header must say the same. */
    private readonly expectedChunkSize?: number,
  ) {
    super();
  }

  private open(body: Buffer, final: boolean): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce(this.prefix!, this.counter++, final));
    decipher.setAAD(Buffer.concat([this.header!, Buffer.from(this.context, 'utf8')]));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw tampered(`${this.label}, chunk ${this.counter - 1},`);
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.queue.add(chunk);
      if (!this.header) {
        if (this.queue.length < HEADER_BYTES) return callback();
        const header = Buffer.from(this.queue.take(HEADER_BYTES));
        if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw tampered(`${this.label} header`);
        // The chunk size comes from disk: check it before buffering a chunk of that size (a flipped
        // bit here once made a reader hold a whole 772 MB file before failing).
        const chunkSize = header.readUInt32BE(MAGIC.length + PREFIX_BYTES);
        if (chunkSize === 0 || chunkSize > MAX_CHUNK_SIZE || (this.expectedChunkSize !== undefined && chunkSize !== this.expectedChunkSize)) {
          throw new StorageError(
            'BAD_DATA',
            `${this.label} header gives a chunk size of ${chunkSize} bytes${this.expectedChunkSize === undefined ? ` (at most ${MAX_CHUNK_SIZE} is possible)` : `; the manifest says ${this.expectedChunkSize}`}: the file was altered.`,
            { hint: 'Do not restore from this file. Verify other backups with `storage backup verify --read-data`.' },
          );
        }
        this.header = header;
        this.prefix = header.subarray(MAGIC.length, MAGIC.length + PREFIX_BYTES);
        this.unit = chunkSize + TAG_BYTES;
      }
      // A full unit followed by more bytes cannot be the final chunk.
      while (this.queue.length > this.unit) this.push(this.open(this.queue.take(this.unit), false));
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.header || this.queue.length < TAG_BYTES) throw tampered(`${this.label} (cut short)`);
      this.push(this.open(this.queue.take(this.queue.length), true));
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

export interface WrappedKey {
  iv: string;
  tag: string;
  data: string;
}

/**
 * Seals a small value (a key, a secret) under a key: AES-256-GCM with a random IV, binding
 * `context` so a sealed value cannot be moved to another place or name. The one envelope of the
 * repository's key slots and data keys and of the secrets vault.
 */
export function wrapKey(kek: Buffer, key: Buffer, context: string): WrappedKey {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const data = Buffer.concat([cipher.update(key), cipher.final()]);
  return { iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** Opens a sealed value; undefined when the key is wrong, the context differs, or the envelope was altered. */
export function unwrapKey(kek: Buffer, wrapped: WrappedKey, context: string): Buffer | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(wrapped.iv, 'base64'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(wrapped.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(wrapped.data, 'base64')), decipher.final()]);
  } catch {
    return undefined;
  }
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  salt: string;
}

/**
 * New passphrase slots: N=2^15, r=8, p=3, one of the settings OWASP lists as equal in strength to
 * N=2^17, r=8, p=1 (about the same work: 3 · 2^15 = ¾ · 2^17), but needing 32 MiB instead of 128 MiB, which
 * was most of a backup's peak memory. Existing slots keep the parameters they were made with.
 */
export function newScryptParams(): ScryptParams {
  return { N: 2 ** 15, r: 8, p: 3, salt: randomBytes(16).toString('base64') };
}

/** A key from a passphrase; scrypt needs 128 · N · r bytes (N=2^17: 128 MiB, above Node's default maxmem). */
export function deriveKey(passphrase: string, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 32 * 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scryptCallback(passphrase.normalize('NFC'), Buffer.from(params.salt, 'base64'), KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}
