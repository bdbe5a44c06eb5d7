// The manifest: what a backup holds and how to read it back. A backup is complete only when its
// manifest exists; the manifest carries a MAC under the repository key, so an edited one is caught.
import { createHash, createHmac } from 'node:crypto';
import type { Engine } from '../config/schema.js';
import type { WrappedKey } from './crypto.js';

export const MANIFEST_FORMAT = 1;

export interface PayloadFile {
  /** Path inside the backup directory, e.g. `payload.dump.enc`. */
  name: string;
  /** Bytes on disk. */
  bytes: number;
  /** SHA-256 (hex) of the bytes on disk. */
  sha256: string;
  /** Bytes of the vendor-format data before compression and encryption. */
  plainBytes: number;
  compression: 'gzip' | 'none';
}

export interface BackupManifest {
  format: number;
  id: string;
  store: string;
  engine: Engine;
  database: string;
  /** What the decrypted payload is: `pg_dump-custom`, `sqlite-file`, `mongodump`. */
  payloadFormat: 'pg_dump-custom' | 'sqlite-file' | 'mongodump';
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
  /** Rows per table or documents per collection, counted in the same snapshot as the dump. */
  counts: Record<string, number>;
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

/** True when the manifest is exactly as written (MAC under the repository key when encrypted). */
export function manifestIntact(sealed: SealedManifest, macKey: Buffer | undefined): boolean {
  const { seal, ...manifest } = sealed;
  if (!seal || (macKey && seal.kind !== 'hmac-sha256')) return false;
  return sealManifest(manifest as BackupManifest, macKey).seal.value === seal.value;
}
