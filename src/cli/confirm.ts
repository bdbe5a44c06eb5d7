// Getting a confirmation: --confirm, or the name typed at a terminal. Never waits on stdin elsewhere.
import { askForName } from '../ui/prompt.js';
import { canPrompt } from '../ui/terminal.js';

export async function confirmation(given: string | undefined, question: string, json: boolean): Promise<string | undefined> {
  if (given !== undefined || json || !canPrompt()) return given;
  return askForName(question);
}
