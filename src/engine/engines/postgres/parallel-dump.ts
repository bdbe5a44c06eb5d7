// `backup create --jobs N`: `pg_dump -Fd -j N` into a private scratch directory, each archive file
// streamed into the repository (compressed, encrypted, hashed: one payload file per archive file)
// as soon as pg_dump has closed it, and removed from the scratch directory once stored; toc.dat
// comes last, when pg_dump has exited. A file is finished when it exists and no pg_dump process
// holds it open (pg_dump writes each file once, start to end, and never reopens it); where /proc
// cannot tell (not Linux), every file is stored after pg_dump has exited.
import fs from 'node:fs';
import path from 'node:path';
import type { PayloadFile } from '../../repository/manifest.js';

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

/** Paths that processes whose command line names `marker` hold open, or undefined when /proc cannot say. */
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
          const target = await fs.promises.readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
          if (target) open.add(target);
        }),
      );
    }),
  );
  return open;
}

export interface StoreFiles {
  /** pg_dump's scratch output directory (its path is on pg_dump's command line). */
  dumpDir: string;
  /** Settles when pg_dump has exited (successfully or not). */
  dumpDone: Promise<unknown>;
  /** True once the run has failed: stop storing. */
  failed: () => boolean;
  /** Stores one archive file (its plain bytes at `file`) as payload file; returns its manifest entry. */
  store: (archiveName: string, file: string) => Promise<PayloadFile>;
  /** Files stored at once. */
  concurrency: number;
  /** Whether pg_dump exited successfully (asked once it is done: only then are the last files stored). */
  succeeded: () => boolean;
}

/**
 * Stores pg_dump's archive files while it runs and after it exits; each file is removed once
 * stored. Returns the payload files, in archive-name order. A failure of any store rejects (after
 * the stores already started have settled, so no file is written to after the caller cleans up).
 */
export async function storeWhileDumping({ dumpDir, dumpDone, failed, store, concurrency, succeeded }: StoreFiles): Promise<PayloadFile[]> {
  const taken = new Set<string>();
  const queue: string[] = [];
  const stored: PayloadFile[] = [];
  let firstError: unknown;
  let running = 0;
  let wake: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  const startNext = () => {
    while (running < concurrency && queue.length > 0 && firstError === undefined && !failed()) {
      const name = queue.shift()!;
      running++;
      const file = path.join(dumpDir, name);
      store(name, file)
        .then(async (entry) => {
          stored.push(entry);
          await fs.promises.rm(file, { force: true });
        })
        .catch((error: unknown) => {
          firstError ??= error;
        })
        .finally(() => {
          running--;
          startNext();
          poke();
        });
    }
  };
  const take = (names: string[]) => {
    for (const name of names.sort()) {
      if (taken.has(name)) continue;
      if (!ARCHIVE_NAME.test(name)) {
        firstError ??= new Error(`pg_dump wrote an unexpected file "${name}"`);
        return;
      }
      taken.add(name);
      queue.push(name);
    }
    startNext();
  };
  let dumping = true;
  void dumpDone.finally(() => {
    dumping = false;
    poke();
  });
  let canTell = true;
  while (dumping && firstError === undefined && !failed()) {
    if (canTell) {
      // Listed before the scan of open files: a file listed and not open at the scan was closed, for good.
      const names = await fs.promises.readdir(dumpDir).catch(() => [] as string[]);
      const open = await heldOpen(dumpDir);
      if (open === undefined) canTell = false;
      else take(names.filter((name) => name !== 'toc.dat' && !open.has(path.join(dumpDir, name))));
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, POLL_MS).unref();
    });
  }
  await dumpDone;
  if (firstError === undefined && !failed() && succeeded()) take(await fs.promises.readdir(dumpDir));
  // Everything started settles before returning, on success or failure.
  while (running > 0 || (queue.length > 0 && firstError === undefined && !failed())) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (running === 0) startNext();
    });
  }
  if (firstError !== undefined) throw firstError;
  return stored.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
