// Helpers for backup tests: spawning the CLI in the background, and damaging backup files.
import { execa, type ResultPromise } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { BIN } from './paths.js';
import type { Sandbox } from './cli.js';
import { recordRun } from './written-files.js';

export function startCli(sandbox: Sandbox, args: string[], env: Record<string, string> = {}): ResultPromise {
  recordRun(sandbox.dir, { ...sandbox.env, ...env });
  return execa(process.execPath, [BIN, ...args], {
    cwd: sandbox.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env, ...env },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
  });
}

/**
 * Runs `during` while `child` is stopped (SIGSTOP), then lets it go on (SIGCONT): a run that holds a
 * lock keeps holding it however long `during` takes, so a race against it cannot be lost by it
 * finishing first. A stopped process is alive, so its lock is never stale.
 */
export async function whileStopped<T>(child: ResultPromise, during: () => Promise<T>): Promise<T> {
  if (child.pid === undefined) throw new Error('the child process did not start');
  process.kill(child.pid, 'SIGSTOP');
  try {
    return await during();
  } finally {
    process.kill(child.pid, 'SIGCONT');
  }
}

export async function waitFor(condition: () => boolean, timeoutMs = 20_000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

export function backupDirs(repo: string): string[] {
  const dir = path.join(repo, 'backups');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((name) => path.join(dir, name)) : [];
}

export function payloadFile(backupDir: string): string {
  const name = fs.readdirSync(backupDir).find((entry) => entry.startsWith('payload'));
  if (!name) throw new Error(`no payload in ${backupDir}`);
  return path.join(backupDir, name);
}

export function flipByte(file: string, at?: number): void {
  const data = fs.readFileSync(file);
  const index = at ?? Math.floor(data.length / 2);
  data[index] ^= 0x10;
  fs.writeFileSync(file, data);
}
