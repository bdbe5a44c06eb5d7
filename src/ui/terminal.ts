// What the terminal allows: colour, animation and prompts only for a person at a TTY.
// NO_COLOR, TERM=dumb, CI and pipes turn them off.

export interface TerminalEnv {
  env?: NodeJS.ProcessEnv;
  stdoutIsTTY?: boolean;
  stdinIsTTY?: boolean;
  stderrIsTTY?: boolean;
}

function resolve(options: TerminalEnv) {
  return {
    env: options.env ?? process.env,
    stdoutIsTTY: options.stdoutIsTTY ?? Boolean(process.stdout.isTTY),
    stdinIsTTY: options.stdinIsTTY ?? Boolean(process.stdin.isTTY),
    stderrIsTTY: options.stderrIsTTY ?? Boolean(process.stderr.isTTY),
  };
}

function isCi(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0';
}

export function colorEnabled(options: TerminalEnv = {}): boolean {
  const { env, stdoutIsTTY } = resolve(options);
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stdoutIsTTY;
}

/** A person can answer a question: both ends are a terminal and this is not CI. */
export function canPrompt(options: TerminalEnv = {}): boolean {
  const { env, stdinIsTTY, stderrIsTTY } = resolve(options);
  return stdinIsTTY && stderrIsTTY && !isCi(env);
}

/** A live, redrawing view is possible (live views draw on stderr and read keys from stdin). */
export function canAnimate(options: TerminalEnv = {}): boolean {
  const { env, stderrIsTTY, stdinIsTTY } = resolve(options);
  return stderrIsTTY && stdinIsTTY && env.TERM !== 'dumb' && !isCi(env);
}
