// The backup repository on disk:
//   repo.json                  format, key slot (master key wrapped by the passphrase or key file)
//   backups/<id>/payload.*     compressed + encrypted vendor-format data
//   backups/<id>/manifest.json written last, atomically: its presence means "complete"
//   backups/<id>/verified.json the latest verification result and when each level last passed
//   locks/<store>.lock         one run per store
//   tmp/                       work in progress, swept by later runs
import { hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors.js';
import { KEY_BYTES, deriveKey, newScryptParams, unwrapKey, wrapKey, type ScryptParams, type WrappedKey } from './crypto.js';
import { ensurePrivateDir } from '../private-dir.js';
import { writeFileAtomic } from './files.js';
import { readKeyFile, type KeySource } from './keys.js';
import { StoreLock, processAlive } from './lock.js';
import { manifestIntact, sealManifest, type BackupManifest, type SealedManifest } from './manifest.js';

const REPO_FORMAT = 1;

interface KeySlot {
  kind: 'passphrase' | 'keyfile';
  kdf?: ScryptParams;
  salt?: string;
  wrapped: WrappedKey;
}

interface RepoFile {
  format: number;
  id: string;
  createdAt: string;
  encryption: 'aes-256-gcm' | 'none';
  slots: KeySlot[];
}

/** Verification levels, weakest first: each one includes what the ones before it check. */
export const VERIFY_LEVELS = ['files', 'read-data', 'restore-test'] as const;
export type VerifyLevel = (typeof VERIFY_LEVELS)[number];

export interface VerificationRecord {
  level: VerifyLevel;
  ok: boolean;
  at: string;
  problems: string[];
  /** When each level last passed; a failure at a level forgets the passes of that level and stronger ones. */
  passed?: Partial<Record<VerifyLevel, string>>;
}

/** The record to keep after `next`: the latest result, plus what earlier passes still stand. */
export function mergeVerification(previous: VerificationRecord | undefined, next: VerificationRecord): VerificationRecord {
  const passed: Partial<Record<VerifyLevel, string>> = { ...(previous?.passed ?? (previous?.ok ? { [previous.level]: previous.at } : {})) };
  const rank = VERIFY_LEVELS.indexOf(next.level);
  if (next.ok) {
    // A pass at a level is a pass of every weaker level at the same moment.
    for (const level of VERIFY_LEVELS.slice(0, rank + 1)) passed[level] = next.at;
  } else {
    for (const level of VERIFY_LEVELS.slice(rank)) delete passed[level];
  }
  return { ...next, passed };
}

/** The stronger of two verification levels (undefined: none asked). */
export function strongerLevel(a: VerifyLevel | undefined, b: VerifyLevel | undefined): VerifyLevel | undefined {
  if (!a || !b) return a ?? b;
  return VERIFY_LEVELS.indexOf(a) >= VERIFY_LEVELS.indexOf(b) ? a : b;
}

/** Whether a backup's verification record shows a pass at `level` or a stronger one, with no failure since. */
export function passedAtLeast(record: VerificationRecord | undefined, level: VerifyLevel): string | undefined {
  if (!record?.ok) return undefined;
  const passed = record.passed ?? { [record.level]: record.at };
  return VERIFY_LEVELS.slice(VERIFY_LEVELS.indexOf(level))
    .map((stronger) => passed[stronger])
    .filter((at): at is string => at !== undefined)
    .sort()
    .at(-1);
}

export type BackupStatus = 'complete' | 'running' | 'incomplete' | 'damaged';

export interface BackupEntry {
  id: string;
  /** The store it belongs to (from the manifest, or from the id for an incomplete backup). */
  store: string;
  status: BackupStatus;
  manifest?: SealedManifest;
  verification?: VerificationRecord;
  /** For running or incomplete backups: bytes written so far and when the directory was made. */
  progressBytes?: number;
  createdAt: string;
}

/** Where a repository keeps its per-store locks (snapshots take the same locks without opening the repository). */
export function locksDirOf(root: string): string {
  return path.join(root, 'locks');
}

/** Backup ids are `<time>-<store>-<random>`; the store is the middle part. */
export function storeOfBackupId(id: string): string {
  return id.split('-').slice(1, -1).join('-');
}

function kekFromKeyFile(bytes: Buffer, salt: string): Buffer {
  return Buffer.from(hkdfSync('sha256', bytes, Buffer.from(salt, 'base64'), 'storage backup repository key slot', KEY_BYTES));
}

function wrongKey(root: string, source: KeySource): StorageError {
  const what = source.kind === 'passphrase' ? `the passphrase from ${source.origin}` : source.kind === 'keyfile' ? `the key file ${source.file}` : 'no key';
  return new StorageError('BAD_DATA', `Cannot open the backup repository ${root} with ${what}: wrong key or passphrase.`, {
    hint: 'Use the passphrase or key file this repository was created with (STORAGE_BACKUP_PASSPHRASE, backup.encryption in the config). Nothing was written.',
  });
}

export class BackupRepository {
  private constructor(
    readonly root: string,
    readonly masterKey: Buffer | undefined,
    readonly repoId: string,
  ) {}

  get encrypted(): boolean {
    return this.masterKey !== undefined;
  }

  get backupsDir(): string {
    return path.join(this.root, 'backups');
  }

  get locksDir(): string {
    return locksDirOf(this.root);
  }

  get tmpDir(): string {
    return path.join(this.root, 'tmp');
  }

  /** Opens the repository, creating it on first use. */
  static async open(root: string, source: KeySource, onNotice: (message: string) => void = () => undefined): Promise<BackupRepository> {
    const file = path.join(root, 'repo.json');
    if (!fs.existsSync(file)) return BackupRepository.init(root, source, onNotice);
    const repo = JSON.parse(fs.readFileSync(file, 'utf8')) as RepoFile;
    if (repo.format !== REPO_FORMAT) {
      throw new StorageError('BAD_DATA', `The backup repository ${root} has format ${repo.format}; this tool reads format ${REPO_FORMAT}.`, {
        hint: 'Use the storage version that wrote it.',
      });
    }
    if (repo.encryption === 'none') {
      if (source.kind !== 'none') onNotice(`The backup repository ${root} is NOT encrypted (it was created with encryption off).`);
      return new BackupRepository(root, undefined, repo.id);
    }
    if (source.kind === 'none') {
      throw new StorageError('CONFIG_INVALID', `The backup repository ${root} is encrypted, but the config turns encryption off.`, {
        hint: 'Remove `encryption: { enabled: false }` and give the repository key. Nothing was written.',
      });
    }
    if (!repo.slots.some((slot) => slot.kind === source.kind)) {
      const needs = repo.slots.map((slot) => (slot.kind === 'passphrase' ? 'a passphrase' : 'a key file')).join(' or ');
      throw new StorageError('CONFIG_INVALID', `The backup repository ${root} is opened with ${needs}, and none was given.`, {
        hint:
          repo.slots[0]?.kind === 'passphrase'
            ? 'Set STORAGE_BACKUP_PASSPHRASE, or backup.encryption.passphrase in the config. Nothing was written.'
            : 'Set backup.encryption.keyFile to the key file this repository was created with. Nothing was written.',
      });
    }
    for (const slot of repo.slots) {
      let kek: Buffer | undefined;
      if (slot.kind === 'passphrase' && source.kind === 'passphrase' && slot.kdf) kek = await deriveKey(source.passphrase, slot.kdf);
      if (slot.kind === 'keyfile' && source.kind === 'keyfile' && slot.salt)
        kek = kekFromKeyFile(readKeyFile({ ...source, create: false }, onNotice), slot.salt);
      const master = kek && unwrapKey(kek, slot.wrapped, `storage repository ${repo.id}`);
      if (master) return new BackupRepository(root, master, repo.id);
    }
    throw wrongKey(root, source);
  }

  private static async init(root: string, source: KeySource, onNotice: (message: string) => void): Promise<BackupRepository> {
    const id = randomBytes(8).toString('hex');
    let slots: KeySlot[] = [];
    let master: Buffer | undefined;
    if (source.kind !== 'none') {
      master = randomBytes(KEY_BYTES);
      if (source.kind === 'passphrase') {
        const kdf = newScryptParams();
        slots = [{ kind: 'passphrase', kdf, wrapped: wrapKey(await deriveKey(source.passphrase, kdf), master, `storage repository ${id}`) }];
      } else {
        const salt = randomBytes(16).toString('base64');
        slots = [{ kind: 'keyfile', salt, wrapped: wrapKey(kekFromKeyFile(readKeyFile(source, onNotice), salt), master, `storage repository ${id}`) }];
      }
    }
    for (const dir of ['backups', 'locks', 'tmp']) ensurePrivateDir(path.join(root, dir));
    const repo: RepoFile = { format: REPO_FORMAT, id, createdAt: new Date().toISOString(), encryption: master ? 'aes-256-gcm' : 'none', slots };
    writeFileAtomic(path.join(root, 'repo.json'), `${JSON.stringify(repo, null, 2)}\n`);
    onNotice(
      `Initialised the backup repository ${root} (${master ? `encrypted; key from ${source.kind === 'passphrase' ? source.origin : (source as { file: string }).file}` : 'NOT encrypted: the config turns encryption off'}).`,
    );
    return new BackupRepository(root, master, id);
  }

  private macKey(): Buffer | undefined {
    return this.masterKey ? Buffer.from(hkdfSync('sha256', this.masterKey, Buffer.alloc(0), 'storage manifest mac', KEY_BYTES)) : undefined;
  }

  newBackupId(store: string, now = new Date()): string {
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return `${stamp}-${store}-${randomBytes(3).toString('hex')}`;
  }

  backupDir(id: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(id) || id.includes('..'))
      throw new StorageError('USAGE', `"${id}" is not a backup id.`, { hint: 'See `storage backup list`.' });
    return path.join(this.backupsDir, id);
  }

  /** A fresh data key for one backup, and its wrapped form for the manifest. */
  newDataKey(id: string): { key: Buffer; wrapped: WrappedKey } | undefined {
    if (!this.masterKey) return undefined;
    const key = randomBytes(KEY_BYTES);
    return { key, wrapped: wrapKey(this.masterKey, key, `storage backup ${id}`) };
  }

  dataKey(manifest: BackupManifest): Buffer | undefined {
    if (manifest.cipher === 'none') return undefined;
    if (!this.masterKey || !manifest.dataKey) throw new StorageError('BAD_DATA', `Backup ${manifest.id} is encrypted but this repository has no key for it.`);
    const key = unwrapKey(this.masterKey, manifest.dataKey, `storage backup ${manifest.id}`);
    if (!key)
      throw new StorageError('BAD_DATA', `The data key of backup ${manifest.id} does not open: the manifest was altered or belongs to another repository.`, {
        hint: 'Do not restore from this backup.',
      });
    return key;
  }

  writeManifest(manifest: BackupManifest): SealedManifest {
    const sealed = sealManifest(manifest, this.macKey());
    writeFileAtomic(path.join(this.backupDir(manifest.id), 'manifest.json'), `${JSON.stringify(sealed, null, 2)}\n`);
    return sealed;
  }

  /** The manifest of a complete backup; BAD_DATA when it was edited. */
  readManifest(id: string): SealedManifest {
    const file = path.join(this.backupDir(id), 'manifest.json');
    if (!fs.existsSync(file)) {
      const exists = fs.existsSync(this.backupDir(id));
      throw new StorageError(
        exists ? 'BAD_DATA' : 'NOT_FOUND',
        exists ? `Backup ${id} is incomplete: it has no manifest.` : `No backup ${id} in ${this.root}.`,
        {
          hint: exists ? 'An interrupted run left it; `storage backup prune` sweeps it.' : 'See `storage backup list` for the ids.',
        },
      );
    }
    let sealed: SealedManifest;
    try {
      sealed = JSON.parse(fs.readFileSync(file, 'utf8')) as SealedManifest;
    } catch {
      throw new StorageError('BAD_DATA', `manifest.json of backup ${id} is not valid JSON.`, { hint: 'Do not restore from this backup.' });
    }
    if (!manifestIntact(sealed, this.macKey())) {
      throw new StorageError('BAD_DATA', `manifest.json of backup ${id} fails its integrity check: it was edited.`, {
        hint: 'Do not restore from this backup.',
      });
    }
    return sealed;
  }

  recordVerification(id: string, record: VerificationRecord): VerificationRecord {
    const merged = mergeVerification(this.readVerification(id), record);
    writeFileAtomic(path.join(this.backupDir(id), 'verified.json'), `${JSON.stringify(merged, null, 2)}\n`);
    return merged;
  }

  readVerification(id: string): VerificationRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.backupDir(id), 'verified.json'), 'utf8')) as VerificationRecord;
    } catch {
      return undefined;
    }
  }

  list(lockedStores: Set<string> = this.lockedStores()): BackupEntry[] {
    if (!fs.existsSync(this.backupsDir)) return [];
    const entries: BackupEntry[] = [];
    for (const id of fs.readdirSync(this.backupsDir).sort()) {
      const dir = path.join(this.backupsDir, id);
      const stat = fs.statSync(dir);
      if (!stat.isDirectory()) continue;
      const createdAt = stat.birthtime.toISOString();
      if (fs.existsSync(path.join(dir, 'manifest.json'))) {
        try {
          const manifest = this.readManifest(id);
          entries.push({ id, store: manifest.store, status: 'complete', manifest, verification: this.readVerification(id), createdAt });
        } catch {
          entries.push({ id, store: storeOfBackupId(id), status: 'damaged', createdAt });
        }
      } else {
        const store = storeOfBackupId(id);
        const progressBytes = fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
        entries.push({ id, store, status: lockedStores.has(store) ? 'running' : 'incomplete', progressBytes, createdAt });
      }
    }
    return entries;
  }

  /** Stores whose lock is held by a live run (a killed run's lock does not count). */
  lockedStores(): Set<string> {
    if (!fs.existsSync(this.locksDir)) return new Set();
    const stores = fs
      .readdirSync(this.locksDir)
      .filter((entry) => entry.endsWith('.lock'))
      .map((entry) => entry.slice(0, -'.lock'.length));
    return new Set(stores.filter((store) => StoreLock.liveHolder(this.locksDir, store)));
  }

  /** A scratch directory for work in progress (0700), removed by the caller or by a later sweep. */
  scratch(label: string): string {
    ensurePrivateDir(this.tmpDir);
    return fs.mkdtempSync(path.join(this.tmpDir, `${label}-${process.pid}-`));
  }

  /** Removes scratch directories of runs that are no longer alive. */
  sweepScratch(): number {
    if (!fs.existsSync(this.tmpDir)) return 0;
    let swept = 0;
    for (const name of fs.readdirSync(this.tmpDir)) {
      const pid = Number(name.split('-').at(-2));
      if (!(pid > 0 && processAlive(pid))) {
        fs.rmSync(path.join(this.tmpDir, name), { recursive: true, force: true });
        swept++;
      }
    }
    return swept;
  }
}
