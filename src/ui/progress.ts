// Progress of multi-step flows on stderr: one plain timestamped line per step, which reads the
// same in cron logs and at a terminal.
import type { Progress } from '../engine/progress.js';
import { writeErr, writeWarning } from './output.js';

function stamp(): string {
  return new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

export function lineProgress(prefix = ''): Progress {
  const label = prefix ? `[${prefix}] ` : '';
  return {
    step(title) {
      const started = Date.now();
      writeErr(`${stamp()} ${label}${title} ...`);
      return (detail) => writeErr(`${stamp()} ${label}${title}: done in ${((Date.now() - started) / 1000).toFixed(1)}s${detail ? ` (${detail})` : ''}`);
    },
    warn(message) {
      writeWarning(`${stamp()} ${label}warning: `, message);
    },
    note(message) {
      writeErr(`${stamp()} ${label}${message}`);
    },
  };
}

export const quietProgress: Progress = { step: () => () => undefined, warn: (message) => writeWarning('warning: ', message) };
