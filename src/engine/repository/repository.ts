// The backup repository on disk:
//   repo.json                  format, key slots (master key wrapped by the passphrase or key file);
//                              for an unencrypted repository, the key its manifests are sealed with
//   keys/<repo id>.json        a copy of repo.json (as restic keeps keys/): a lost or damaged
//                              repo.json is recovered from it, never replaced by a new repository
//   backups/<id>/payload.*     compressed + encrypted vendor-format data
//   backups/<id>/manifest.json written last, atomically: its presence means "complete"
//   backups/<id>/verified.json the latest verification result and when each level last passed
//   locks/<store>.lock         one run per store
//   tmp/                       work in progress, swept by later runs
import { hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StorageError } from '../errors.js';
import { fileSystemFailure } from '../system/fs-errors.js';
import { KEY_BYTES, deriveKey, newScryptParams, unwrapKey, wrapKey, type ScryptParams, type WrappedKey } from './crypto.js';
import { ensurePrivateDir } from '../system/private-dir.js';
import { writeFileAtomic, writeFileExclusive } from '../system/files.js';
import { readKeyFile, type KeySource } from './keys.js';
import { StoreLock } from '../store-lock.js';
import { RepositoryLayout, isBackupId, storeOfBackupId } from './layout.js';
import { brokenLink } from '../system/missing-file.js';
import { MAX_MANIFEST_BYTES, manifestIntact, manifestProblem, sealManifest, type BackupManifest, type SealedManifest } from './manifest.js';
import { isFutureDated } from './retention.js';

/**
 * The format new repositories are written in. 2: unencrypted repositories seal manifests with a
 * random key kept in repo.json (format 1 sealed them with a plain SHA-256 anyone can recompute),
 * and keys/ holds a copy of repo.json. Format 1 repositories are still read as they are.
 */
const REPO_FORMAT = 2;
const READABLE_FORMATS = [1, 2];

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
  /** Unencrypted repositories of format 2: the random key (base64) manifests are sealed with. */
  sealKey?: string;
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

/**
 * complete: sealed manifest, readable. future-dated: complete, but taken with a clock ahead of this
 * host's (retention never counts it as the newest; validate fails it). damaged: its manifest cannot
 * be read or fails its seal, so nothing about it can be judged. running / incomplete: no manifest
 * yet, with a live run working on it / left by a run that died.
 */
/** The verified column of `backup list`: the strongest level that stands, or the failure, or never. */
export function verificationSummary(record: VerificationRecord | undefined): string {
  if (!record) return 'never';
  if (!record.ok) return `FAILED ${record.level} ${record.at}`;
  const passed = record.passed ?? { [record.level]: record.at };
  const strongest = [...VERIFY_LEVELS].reverse().find((level) => passed[level]);
  return strongest ? `ok ${strongest} ${passed[strongest]}` : 'never';
}

export type BackupStatus = 'complete' | 'future-dated' | 'running' | 'incomplete' | 'damaged';

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
  /** For a damaged backup: why it cannot be read. */
  problem?: string;
}

/** Backups that can be read and judged (complete, or complete but dated in the future). */
export function isReadable(entry: BackupEntry): boolean {
  return entry.status === 'complete' || entry.status === 'future-dated';
}

function kekFromKeyFile(bytes: Buffer, salt: string): Buffer {
  return Buffer.from(hkdfSync('sha256', bytes, Buffer.from(salt, 'base64'), 'storage backup repository key slot', KEY_BYTES));
}

/** The key manifests are sealed (HMAC-SHA-256) with, derived from the master key or an unencrypted repository's seal key. */
function manifestSealKey(key: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'storage manifest mac', KEY_BYTES));
}

function wrongKey(root: string, source: KeySource): StorageError {
  const what = source.kind === 'passphrase' ? `the passphrase from ${source.origin}` : source.kind === 'keyfile' ? `the key file ${source.file}` : 'no key';
  return new StorageError('BAD_DATA', `Cannot open the backup repository ${root} with ${what}: wrong key or passphrase.`, {
    hint: 'Use the passphrase or key file this repository was created with (STORAGE_BACKUP_PASSPHRASE, backup.encryption in the config). Nothing was written.',
  });
}

/** A repository whose key is being unlocked: its layout is usable meanwhile (see BackupRepository.start). */
export interface OpeningRepository {
  layout: RepositoryLayout;
  /** Whether its backups are encrypted (what repo.json says; the key is in `unlocked`). */
  encrypted: boolean;
  unlocked: Promise<BackupRepository>;
}

export interface OpenOptions {
  /** `backup create`: make the repository on first use, and write what an older version did not (keys/). */
  create?: boolean;
}

function repoFileProblem(repo: RepoFile): string | undefined {
  if (!repo || typeof repo !== 'object' || typeof repo.id !== 'string' || !Array.isArray(repo.slots)) return 'is not a repository description';
  if (repo.encryption !== 'none' && repo.encryption !== 'aes-256-gcm') return `names an unknown encryption "${String(repo.encryption)}"`;
  // The master key is only ever stored wrapped in a slot: an encrypted repository without one cannot be opened.
  if (repo.encryption === 'aes-256-gcm' && repo.slots.length === 0) return 'holds no key slot (the wrapped master key)';
  return undefined;
}

/** repo.json, or when it is missing or unreadable, the copy in keys/; undefined when there is neither. */
function readRepoFile(root: string): { repo: RepoFile; from: string; problem?: string } | undefined {
  const main = path.join(root, 'repo.json');
  let problem: string | undefined;
  if (fs.existsSync(main)) {
    try {
      const repo = JSON.parse(fs.readFileSync(main, 'utf8')) as RepoFile;
      problem = repoFileProblem(repo);
      if (!problem) return { repo, from: main };
    } catch (error) {
      // A repo.json that cannot be read (a directory, no permission, an I/O error) is not damage to
      // recover from keys/: the operator is told what is wrong with it, in words.
      if ((error as NodeJS.ErrnoException).code && (error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw fileSystemFailure(error as NodeJS.ErrnoException, main);
      problem = 'is not valid JSON';
    }
  } else problem = 'is missing';
  const keys = path.join(root, 'keys');
  const copies = fs.existsSync(keys) ? fs.readdirSync(keys).filter((name) => name.endsWith('.json')) : [];
  for (const name of copies.sort()) {
    try {
      const repo = JSON.parse(fs.readFileSync(path.join(keys, name), 'utf8')) as RepoFile;
      if (!repoFileProblem(repo)) return { repo, from: path.join(keys, name), problem: `repo.json ${problem}` };
    } catch {
      // Try the next copy.
    }
  }
  if (problem !== 'is missing') {
    throw new StorageError('BAD_DATA', `The backup repository ${root} cannot be opened: repo.json ${problem}, and keys/ holds no readable copy.`, {
      hint: 'Put back repo.json (or keys/<id>.json) from your copy of the repository; without it the backups cannot be read. Nothing was written.',
    });
  }
  return undefined;
}

/** Backup directories already in `backups/` (a repository is "non-empty" when there is one). */
function backupDirectories(root: string): string[] {
  const dir = path.join(root, 'backups');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => !name.startsWith('.')) : [];
}

export class BackupRepository extends RepositoryLayout {
  private constructor(
    root: string,
    readonly masterKey: Buffer | undefined,
    readonly repoId: string,
    /** The key manifests are sealed with; undefined only for format-1 unencrypted repositories (plain SHA-256 seals). */
    private readonly sealKey: Buffer | undefined,
  ) {
    super(root);
  }

  get encrypted(): boolean {
    return this.masterKey !== undefined;
  }

  /** Whether a manifest's seal proves anything: false for format-1 unencrypted repositories, whose SHA-256 seal anyone can recompute. */
  get sealsAreKeyed(): boolean {
    return this.sealKey !== undefined;
  }

  /** Opens the repository; with `create`, makes it on first use (never over backups already there). */
  static async open(...args: Parameters<typeof BackupRepository.start>): Promise<BackupRepository> {
    return (await BackupRepository.start(...args)).unlocked;
  }

  /**
   * Starts opening the repository: what repo.json says is checked at once (a repository that
   * cannot be opened with this key source fails here), and its key is unlocked meanwhile, in
   * `unlocked` (a wrong passphrase rejects it). A new repository is made before this returns.
   */
  static async start(
    root: string,
    source: KeySource,
    onNotice: (message: string) => void = () => undefined,
    options: OpenOptions = {},
  ): Promise<OpeningRepository> {
    // A repository on a volume that is not mounted, reached through a link: never made afresh in its place.
    const broken = brokenLink(root);
    if (broken)
      throw new StorageError('NOT_FOUND', `The backup repository ${root} is ${broken}.`, {
        hint: 'Mount or restore what the link points to (or mend the link, or point backup.repository elsewhere), then run again. Nothing was written.',
      });
    const located = readRepoFile(root);
    if (!located) {
      const existing = backupDirectories(root);
      if (existing.length > 0) {
        // A new repository here would get a new master key: every backup already here would turn
        // unreadable ("damaged"), and a later prune used to delete them all.
        throw new StorageError(
          'BAD_DATA',
          `The backup repository ${root} has no repo.json (and no copy in keys/), but backups/ holds ${existing.length} backup${existing.length === 1 ? '' : 's'}: refusing to create a new repository over them.`,
          {
            hint: 'Put back repo.json (or keys/<id>.json) from your copy of the repository: it holds the wrapped master key, and without it these backups cannot be read. To start afresh instead, point backup.repository at an empty directory. Nothing was written.',
          },
        );
      }
      if (!options.create) {
        throw new StorageError('NOT_FOUND', `There is no backup repository at ${root} yet.`, {
          hint: 'Take a first backup with `storage backup create`, or point backup.repository in the config at an existing repository.',
        });
      }
      const made = await BackupRepository.init(root, source, onNotice);
      return { layout: made, encrypted: made.encrypted, unlocked: Promise.resolve(made) };
    }
    const { repo } = located;
    if (!READABLE_FORMATS.includes(repo.format)) {
      throw new StorageError(
        'BAD_DATA',
        `The backup repository ${root} has format ${repo.format}; this tool reads formats ${READABLE_FORMATS.join(' and ')}.`,
        {
          hint: 'Use the storage version that wrote it.',
        },
      );
    }
    const unlocked = BackupRepository.unlock(root, repo, source, onNotice).then((opened) => {
      BackupRepository.mendRepoFile(root, located, onNotice, options);
      return opened;
    });
    // Awaited by whoever uses the repository; this only keeps a rejection nobody waits for yet from counting as unhandled.
    unlocked.catch(() => undefined);
    return { layout: new RepositoryLayout(root), encrypted: repo.encryption !== 'none', unlocked };
  }

  /** After a successful unlock: repo.json put back from its copy, or the copy kept (only `backup create` writes). */
  private static mendRepoFile(
    root: string,
    { repo, from, problem }: NonNullable<ReturnType<typeof readRepoFile>>,
    onNotice: (message: string) => void,
    options: OpenOptions,
  ): void {
    if (problem) {
      onNotice(`The backup repository's ${problem}: opened it from its copy ${from}.`);
      if (options.create) {
        writeFileAtomic(path.join(root, 'repo.json'), `${JSON.stringify(repo, null, 2)}\n`);
        onNotice(`Restored ${path.join(root, 'repo.json')} from ${from}.`);
      }
    } else if (options.create) {
      // Also for repositories made before keys/ existed: keep the copy from now on.
      try {
        BackupRepository.keepKeyCopy(root, repo);
      } catch (error) {
        onNotice(`Could not keep a copy of repo.json in ${path.join(root, 'keys')}: ${(error as Error).message}`);
      }
    }
  }

  /** Writes keys/<id>.json (a copy of repo.json) unless an identical one is there. */
  private static keepKeyCopy(root: string, repo: RepoFile): void {
    const text = `${JSON.stringify(repo, null, 2)}\n`;
    const copy = path.join(root, 'keys', `${repo.id}.json`);
    if (fs.existsSync(copy) && fs.readFileSync(copy, 'utf8') === text) return;
    ensurePrivateDir(path.dirname(copy));
    writeFileAtomic(copy, text);
  }

  /** What repo.json and the key source say is checked here, at once (throwing); the key itself is unlocked in the promise. */
  private static unlock(root: string, repo: RepoFile, source: KeySource, onNotice: (message: string) => void): Promise<BackupRepository> {
    if (repo.encryption === 'none') {
      if (source.kind !== 'none') {
        // Encryption is never dropped silently: a repo.json that says "none" while the config asks
        // for a key is either the wrong repository or one whose repo.json was replaced.
        throw new StorageError(
          'BAD_DATA',
          `The backup repository ${root} says it is NOT encrypted, but the config asks for encryption (${source.kind === 'passphrase' ? source.origin : `key file ${source.file}`}): refusing to write or read plaintext backups.`,
          {
            hint: 'If repo.json was replaced, put back the original (keys/ holds a copy). If this repository really was made unencrypted, say so in the config with backup.encryption: { enabled: false } (and unset STORAGE_BACKUP_PASSPHRASE). Nothing was written.',
          },
        );
      }
      const sealKey = repo.sealKey ? Buffer.from(repo.sealKey, 'base64') : undefined;
      if (repo.format >= 2 && (!sealKey || sealKey.length < KEY_BYTES)) {
        throw new StorageError('BAD_DATA', `repo.json of the backup repository ${root} lacks the key its manifests are sealed with.`, {
          hint: 'Put back the original repo.json (keys/ holds a copy). Nothing was written.',
        });
      }
      return Promise.resolve(new BackupRepository(root, undefined, repo.id, sealKey && manifestSealKey(sealKey)));
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
    return BackupRepository.unlockSlots(root, repo, source, onNotice);
  }

  private static async unlockSlots(root: string, repo: RepoFile, source: KeySource, onNotice: (message: string) => void): Promise<BackupRepository> {
    for (const slot of repo.slots) {
      let kek: Buffer | undefined;
      if (slot.kind === 'passphrase' && source.kind === 'passphrase' && slot.kdf) kek = await deriveKey(source.passphrase, slot.kdf);
      if (slot.kind === 'keyfile' && source.kind === 'keyfile' && slot.salt)
        kek = kekFromKeyFile(readKeyFile({ ...source, create: false }, onNotice), slot.salt);
      const master = kek && unwrapKey(kek, slot.wrapped, `storage repository ${repo.id}`);
      if (master) return new BackupRepository(root, master, repo.id, manifestSealKey(master));
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
    // An unencrypted repository still seals its manifests with a key of its own (kept here, in
    // repo.json): it proves a manifest was written by someone who had repo.json.
    const sealKey = master ? undefined : randomBytes(KEY_BYTES);
    for (const dir of ['backups', 'locks', 'tmp', 'keys']) ensurePrivateDir(path.join(root, dir));
    const repo: RepoFile = {
      format: REPO_FORMAT,
      id,
      createdAt: new Date().toISOString(),
      encryption: master ? 'aes-256-gcm' : 'none',
      slots,
      ...(sealKey ? { sealKey: sealKey.toString('base64') } : {}),
    };
    // Two first backups at once must not make two repositories (the loser's backups would be
    // sealed with a key nobody keeps): repo.json is created exclusively, and the loser opens the
    // winner's. The copy in keys/ follows; a crash between the two is mended by the next create.
    if (!writeFileExclusive(path.join(root, 'repo.json'), `${JSON.stringify(repo, null, 2)}\n`))
      return BackupRepository.open(root, source, onNotice, { create: true });
    BackupRepository.keepKeyCopy(root, repo);
    onNotice(
      `Initialised the backup repository ${root} (${master ? `encrypted; key from ${source.kind === 'passphrase' ? source.origin : (source as { file: string }).file}` : 'NOT encrypted: the config turns encryption off'}). Keep a copy of its repo.json (or keys/) with the key: both are needed to restore.`,
    );
    return new BackupRepository(root, master, id, manifestSealKey(master ?? sealKey!));
  }

  /** A backup's data key (random, made before the repository's key was unlocked) wrapped for its manifest. */
  wrapDataKey(id: string, key: Buffer): WrappedKey {
    if (!this.masterKey) throw new StorageError('BAD_DATA', `The backup repository ${this.root} is not encrypted: backup ${id} has no data key to wrap.`);
    return wrapKey(this.masterKey, key, `storage backup ${id}`);
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
    const sealed = sealManifest(manifest, this.sealKey);
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
    const damaged = (what: string) => new StorageError('BAD_DATA', `manifest.json of backup ${id} ${what}.`, { hint: 'Do not restore from this backup.' });
    // Bound what is read from disk before reading it: a manifest is a few kB.
    if (fs.statSync(file).size > MAX_MANIFEST_BYTES) throw damaged(`is ${fs.statSync(file).size} bytes, far more than a manifest holds`);
    let sealed: SealedManifest;
    try {
      sealed = JSON.parse(fs.readFileSync(file, 'utf8')) as SealedManifest;
    } catch {
      throw damaged('is not valid JSON');
    }
    if (!sealed || typeof sealed !== 'object' || !manifestIntact(sealed, this.sealKey)) throw damaged('fails its integrity check: it was edited');
    // The id is inside the sealed content: a manifest copied into another backup's directory is caught here.
    if (sealed.id !== id) throw damaged(`belongs to backup ${String(sealed.id)}: the directory's content was replaced by another backup's`);
    // Sealed or not, the content is checked before anything builds a path or a buffer from it.
    const problem = manifestProblem(sealed);
    if (problem) throw damaged(problem);
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

  /** Every backup directory, with its status; `now` is this host's clock, which "dated in the future" is measured against. */
  list(lockedStores: Set<string> = this.lockedStores(), now = Date.now()): BackupEntry[] {
    if (!fs.existsSync(this.backupsDir)) return [];
    const entries: BackupEntry[] = [];
    for (const id of fs.readdirSync(this.backupsDir).sort()) {
      const dir = path.join(this.backupsDir, id);
      const stat = fs.statSync(dir);
      if (!stat.isDirectory() || !isBackupId(id)) continue;
      const createdAt = stat.birthtime.toISOString();
      if (fs.existsSync(path.join(dir, 'manifest.json'))) {
        try {
          const manifest = this.readManifest(id);
          const status = isFutureDated(manifest.startedAt, now) ? 'future-dated' : 'complete';
          entries.push({ id, store: manifest.store, status, manifest, verification: this.readVerification(id), createdAt });
        } catch (error) {
          const problem = (error as Error).message.replace(`manifest.json of backup ${id} `, 'its manifest ');
          entries.push({ id, store: storeOfBackupId(id), status: 'damaged', createdAt, problem });
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
}
