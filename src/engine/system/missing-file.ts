// Why a configured file that is not there cannot be had, in the words an operator needs: it does
// not exist, or its path is a symbolic link that leads nowhere (a loop, or a target that is gone,
// e.g. on a volume that is not mounted). fs.existsSync says "no" to all three, and a link that
// leads nowhere must never be "created" through or replaced: it is a path to mend.
import fs from 'node:fs';
import path from 'node:path';

/** Why `file` cannot be followed to a file: ENOENT (nothing, or a link to nothing), ELOOP, ...; undefined when it can. */
function followFailure(file: string): string | undefined {
  try {
    fs.statSync(file);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  }
}

/** True when `file`'s path is a loop of symbolic links. */
export function isLinkLoop(file: string): boolean {
  return followFailure(file) === 'ELOOP';
}

/** What a symbolic link at `file` that cannot be followed is ("a loop of symbolic links", "a symbolic link to X, which does not exist"); undefined otherwise. */
export function brokenLink(file: string): string | undefined {
  let target: string;
  try {
    target = fs.readlinkSync(file);
  } catch {
    return undefined; // not a link (or nothing at all)
  }
  const failure = followFailure(file);
  if (failure === undefined) return undefined;
  return failure === 'ELOOP' ? 'a loop of symbolic links' : `a symbolic link to ${path.resolve(path.dirname(file), target)}, which does not exist`;
}

/** "which does not exist", or "which is <what brokenLink says>", to follow the file's name in a message. */
export function whyMissing(file: string): string {
  const broken = brokenLink(file);
  return broken ? `which is ${broken}` : 'which does not exist';
}
