// What makes a manifest unusable whatever its seal says: here, how its files were compressed.
import { describe, expect, it } from 'vitest';
import { manifestProblem, type BackupManifest } from '../../src/engine/repository/manifest.js';

function manifest(compression: string): BackupManifest {
  return {
    format: 1,
    id: '20261127T000000Z-lite-abcd',
    store: 'lite',
    engine: 'sqlite',
    database: 'lite',
    payloadFormat: 'sqlite-file',
    tags: [],
    startedAt: '2026-11-27T00:00:00.000Z',
    finishedAt: '2026-11-27T00:00:01.000Z',
    durationMs: 1000,
    tool: { name: 'storage', version: '0.1.0' },
    server: { version: '3.45.0' },
    source: 'data/lite.db',
    cipher: 'none',
    files: [{ name: 'payload.sqlite.zst', bytes: 10, sha256: '00', plainBytes: 20, compression: compression as 'zstd' }],
    originalBytes: 20,
    storedBytes: 10,
    counts: {},
  };
}

describe('manifest compression', () => {
  it('zstd, gzip and none are read; anything else is refused, not read as uncompressed', () => {
    for (const known of ['zstd', 'gzip', 'none']) expect(manifestProblem(manifest(known))).toBeUndefined();
    expect(manifestProblem(manifest('lz4'))).toMatch(/unknown compression "lz4" for payload\.sqlite\.zst/);
    expect(manifestProblem(manifest(undefined as unknown as string))).toMatch(/unknown compression/);
  });
});

describe('manifest fields', () => {
  it('rowCounts is exact, estimate or absent; jobs an integer from 1 to 64', () => {
    const base = manifest('zstd');
    for (const rowCounts of ['exact', 'estimate', undefined]) expect(manifestProblem({ ...base, rowCounts } as BackupManifest)).toBeUndefined();
    expect(manifestProblem({ ...base, rowCounts: 'bogus' } as unknown as BackupManifest)).toBe('gives an unknown kind of row counts "bogus"');
    for (const jobs of [1, 64, undefined]) expect(manifestProblem({ ...base, jobs })).toBeUndefined();
    for (const jobs of [0, 65, 1.5]) expect(manifestProblem({ ...base, jobs })).toBe(`gives an impossible number of dump jobs (${jobs})`);
  });
});
