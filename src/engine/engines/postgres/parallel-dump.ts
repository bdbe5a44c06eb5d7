// `backup create --jobs N`: `pg_dump -Fd -j N` into a private scratch directory, each archive file
// streamed into the repository (compressed, encrypted, hashed: one payload file per archive file)
// as soon as pg_dump has closed it, and removed from the scratch directory once stored; toc.dat
// comes last, when pg_dump has exited. A file is finished when it exists and no pg_dump process
// holds it open (pg_dump writes each file once, start to end, and never reopens it); where /proc
// cannot tell (not Linux), every file is stored after pg_dump has exited.
import fs from 'node:fs';
import path from 'node:path';
import type { PayloadFile } from '../../repository/manifest.js';
import { StorageError } from '../../errors.js';

/** How often the dump directory is looked at for finished files. */
const POLL_MS = 150;

/** Archive file names pg_dump -Fd writes: toc.dat, <id>.dat[.gz], blobs.toc, blob_<oid>.dat[.gz]. */
const ARCHIVE_NAME = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/** The payload file name's base for an archive file: dots encoded, so the payload name's own suffixes stay apart. */
export function directoryBase(archiveName: string): string {
  return `pgdir.${archiveName.replace(/\./g, '%2E')}`;
}

/** The archive file a payload file of a `pg_dump-directory` backup holds, or undefined when its name is not one this tool writes. */
export function archiveNameOf(payloadName: string): string | undefined {
  const match = /^payload\.pgdir\.([^.]+)(\.zst|\.gz)?(\.enc)?$/.exec(payloadName);
  if (!match) return undefined;
  const name = match[1].replace(/%2E/g, '.');
  return ARCHIVE_NAME.test(name) ? name : undefined;
}

/** A file's identity (device and inode): the same whatever path names it (a symlink, a bind mount, a relative path). */
const identity = (stat: fs.Stats) => `${stat.dev}:${stat.ino}`;

/**
 * Files (by identity) that processes whose command line names `marker` hold open, or undefined
 * when /proc cannot say. Identities, not paths: /proc shows an open file by its real path, which
 * is not the path pg_dump was given when that runs through a symlink (a repository on a linked
 * volume), and a file still being written must never look closed.
 */
async function heldOpen(marker: string): Promise<Set<string> | undefined> {
  let pids: string[];
  try {
    pids = (await fs.promises.readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }
  const open = new Set<string>();
  await Promise.all(
    pids.map(async (pid) => {
      const cmdline = await fs.promises.readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
      if (!cmdline.includes(marker)) return;
      const fds = await fs.promises.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      await Promise.all(
        fds.map(async (fd) => {
          const target = await fs.promises.stat(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
          if (target) open.add(identity(target));
        }),
      );
    }),
  );
  return open;
}

export interface StoreFiles {
  /** pg_dump's scratch output directory (its path is on pg_dump's command line). */
  dumpDir: string;
  /** Settles when pg_dump has exited, with its exit code. */
  dumpDone: Promise<{ exitCode: number | null }>;
  /** True once the run has failed: stop storing. */
  failed: () => boolean;
  /** Stores one archive file (its plain bytes at `file`) as payload file; returns its manifest entry. */
  store: (archiveName: string, file: string) => Promise<PayloadFile>;
}

/**
 * Stores pg_dump's archive files while it runs and after it exits, one at a time (each is
 * compressed on every core already; two at once held ~50 MB more memory for no time saved); each
 * file is removed once stored. The last files, toc.dat among them, are stored only when pg_dump
 * succeeded. Returns the payload files, in archive-name order; the first failure rejects, with no
 * store left running.
 */
export async function storeWhileDumping({ dumpDir, dumpDone, failed, store }: StoreFiles): Promise<PayloadFile[]> {
  const taken = new Set<string>();
  const stored: PayloadFile[] = [];
  const storeEach = async (names: string[]) => {
    for (const name of names.sort()) {
      if (taken.has(name) || failed()) continue;
      if (!ARCHIVE_NAME.test(name)) throw new Error(`pg_dump wrote an unexpected file "${name}"`);
      taken.add(name);
      const file = path.join(dumpDir, name);
      const entry = await store(name, file);
      // What was stored must be the whole file: pg_dump never writes to a file again once it is closed.
      const after = await fs.promises.stat(file);
      if (after.size !== entry.plainBytes)
        throw new StorageError('FAILED', `pg_dump's file "${name}" was still being written while it was stored (${entry.plainBytes} of ${after.size} bytes).`, {
          hint: 'Nothing was kept as complete; run the backup again (without --jobs if this repeats) and report it.',
        });
      stored.push(entry);
      await fs.promises.rm(file, { force: true });
    }
  };
  let dumping = true;
  void dumpDone.finally(() => (dumping = false));
  while (dumping && !failed()) {
    // Listed before the scan of open files: a file listed and not open at the scan was closed, for good.
    const names = await fs.promises.readdir(dumpDir).catch(() => [] as string[]);
    const ids = new Map<string, string>();
    for (const name of names) {
      const stat = await fs.promises.stat(path.join(dumpDir, name)).catch(() => undefined);
      if (stat) ids.set(name, identity(stat));
    }
    const open = await heldOpen(dumpDir);
    if (open === undefined) break; // no /proc: everything is stored once pg_dump has exited
    await storeEach(names.filter((name) => name !== 'toc.dat' && ids.has(name) && !open.has(ids.get(name)!)));
    await Promise.race([dumpDone, new Promise((resolve) => setTimeout(resolve, POLL_MS).unref())]);
  }
  const { exitCode } = await dumpDone;
  if (!failed() && exitCode === 0) await storeEach(await fs.promises.readdir(dumpDir));
  return stored.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
