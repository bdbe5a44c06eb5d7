// How long work reports its steps without knowing who listens: the CLI turns these calls into a
// listr2 task list at a terminal and timestamped lines in cron; a library caller may ignore them.

export interface Progress {
  /** A step begins; the returned function ends it with an optional detail. */
  step(title: string): (detail?: string) => void;
  warn(message: string): void;
  /** A line of news while a step runs (a follow's periodic summary); optional for listeners that ignore it. */
  note?(message: string): void;
}

export const silentProgress: Progress = { step: () => () => undefined, warn: () => undefined };
