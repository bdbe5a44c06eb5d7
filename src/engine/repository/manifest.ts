// The manifest: what a backup holds and how to read it back. A backup is complete only when its
// manifest exists; the manifest carries a MAC under a repository key, so an edited one is caught
// (format-1 unencrypted repositories sealed it with a plain SHA-256, which only catches accidents:
// their manifests are read as untrusted input, like every manifest is checked before use).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Engine } from '../config/schema.js';
import type { BackedUpTenant } from '../engines/spec.js';
import { MAX_CHUNK_SIZE, type WrappedKey } from './crypto.js';

export const MANIFEST_FORMAT = 1;
/** A manifest is a few kB (one line per payload file and per table); anything near this is not one. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const PAYLOAD_FORMATS = ['pg_dump-custom', 'pg_dump-directory', 'sqlite-file', 'mongodump'];

/** How a payload file was compressed before it was encrypted (`backup.compression`; zstd since it became the default). */
export type Compression = 'zstd' | 'gzip' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['zstd', 'gzip', 'none'];

export interface PayloadFile {
  /** Path inside the backup directory, e.g. `payload.dump.enc`. */
  name: string;
  /** Bytes on disk. */
  bytes: number;
  /** SHA-256 (hex) of the bytes on disk. */
  sha256: string;
  /** Bytes of the vendor-format data before compression and encryption. */
  plainBytes: number;
  compression: Compression;
}

export interface BackupManifest {
  format: number;
  id: string;
  store: string;
  engine: Engine;
  database: string;
  /** What the decrypted payload is: `pg_dump-custom`, `pg_dump-directory` (one payload file per archive file, `--jobs`), `sqlite-file`, `mongodump`. */
  payloadFormat: 'pg_dump-custom' | 'pg_dump-directory' | 'sqlite-file' | 'mongodump';
  /** Dump jobs of a `pg_dump-directory` backup (`backup create --jobs`); restores default to as many. */
  jobs?: number;
  tags: string[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  tool: { name: string; version: string };
  server: { version: string; dumpTool?: string };
  source: string;
  cipher: 'aes-256-gcm-chunked' | 'none';
  chunkSize?: number;
  dataKey?: WrappedKey;
  files: PayloadFile[];
  originalBytes: number;
  storedBytes: number;
  /** Rows per table or documents per collection, counted in the same snapshot as the dump (or estimated: see rowCounts). */
  counts: Record<string, number>;
  /** How `counts` were taken: exact (the default where absent) or the planner's estimates (PostgreSQL, `backup.rowCounts: estimate`). */
  rowCounts?: 'exact' | 'estimate';
  /** A backup of one tenant (`backup create --tenant`): the tenant as the catalog had it. Absent: the whole store. */
  tenant?: BackedUpTenant;
}

export interface SealedManifest extends BackupManifest {
  seal: { kind: 'hmac-sha256' | 'sha256'; value: string };
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sealManifest(manifest: BackupManifest, macKey: Buffer | undefined): SealedManifest {
  const body = canonical(manifest);
  const seal = macKey
    ? { kind: 'hmac-sha256' as const, value: createHmac('sha256', macKey).update(body).digest('hex') }
    : { kind: 'sha256' as const, value: createHash('sha256').update(body).digest('hex') };
  return { ...manifest, seal };
}

/** True when the manifest is exactly as written (a MAC under the repository's seal key when it has one). */
export function manifestIntact(sealed: SealedManifest, macKey: Buffer | undefined): boolean {
  const { seal, ...manifest } = sealed;
  // Stryker disable next-line ConditionalExpression: the kind check is defence in depth; a seal of the other kind fails the value comparison below anyway
  if (!seal || typeof seal.value !== 'string' || seal.kind !== (macKey ? 'hmac-sha256' : 'sha256')) return false;
  const expected = Buffer.from(sealManifest(manifest as BackupManifest, macKey).seal.value, 'hex');
  const given = Buffer.from(seal.value, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * What makes a manifest unusable whatever its seal says, or undefined: everything later code builds
 * a path, a buffer or a loop bound from is checked here (file names are plain names inside the
 * backup's directory, sizes are counts, the chunk size is bounded, the store is the one in the id).
 */
export function manifestProblem(manifest: BackupManifest): string | undefined {
  if (typeof manifest.id !== 'string' || typeof manifest.store !== 'string' || typeof manifest.database !== 'string') return 'lacks its id, store or database';
  if (manifest.id.split('-').slice(1, -1).join('-') !== manifest.store) return `names store "${manifest.store}", which is not the store in its id`;
  if (!PAYLOAD_FORMATS.includes(manifest.payloadFormat)) return `has an unknown payload format "${String(manifest.payloadFormat)}"`;
  if (Number.isNaN(Date.parse(manifest.startedAt))) return 'has no valid start time';
  if (!Array.isArray(manifest.files) || !manifest.files.every((file) => file && typeof file === 'object')) return 'has no list of files';
  for (const file of manifest.files) {
    // Stryker disable next-line ConditionalExpression: equivalent; a name that is not a string never matches the pattern either
    if (typeof file.name !== 'string' || !/^payload\.[^/\\\0]+$/.test(file.name))
      return `names a payload file "${String(file.name)}" outside the backup's directory`;
    if (!isCount(file.bytes) || !isCount(file.plainBytes) || typeof file.sha256 !== 'string') return `gives impossible sizes for ${file.name}`;
    if (!COMPRESSIONS.includes(file.compression)) return `gives an unknown compression "${String(file.compression)}" for ${file.name}`;
  }
  if (manifest.chunkSize !== undefined && !(Number.isInteger(manifest.chunkSize) && manifest.chunkSize! > 0 && manifest.chunkSize! <= MAX_CHUNK_SIZE))
    return `gives an impossible encryption chunk size (${String(manifest.chunkSize)})`;
  if (!manifest.counts || typeof manifest.counts !== 'object') return 'has no row counts';
  if (manifest.rowCounts !== undefined && manifest.rowCounts !== 'exact' && manifest.rowCounts !== 'estimate')
    return `gives an unknown kind of row counts "${String(manifest.rowCounts)}"`;
  if (manifest.jobs !== undefined && !(Number.isInteger(manifest.jobs) && manifest.jobs >= 1 && manifest.jobs <= 64))
    return `gives an impossible number of dump jobs (${String(manifest.jobs)})`;
  if (manifest.tenant !== undefined) {
    const tenant = manifest.tenant;
    // The container becomes a file name (SQLite) or an identifier: a plain name, nothing that leads elsewhere.
    if (
      !tenant ||
      typeof tenant.name !== 'string' ||
      typeof tenant.container !== 'string' ||
      !/^[^/\\\0]+$/.test(tenant.container) ||
      tenant.container.startsWith('.')
    )
      return 'names its tenant or its container impossibly';
    if (!Array.isArray(tenant.ledger) || !tenant.ledger.every((entry) => entry && typeof entry.name === 'string' && typeof entry.checksum === 'string'))
      return "has no valid list of the tenant's migrations";
    if (tenant.status !== 'active' && tenant.status !== 'suspended') return `gives the tenant an unknown status "${String(tenant.status)}"`;
  }
  return undefined;
}
