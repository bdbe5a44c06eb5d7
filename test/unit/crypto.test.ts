import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DecryptStream, EncryptStream, HEADER_BYTES, deriveKey, unwrapKey, wrapKey } from '../../src/engine/repository/crypto.js';

const key = randomBytes(32);
const CHUNK = 64;

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function encrypt(plain: Buffer, context = 'b1/payload'): Promise<Buffer> {
  return collect(Readable.from([plain]).pipe(new EncryptStream(key, context, CHUNK)));
}

async function decrypt(sealed: Buffer, context = 'b1/payload', withKey = key): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = async (source: AsyncIterable<Buffer>) => {
    for await (const part of source) out.push(part);
  };
  await pipeline(Readable.from([sealed]), new DecryptStream(withKey, context), sink);
  return Buffer.concat(out);
}

describe('chunked authenticated encryption', () => {
  it('round-trips empty, short, exact-multiple and multi-chunk payloads', async () => {
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK * 3, CHUNK * 3 + 5]) {
      const plain = randomBytes(size);
      expect(await decrypt(await encrypt(plain)), `size ${size}`).toEqual(plain);
    }
  });

  it('writes the same chunk layout whatever pieces the input arrives in, and decrypts to the input', async () => {
    const plain = randomBytes(CHUNK * 5 + 7);
    const cuts = [1, 3, CHUNK - 4, CHUNK + 9, 2, CHUNK * 2, 30];
    const pieces: Buffer[] = [];
    let at = 0;
    for (const cut of cuts) {
      pieces.push(plain.subarray(at, at + cut));
      at += cut;
    }
    pieces.push(plain.subarray(at));
    const sealed = await collect(Readable.from(pieces).pipe(new EncryptStream(key, 'b1/payload', CHUNK)));
    // Header, then six chunks (five full, one of 7 bytes), each with its 16-byte tag.
    expect(sealed.length).toBe(HEADER_BYTES + plain.length + 6 * 16);
    expect(await decrypt(sealed)).toEqual(plain);
  });

  it('detects a flipped bit anywhere in the file', async () => {
    const sealed = await encrypt(randomBytes(CHUNK * 4 + 10));
    for (let i = 0; i < 40; i++) {
      const copy = Buffer.from(sealed);
      const at = Math.floor(Math.random() * copy.length);
      copy[at] ^= 1 << Math.floor(Math.random() * 8);
      await expect(decrypt(copy), `bit flip at byte ${at}`).rejects.toMatchObject({ code: 'BAD_DATA' });
    }
  });

  it('detects truncation, including a cut exactly at a chunk boundary', async () => {
    const sealed = await encrypt(randomBytes(CHUNK * 4 + 10));
    const unit = CHUNK + 16;
    for (const length of [HEADER_BYTES + unit * 2, HEADER_BYTES + unit * 4, sealed.length - 1, HEADER_BYTES, 5]) {
      await expect(decrypt(sealed.subarray(0, length)), `cut at ${length}`).rejects.toMatchObject({ code: 'BAD_DATA' });
    }
  });

  it('detects reordered and deleted chunks', async () => {
    const sealed = await encrypt(randomBytes(CHUNK * 4 + 10));
    const unit = CHUNK + 16;
    const header = sealed.subarray(0, HEADER_BYTES);
    const chunk = (i: number) => sealed.subarray(HEADER_BYTES + i * unit, HEADER_BYTES + (i + 1) * unit);
    const tail = sealed.subarray(HEADER_BYTES + 4 * unit);
    const swapped = Buffer.concat([header, chunk(1), chunk(0), chunk(2), chunk(3), tail]);
    await expect(decrypt(swapped)).rejects.toMatchObject({ code: 'BAD_DATA' });
    const deleted = Buffer.concat([header, chunk(0), chunk(2), chunk(3), tail]);
    await expect(decrypt(deleted)).rejects.toMatchObject({ code: 'BAD_DATA' });
  });

  it('refuses a wrong key, and a file moved to another backup or name', async () => {
    const sealed = await encrypt(Buffer.from('hello'));
    await expect(decrypt(sealed, 'b1/payload', randomBytes(32))).rejects.toMatchObject({ code: 'BAD_DATA' });
    await expect(decrypt(sealed, 'b2/payload')).rejects.toMatchObject({ code: 'BAD_DATA' });
  });

  it('wraps keys so that the wrong key-encryption key or context cannot unwrap them', () => {
    const kek = randomBytes(32);
    const wrapped = wrapKey(kek, key, 'backup b1');
    expect(unwrapKey(kek, wrapped, 'backup b1')).toEqual(key);
    expect(unwrapKey(randomBytes(32), wrapped, 'backup b1')).toBeUndefined();
    expect(unwrapKey(kek, wrapped, 'backup b2')).toBeUndefined();
  });

  it('derives the same key from the same passphrase and parameters, another from another', async () => {
    const params = { N: 2 ** 10, r: 8, p: 1, salt: randomBytes(16).toString('base64') };
    const a = await deriveKey('correct horse', params);
    expect(await deriveKey('correct horse', params)).toEqual(a);
    expect(await deriveKey('correct horsf', params)).not.toEqual(a);
  });

  it('a chunk size in the header that was altered fails at once, before a chunk of that size is buffered', async () => {
    const sealed = await encrypt(randomBytes(CHUNK * 4 + 10));
    const write = (stream: DecryptStream, data: Buffer) => new Promise<Error | null | undefined>((resolve) => stream.write(data, resolve));
    // One flipped bit in the size's top byte: 64 becomes 2^30 + 64, a chunk no reader should wait for.
    const huge = Buffer.from(sealed);
    huge[HEADER_BYTES - 4] ^= 0x40;
    const reader = new DecryptStream(key, 'b1/payload', 'payload.enc');
    reader.on('error', () => undefined);
    // The first piece written (header and a little data, stream not ended) is already refused.
    expect(await write(reader, huge.subarray(0, HEADER_BYTES + CHUNK))).toMatchObject({ code: 'BAD_DATA', message: expect.stringMatching(/chunk size/) });
    // Within the bound, the header must still say what the manifest records.
    const other = new DecryptStream(key, 'b1/payload', 'payload.enc', CHUNK * 2);
    other.on('error', () => undefined);
    expect(await write(other, sealed.subarray(0, HEADER_BYTES + 1))).toMatchObject({ message: expect.stringMatching(/the manifest says 128/) });
  });
});
