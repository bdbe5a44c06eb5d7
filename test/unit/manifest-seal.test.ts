// The manifest's seal and the checks every manifest passes before anything builds a path, a
// buffer or a loop bound from it (src/engine/repository/manifest.ts).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_CHUNK_SIZE } from '../../src/engine/repository/crypto.js';
import { manifestIntact, manifestProblem, sealManifest, type BackupManifest } from '../../src/engine/repository/manifest.js';

function manifest(): BackupManifest {
  return {
    format: 1,
    id: '20261127T000000Z-my-store-abcdef',
    store: 'my-store',
    engine: 'sqlite',
    database: 'app',
    payloadFormat: 'sqlite-file',
    tags: ['a', 'b'],
    startedAt: '2026-11-27T00:00:00.000Z',
    finishedAt: '2026-11-27T00:00:01.000Z',
    durationMs: 1000,
    tool: { name: 'storage', version: '0.1.0' },
    server: { version: '3.45.0' },
    source: 'data/app.db',
    cipher: 'aes-256-gcm-chunked',
    chunkSize: 1024 * 1024,
    files: [{ name: 'payload.sqlite.zst.enc', bytes: 10, sha256: '00', plainBytes: 20, compression: 'zstd' }],
    originalBytes: 20,
    storedBytes: 10,
    counts: { events: 3 },
  };
}

const tenant = () => ({
  name: 'acme',
  container: 'tenant_acme',
  status: 'active',
  createdAt: '2026-11-27T00:00:00.000Z',
  ledger: [{ name: '001_init', checksum: 'abc', appliedAt: '2026-11-27T00:00:00.000Z' }],
});

describe('manifest seal', () => {
  it('with the repository key: an HMAC that only that key reproduces; without one a plain SHA-256', () => {
    const key = randomBytes(32);
    const sealed = sealManifest(manifest(), key);
    expect(sealed.seal.kind).toBe('hmac-sha256');
    expect(sealed.seal.value).toMatch(/^[0-9a-f]{64}$/);
    expect(manifestIntact(sealed, key)).toBe(true);
    expect(manifestIntact(sealed, randomBytes(32))).toBe(false);
    // An HMAC-sealed manifest is not accepted where a plain seal is expected, and the other way round.
    expect(manifestIntact(sealed, undefined)).toBe(false);
    const plain = sealManifest(manifest(), undefined);
    expect(plain.seal.kind).toBe('sha256');
    expect(manifestIntact(plain, undefined)).toBe(true);
    expect(manifestIntact(plain, key)).toBe(false);
    expect(plain.seal.value).not.toBe(sealed.seal.value);
  });

  it('does not depend on key order, and catches a change to any field, nested ones and array order included', () => {
    const key = randomBytes(32);
    const sealed = sealManifest(manifest(), key);
    const reordered = Object.fromEntries(Object.entries(sealed).reverse()) as typeof sealed;
    expect(manifestIntact(reordered, key)).toBe(true);
    const edits: Array<(m: typeof sealed) => void> = [
      (m) => (m.counts.events = 4),
      (m) => (m.files[0].sha256 = '01'),
      (m) => (m.files[0].bytes = 11),
      (m) => (m.tags = ['b', 'a']),
      (m) => (m.server.version = '3.45.1'),
      (m) => (m.source = 'data/other.db'),
      (m) => ((m as unknown as Record<string, unknown>).extra = null),
      (m) => (m.seal = { kind: 'hmac-sha256', value: m.seal.value.slice(0, 62) }),
      (m) => (m.seal = { kind: 'hmac-sha256', value: `${m.seal.value}00` }),
      (m) => (m.seal = undefined as never),
      (m) => (m.seal = { kind: 'hmac-sha256', value: 42 as unknown as string }),
      // An array turned into an object with the same entries is a change too.
      (m) => (m.files = { ...m.files } as never),
      (m) => (m.tags = { 0: 'a', 1: 'b' } as never),
    ];
    for (const edit of edits) {
      const copy = structuredClone(sealed);
      edit(copy);
      expect(manifestIntact(copy, key)).toBe(false);
    }
  });
});

describe('manifestProblem', () => {
  const problem = (edit: (m: BackupManifest & Record<string, unknown>) => void) => {
    const m = manifest() as BackupManifest & Record<string, unknown>;
    edit(m);
    return manifestProblem(m);
  };

  it('a sound manifest has none, with or without a chunk size or a tenant', () => {
    expect(manifestProblem(manifest())).toBeUndefined();
    expect(problem((m) => delete m.chunkSize)).toBeUndefined();
    expect(problem((m) => (m.chunkSize = MAX_CHUNK_SIZE))).toBeUndefined();
    expect(problem((m) => (m.chunkSize = 1))).toBeUndefined();
    expect(problem((m) => (m.tenant = tenant() as never))).toBeUndefined();
    expect(problem((m) => (m.tenant = { ...tenant(), status: 'suspended' } as never))).toBeUndefined();
    expect(problem((m) => (m.files = []))).toBeUndefined();
    expect(problem((m) => (m.files[0].bytes = 0))).toBeUndefined();
  });

  it('names what is impossible', () => {
    expect(problem((m) => (m.id = 5 as never))).toBe('lacks its id, store or database');
    expect(problem((m) => (m.store = undefined as never))).toBe('lacks its id, store or database');
    expect(problem((m) => (m.database = null as never))).toBe('lacks its id, store or database');
    expect(problem((m) => (m.store = 'other'))).toBe('names store "other", which is not the store in its id');
    expect(problem((m) => (m.payloadFormat = 'tar' as never))).toBe('has an unknown payload format "tar"');
    expect(problem((m) => (m.startedAt = 'yesterday'))).toBe('has no valid start time');
    expect(problem((m) => (m.files = 'payload' as never))).toBe('has no list of files');
    expect(problem((m) => (m.files = [null as never]))).toBe('has no list of files');
    expect(problem((m) => (m.files = ['payload.x' as never]))).toBe('has no list of files');
    for (const name of ['../payload.x', 'payload./x', 'x/payload.y', 'payload.', 'payload.a\\b', 'payload.a\0b', 'PAYLOAD.x', 'data.x'])
      expect(problem((m) => (m.files[0].name = name))).toBe(`names a payload file "${name}" outside the backup's directory`);
    expect(problem((m) => (m.files[0].name = 7 as never))).toBe('names a payload file "7" outside the backup\'s directory');
    expect(problem((m) => (m.files[0].bytes = -1))).toBe('gives impossible sizes for payload.sqlite.zst.enc');
    expect(problem((m) => (m.files[0].bytes = 1.5))).toBe('gives impossible sizes for payload.sqlite.zst.enc');
    expect(problem((m) => (m.files[0].plainBytes = 2 ** 60))).toBe('gives impossible sizes for payload.sqlite.zst.enc');
    expect(problem((m) => (m.files[0].plainBytes = '20' as never))).toBe('gives impossible sizes for payload.sqlite.zst.enc');
    expect(problem((m) => (m.files[0].sha256 = undefined as never))).toBe('gives impossible sizes for payload.sqlite.zst.enc');
    for (const chunkSize of [0, -1, 1.5, MAX_CHUNK_SIZE + 1, '1024' as never])
      expect(problem((m) => (m.chunkSize = chunkSize))).toBe(`gives an impossible encryption chunk size (${String(chunkSize)})`);
    expect(problem((m) => (m.counts = undefined as never))).toBe('has no row counts');
    expect(problem((m) => (m.counts = 'many' as never))).toBe('has no row counts');
  });

  it('a tenant whose container could lead outside, or whose ledger or status is impossible', () => {
    for (const container of ['../x', 'a/b', 'a\\b', '.hidden', '', 'a\0b', 7])
      expect(problem((m) => (m.tenant = { ...tenant(), container } as never))).toBe('names its tenant or its container impossibly');
    expect(problem((m) => (m.tenant = null as never))).toBe('names its tenant or its container impossibly');
    expect(problem((m) => (m.tenant = { ...tenant(), name: 1 } as never))).toBe('names its tenant or its container impossibly');
    expect(problem((m) => (m.tenant = { ...tenant(), ledger: 'x' } as never))).toBe("has no valid list of the tenant's migrations");
    expect(problem((m) => (m.tenant = { ...tenant(), ledger: [null] } as never))).toBe("has no valid list of the tenant's migrations");
    expect(problem((m) => (m.tenant = { ...tenant(), ledger: [{ name: 'a' }] } as never))).toBe("has no valid list of the tenant's migrations");
    expect(problem((m) => (m.tenant = { ...tenant(), ledger: [{ checksum: 'a' }] } as never))).toBe("has no valid list of the tenant's migrations");
    expect(problem((m) => (m.tenant = { ...tenant(), ledger: [...tenant().ledger, { name: 'b' }] } as never))).toBe(
      "has no valid list of the tenant's migrations",
    );
    expect(problem((m) => (m.tenant = { ...tenant(), status: 'deleted' } as never))).toBe('gives the tenant an unknown status "deleted"');
  });
});
