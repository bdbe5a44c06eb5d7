import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  DecryptStream,
  EncryptStream,
  HEADER_BYTES,
  MAX_CHUNK_SIZE,
  deriveKey,
  newScryptParams,
  unwrapKey,
  wrapKey,
} from '../../src/engine/repository/crypto.js';

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

describe('chunked encryption bounds (what a mutation run showed was unchecked)', () => {
  it('an input of exactly N chunks is written as N chunks, the last one final (no empty extra chunk)', async () => {
    const plain = randomBytes(CHUNK * 3);
    const sealed = await encrypt(plain);
    expect(sealed.length).toBe(HEADER_BYTES + CHUNK * 3 + 3 * 16);
    expect(await decrypt(sealed)).toEqual(plain);
  });

  it('the writer accepts chunk sizes 1 to the maximum, nothing else', () => {
    for (const size of [0, -1, 1.5, MAX_CHUNK_SIZE + 1]) expect(() => new EncryptStream(key, 'x', size), `size ${size}`).toThrow(RangeError);
    for (const size of [1, MAX_CHUNK_SIZE]) expect(() => new EncryptStream(key, 'x', size)).not.toThrow();
  });

  it('a file written with the largest chunk size reads back; a header giving 0 or more than the maximum is refused by name', async () => {
    const plain = randomBytes(100);
    const sealed = await collect(Readable.from([plain]).pipe(new EncryptStream(key, 'b1/payload', MAX_CHUNK_SIZE)));
    expect(await decrypt(sealed)).toEqual(plain);
    const write = (stream: DecryptStream, data: Buffer) => new Promise<Error | null | undefined>((resolve) => stream.write(data, resolve));
    const zero = Buffer.from(sealed);
    zero.writeUInt32BE(0, HEADER_BYTES - 4);
    const reader = new DecryptStream(key, 'b1/payload', 'payload.enc');
    reader.on('error', () => undefined);
    expect(await write(reader, zero)).toMatchObject({ code: 'BAD_DATA', message: expect.stringMatching(/chunk size of 0 bytes \(at most 16777216/) });
    const over = Buffer.from(sealed);
    over.writeUInt32BE(MAX_CHUNK_SIZE + 1, HEADER_BYTES - 4);
    const second = new DecryptStream(key, 'b1/payload', 'payload.enc');
    second.on('error', () => undefined);
    expect(await write(second, over)).toMatchObject({ code: 'BAD_DATA', message: expect.stringMatching(/chunk size of 16777217 bytes/) });
  });

  it('a tampered chunk is named by its index', async () => {
    const sealed = await encrypt(randomBytes(CHUNK * 4 + 10));
    const copy = Buffer.from(sealed);
    copy[HEADER_BYTES + 2 * (CHUNK + 16) + 5] ^= 0x10;
    await expect(decrypt(copy)).rejects.toMatchObject({ code: 'BAD_DATA', message: expect.stringMatching(/chunk 2, failed authentication/) });
    const last = Buffer.from(sealed);
    last[last.length - 1] ^= 0x01;
    await expect(decrypt(last)).rejects.toMatchObject({ message: expect.stringMatching(/chunk 4, failed authentication/) });
  });

  it('new scrypt parameters are the strong ones, with a fresh 16-byte salt, and derive a 32-byte key within the memory bound', async () => {
    const a = newScryptParams();
    const b = newScryptParams();
    expect({ N: a.N, r: a.r, p: a.p }).toEqual({ N: 2 ** 15, r: 8, p: 3 }); // OWASP's 32 MiB alternative to N=2^17, p=1
    expect(Buffer.from(a.salt, 'base64').length).toBe(16);
    expect(a.salt).not.toBe(b.salt);
    const derived = await deriveKey('correct horse', a);
    expect(derived.length).toBe(32);
  });

  it('a passphrase typed in another Unicode normalization derives the same key', async () => {
    const params = { N: 2 ** 10, r: 8, p: 1, salt: randomBytes(16).toString('base64') };
    const composed = 'caf\u00e9-pass';
    const decomposed = 'cafe\u0301-pass';
    expect(composed).not.toBe(decomposed);
    expect(await deriveKey(decomposed, params)).toEqual(await deriveKey(composed, params));
  });
});

describe('chunked decryption of a file arriving in small pieces', () => {
  it('reads the header once, whatever the pieces, and names a bad magic as a bad header, with a hint', async () => {
    const plain = randomBytes(CHUNK * 2 + 3);
    const sealed = await encrypt(plain);
    const pieces: Buffer[] = [];
    for (let at = 0; at < sealed.length; at += 7) pieces.push(sealed.subarray(at, at + 7));
    const out: Buffer[] = [];
    await pipeline(Readable.from(pieces), new DecryptStream(key, 'b1/payload'), async (source: AsyncIterable<Buffer>) => {
      for await (const part of source) out.push(part);
    });
    expect(Buffer.concat(out)).toEqual(plain);
    const badMagic = Buffer.from(sealed);
    badMagic[0] ^= 0x01;
    await expect(decrypt(badMagic)).rejects.toMatchObject({
      code: 'BAD_DATA',
      message: expect.stringMatching(/^Encrypted file header failed authentication/),
      hint: expect.stringMatching(/Do not restore from this file/),
    });
  });
});

describe('key derivation and header errors, exactly', () => {
  it('deriveKey is scrypt with the given parameters (a known answer from node:crypto)', async () => {
    const { scryptSync } = await import('node:crypto');
    const params = { N: 2 ** 10, r: 8, p: 1, salt: Buffer.alloc(16, 7).toString('base64') };
    expect(await deriveKey('pass', params)).toEqual(scryptSync('pass', Buffer.alloc(16, 7), 32, { N: 2 ** 10, r: 8, p: 1 }));
  });

  it('a key the cipher refuses fails the stream, with data or with none, and never leaves it hanging', async () => {
    const drain = async (source: AsyncIterable<Buffer>) => {
      for await (const _ of source) void _;
    };
    const refusedKey = Buffer.alloc(16, 1);
    for (const parts of [[randomBytes(100)], []]) {
      await expect(pipeline(Readable.from(parts), new EncryptStream(refusedKey, 'b1/payload', 16), drain)).rejects.toThrow(/key length/i);
    }
  }, 10_000);

  it('a file of exactly a header is judged as a header: a wrong magic says the header failed, not that the file was cut short', async () => {
    const header = Buffer.from((await encrypt(Buffer.alloc(0))).subarray(0, HEADER_BYTES));
    header[0] ^= 1;
    const drain = async (source: AsyncIterable<Buffer>) => {
      for await (const _ of source) void _;
    };
    await expect(pipeline(Readable.from([header]), new DecryptStream(key, 'b1/payload', 'payload.enc'), drain)).rejects.toMatchObject({
      code: 'BAD_DATA',
      message: expect.stringMatching(/^payload\.enc header failed authentication/),
    });
  });

  it('a slot made with the older, larger scrypt parameters (N=2^17, r=8: 128 MiB) still derives its key', async () => {
    const salt = Buffer.alloc(16, 3).toString('base64');
    const derived = await deriveKey('older slot', { N: 2 ** 17, r: 8, p: 1, salt });
    expect(derived.length).toBe(32);
  }, 30_000);

  it('a header whose chunk size differs from the manifest tells the operator not to restore; a matching one reads', async () => {
    const plain = randomBytes(CHUNK + 3);
    const sealed = await encrypt(plain);
    const out: Buffer[] = [];
    await pipeline(Readable.from([sealed]), new DecryptStream(key, 'b1/payload', 'payload.enc', CHUNK), async (source: AsyncIterable<Buffer>) => {
      for await (const part of source) out.push(part);
    });
    expect(Buffer.concat(out)).toEqual(plain);
    await expect(
      pipeline(Readable.from([sealed]), new DecryptStream(key, 'b1/payload', 'payload.enc', CHUNK * 2), async (source: AsyncIterable<Buffer>) => {
        for await (const _ of source) void _;
      }),
    ).rejects.toMatchObject({ code: 'BAD_DATA', hint: expect.stringMatching(/Do not restore from this file/) });
  });
});
