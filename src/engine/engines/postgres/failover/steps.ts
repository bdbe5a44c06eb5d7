// A failover's steps: each reported to the operator as it runs and kept for the history.
import type { Progress } from '../../../progress.js';

export class Steps {
  readonly done: string[] = [];
  constructor(private readonly progress: Progress) {}

  async run<T>(title: string, work: () => Promise<T>, detail?: (result: T) => string | undefined): Promise<T> {
    const end = this.progress.step(title);
    const result = await work();
    const said = detail?.(result);
    this.done.push(said ? `${title}: ${said}` : title);
    end(said);
    return result;
  }

  warn(message: string): void {
    this.done.push(`warning: ${message}`);
    this.progress.warn(message);
  }
}
