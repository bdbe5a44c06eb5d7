// prereqs.paths: the backup repository and the vault can be written, and the vault is private.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repositoryPath } from '../../backup/open.js';
import { vaultPath } from '../../secrets/resolver.js';
import type { Check, CheckOutcome } from '../registry.js';
import { shellQuote } from '../../system/shell.js';

/** Whether a file can be made at `target` (or in its nearest existing parent): tried, not guessed from mode bits. */
export function canWriteAt(target: string): { ok: boolean; why?: string } {
  let dir = path.resolve(target);
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  if (!fs.statSync(dir).isDirectory()) return { ok: false, why: `${dir} is a file, not a directory` };
  const probe = path.join(dir, `.storage-write-test-${randomBytes(4).toString('hex')}`);
  try {
    fs.writeFileSync(probe, '', { flag: 'wx' });
    fs.rmSync(probe);
    return { ok: true };
  } catch (error) {
    return { ok: false, why: `${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
}

export function judgeVaultMode(file: string, mode: number): CheckOutcome {
  const bits = mode & 0o777;
  return bits === 0o600
    ? { subject: 'vault', status: 'pass', reason: `${file} is 0600` }
    : { subject: 'vault', status: 'fail', reason: `${file} is ${bits.toString(8).padStart(4, '0')}, not 0600`, hint: `chmod 600 ${shellQuote(file)}` };
}

export const prereqsPaths: Check = {
  id: 'prereqs.paths',
  suite: 'prereqs',
  title: 'the backup repository and the vault are writable, and the vault is private (0600)',
  async run({ fleet, env }) {
    const outcomes: CheckOutcome[] = [];
    const places = [
      { subject: 'repository', at: repositoryPath(fleet), hint: 'Fix its permissions, or point backup.repository elsewhere.' },
      { subject: 'vault-dir', at: path.dirname(vaultPath(fleet.config, env)), hint: 'Fix its permissions, or point vault.path (or STORAGE_VAULT) elsewhere.' },
    ];
    for (const place of places) {
      const writable = canWriteAt(place.at);
      outcomes.push(
        writable.ok
          ? { subject: place.subject, status: 'pass', reason: `${place.at} is writable` }
          : { subject: place.subject, status: 'fail', reason: `${place.at} is not writable (${writable.why})`, hint: place.hint },
      );
    }
    const vault = vaultPath(fleet.config, env);
    if (fs.existsSync(vault)) outcomes.push(judgeVaultMode(vault, fs.statSync(vault).mode));
    return outcomes;
  },
};
