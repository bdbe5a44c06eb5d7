// Asking a person to type a resource's name before something destructive happens.
import readline from 'node:readline/promises';

export async function askForName(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}
