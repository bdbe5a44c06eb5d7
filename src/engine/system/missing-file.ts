// Why a configured file that is not there cannot be had, in the words an operator needs: it does
// not exist, or its path is a symbolic link that leads nowhere (a loop, or a target that is gone,
// e.g. on a volume that is not mounted). fs.existsSync says "no" to all three, and a link that
// leads nowhere must never be "created" through or replaced: it is a path to mend.
import fs from 'node:fs';
import path from 'node:path';

/** What a symbolic link at `file` that cannot be followed is ("a loop of symbolic links", "a symbolic link to X, which does not exist"); undefined otherwise. */
export function brokenLink(file: string): string | undefined {
  let target: string;
  try {
    target = fs.readlinkSync(file);
  } catch {
    return undefined; // not a link (or nothing at all)
  }
  try {
    fs.statSync(file);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return 'a loop of symbolic links';
    return `a symbolic link to ${path.resolve(path.dirname(file), target)}, which does not exist`;
  }
}

/** "which does not exist", or "which is <what brokenLink says>", to follow the file's name in a message. */
export function whyMissing(file: string): string {
  const broken = brokenLink(file);
  return broken ? `which is ${broken}` : 'which does not exist';
}
