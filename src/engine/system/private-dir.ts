// The tool's own directories (config, data, repository, locks, scratch, snapshot catalog, audit,
// vault) hold keys, secrets and decrypted data: each is created 0700 whatever the umask (mkdir's
// mode is masked by the umask, so under umask 000 a plain mkdir made them 0777, and under 077 a
// mode alone would still be right but under 0777 it would be 0000). Directories that already
// exist are left as their owner set them.
import fs from 'node:fs';
import path from 'node:path';

/** Creates `dir` and any missing parents 0700; returns `dir`. */
export function ensurePrivateDir(dir: string): string {
  const target = path.resolve(dir);
  const first = fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  if (first !== undefined) {
    // mkdir returns the first directory it created: every one from there down to `target` is ours.
    for (let current = target; ; current = path.dirname(current)) {
      fs.chmodSync(current, 0o700);
      if (current === first || current === path.dirname(current)) break;
    }
  }
  return dir;
}
