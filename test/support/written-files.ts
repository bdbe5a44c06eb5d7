// The suite-wide secret scan of every file the tool writes. Test code records here the
// directories the CLI ran in and wrote to (each sandbox, the XDG and STORAGE_* locations a run
// was given) and the files the test itself wrote (a config holding a password on purpose); the
// global teardown walks those directories and greps every other file for the suite's secrets.
// Records are lines appended to one file per test process, so they survive the process.
import fs from 'node:fs';
import path from 'node:path';
import { WRITTEN_LOG_DIR } from './paths.js';

type Record = { root: string } | { own: string };

function record(entry: Record): void {
  fs.mkdirSync(WRITTEN_LOG_DIR, { recursive: true });
  fs.appendFileSync(path.join(WRITTEN_LOG_DIR, `${process.pid}.jsonl`), `${JSON.stringify(entry)}\n`);
}

/** A directory the CLI may write to: scanned at teardown. */
export function recordRoot(dir: string): void {
  record({ root: path.resolve(dir) });
}

/** A file the test wrote itself (a config with a password in it, a wrapper's own log): not scanned. */
export function recordOwnFile(file: string): void {
  record({ own: path.resolve(file) });
}

/** Environment variables that name where the tool writes (directories, or files whose directory it writes in). */
const WRITE_LOCATIONS = [
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_STATE_HOME',
  'XDG_CACHE_HOME',
  'STORAGE_AUDIT_DIR',
  'STORAGE_VAULT',
  'STORAGE_SNAPSHOT_CATALOG',
  'STORAGE_FAILOVER_HISTORY',
];

/** Records where a CLI run may write: its working directory (also its HOME) and the locations its environment names. */
export function recordRun(cwd: string, env: { [name: string]: string | undefined }): void {
  recordRoot(cwd);
  for (const name of WRITE_LOCATIONS) {
    const value = env[name];
    if (!value || !path.isAbsolute(value)) continue;
    const isDir = name.startsWith('XDG_') || name.endsWith('_DIR');
    recordRoot(isDir ? value : path.dirname(value));
  }
  // The config a run was pointed at is the test's input, not the tool's output.
  if (env.STORAGE_CONFIG) recordOwnFile(path.resolve(cwd, env.STORAGE_CONFIG));
}

export interface ScanResult {
  leaks: string[];
  files: number;
  bytes: number;
  /** Big payload files skipped because they are ciphertext (they start with the encrypted format's magic). */
  skippedEncrypted: number;
  unreadable: string[];
}

const ENCRYPTED_MAGIC = Buffer.from('STGENC1\0', 'latin1');
/** Encrypted payloads above this size are not read (ciphertext holds no password); everything else is. */
const SKIP_ENCRYPTED_ABOVE = 4 * 1024 * 1024;
const PIECE = 8 * 1024 * 1024;

/** What the test processes recorded: the directories to scan and the test's own files. */
export function readRecords(): { roots: string[]; own: Set<string> } {
  const roots = new Set<string>();
  const own = new Set<string>();
  if (!fs.existsSync(WRITTEN_LOG_DIR)) return { roots: [], own };
  for (const file of fs.readdirSync(WRITTEN_LOG_DIR)) {
    for (const line of fs.readFileSync(path.join(WRITTEN_LOG_DIR, file), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const entry = JSON.parse(line) as Record;
      if ('root' in entry) roots.add(entry.root);
      else own.add(entry.own);
    }
  }
  return { roots: [...roots], own };
}

/** Whether `file` (of `size` bytes) holds any of `secrets`; read in pieces that overlap by a secret's length. */
function fileHolds(file: string, size: number, secrets: Buffer[]): string | undefined {
  const overlap = Math.max(...secrets.map((secret) => secret.length)) - 1;
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(size, PIECE) + overlap);
    let kept = 0;
    for (let position = 0; ;) {
      const read = fs.readSync(fd, buffer, kept, buffer.length - kept, position);
      if (read === 0) return undefined;
      position += read;
      const view = buffer.subarray(0, kept + read);
      for (const secret of secrets) if (view.includes(secret)) return secret.toString('utf8');
      kept = Math.min(overlap, view.length);
      view.copyWithin(0, view.length - kept);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function startsWithMagic(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(ENCRYPTED_MAGIC.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && head.equals(ENCRYPTED_MAGIC);
  } finally {
    fs.closeSync(fd);
  }
}

/** Walks every directory of `roots` (symbolic links are not followed) and greps every file not in `own`. */
export function scanFiles(roots: string[], own: Set<string>, secrets: string[]): ScanResult {
  const needles = secrets.map((secret) => Buffer.from(secret, 'utf8'));
  const result: ScanResult = { leaks: [], files: 0, bytes: 0, skippedEncrypted: 0, unreadable: [] };
  const seen = new Set<string>();
  const walk = (dir: string): void => {
    if (seen.has(dir)) return;
    seen.add(dir);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') result.unreadable.push(`${dir}: ${(error as Error).message}`);
      return;
    }
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile() && !own.has(file)) {
        try {
          const { size } = fs.statSync(file);
          if (size > SKIP_ENCRYPTED_ABOVE && startsWithMagic(file)) {
            result.skippedEncrypted++;
            continue;
          }
          result.files++;
          result.bytes += size;
          const secret = size > 0 ? fileHolds(file, size, needles) : undefined;
          if (secret) result.leaks.push(`${file}: contains the test secret ${secret.slice(0, 6)}…`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') result.unreadable.push(`${file}: ${(error as Error).message}`);
        }
      }
    }
  };
  for (const root of roots) walk(root);
  return result;
}

/** Scans what the suite's test processes recorded. */
export function scanWrittenFiles(secrets: string[]): ScanResult {
  const { roots, own } = readRecords();
  return scanFiles(roots, own, secrets);
}
