// Asking a person to type a resource's name before something destructive happens, or a hidden value.
// Ctrl-C or Ctrl-D at the question is the person saying no: a one-line refusal (exit 130 for Ctrl-C,
// 77 for Ctrl-D, as a missing confirmation), never a crash report.
import readline from 'node:readline/promises';
import type { Writable } from 'node:stream';
import { StorageError } from '../engine/errors.js';
import { terminalSafe } from './output.js';

async function ask(question: string, output: Writable, whileAnswering: () => void = () => undefined): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  const abort = new AbortController();
  let ended: 'ctrl-c' | 'ctrl-d' | undefined;
  // With a SIGINT listener, readline reports Ctrl-C here instead of closing; a close before an answer is Ctrl-D (end of input).
  rl.on('SIGINT', () => {
    ended = 'ctrl-c';
    abort.abort();
  });
  rl.on('close', () => {
    ended ??= 'ctrl-d';
    abort.abort();
  });
  try {
    // The question names what is at stake (a store, a database): readline writes it as given.
    const answer = rl.question(terminalSafe(question), { signal: abort.signal });
    whileAnswering();
    return await answer;
  } catch (error) {
    if (!ended) throw error;
    // (readline has ended the question's line.)
    throw ended === 'ctrl-c'
      ? new StorageError('CANCELLED', 'Cancelled at the prompt (Ctrl-C); nothing was changed.')
      : new StorageError('CONFIRMATION_REQUIRED', 'No answer at the prompt (Ctrl-D); nothing was changed.');
  } finally {
    rl.close();
  }
}

export async function askForName(question: string): Promise<string> {
  return (await ask(question, process.stderr)).trim();
}

/** Asks for a value without echoing it (passwords, passphrases). */
export async function askHidden(question: string): Promise<string> {
  const { Writable } = await import('node:stream');
  let muted = false;
  const output = new Writable({
    write(chunk, encoding, callback) {
      if (!muted) process.stderr.write(chunk, encoding);
      callback();
    },
  });
  try {
    return await ask(question, output, () => (muted = true));
  } finally {
    // The line readline ends went to the muted output.
    process.stderr.write('\n');
  }
}
