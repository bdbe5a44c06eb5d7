// Multi-step flows per store. At a terminal: a listr2 task list (one task per store, its steps
// underneath), drawn on stderr. Elsewhere (cron, CI, pipes, --json): one plain timestamped
// line per step on stderr.
import type { Progress } from '../engine/progress.js';
import { terminalSafe, writeWarning } from './output.js';
import { lineProgress, quietProgress } from './progress.js';
import { canAnimate } from './terminal.js';

export interface StoreFlow {
  progressFor(name: string): Progress;
  /** Ends a store's task with its outcome. */
  settle(name: string, ok: boolean, summary: string): void;
  /** Waits for the task list to finish; tasks never settled are failed with `unsettled` first. */
  close(unsettled?: string): Promise<void>;
}

interface TaskHandle {
  task: { output: string; title: string };
  settled?: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
  warnings: string[];
}

function lineFlow(names: string[], quiet: boolean): StoreFlow {
  return {
    progressFor: (name) => (quiet ? quietProgress : lineProgress(names.length > 1 ? name : '')),
    settle: () => undefined,
    close: async () => undefined,
  };
}

const openFlows = new Set<StoreFlow>();

/** Ends every task list still drawing, its unfinished tasks failed with `summary` (an interrupted run). */
export async function closeOpenFlows(summary: string): Promise<void> {
  await Promise.all([...openFlows].map((flow) => flow.close(summary)));
}

export async function openFlow(names: string[], describe: (name: string) => string, options: { json: boolean; quiet: boolean }): Promise<StoreFlow> {
  if (options.json || options.quiet || !canAnimate()) return lineFlow(names, options.json || options.quiet);
  // listr2 draws titles, outputs and errors as given, past writeErr: each is made terminal-safe here.
  const titleFor = (name: string) => terminalSafe(describe(name));
  const { Listr, ListrLogger, ProcessOutput } = await import('listr2');
  const handles = new Map<string, TaskHandle>();
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const listr = new Listr(
    names.map((name) => ({
      title: titleFor(name),
      task: (_context: unknown, task: TaskHandle['task']) =>
        new Promise<void>((resolve, reject) => {
          handles.set(name, { task, resolve, reject, warnings: [] });
          if (handles.size === names.length) markReady();
        }),
      rendererOptions: { outputBar: true, persistentOutput: false },
    })),
    {
      concurrent: true,
      exitOnError: false,
      // listr2 would exit 127 on SIGINT; the command's interruption handler undoes the run and exits 130.
      registerSignalListeners: false,
      // Frames go to stderr: stdout is kept for the result.
      rendererOptions: { collapseErrors: false, logger: new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) }) },
    } as never,
  );
  const running: Promise<void> = listr.run().then(
    () => undefined,
    () => undefined,
  );
  await ready;
  let closed = false;
  const flow: StoreFlow = {
    progressFor(name) {
      const handle = handles.get(name)!;
      return {
        step(title) {
          const started = Date.now();
          handle.task.output = terminalSafe(`${title} …`);
          return (detail) => {
            handle.task.output = terminalSafe(`✔ ${title} (${((Date.now() - started) / 1000).toFixed(1)}s${detail ? `, ${detail}` : ''})`);
          };
        },
        warn(message) {
          handle.warnings.push(message);
          handle.task.output = terminalSafe(`⚠ ${message}`);
        },
        note(message) {
          handle.task.output = terminalSafe(message);
        },
      };
    },
    settle(name, ok, summary) {
      const handle = handles.get(name)!;
      handle.settled = true;
      if (ok) {
        handle.task.title = `${titleFor(name)}: ${terminalSafe(summary)}`;
        handle.resolve();
      } else handle.reject(new Error(terminalSafe(summary)));
    },
    async close(unsettled = 'not run') {
      if (closed) return;
      closed = true;
      openFlows.delete(flow);
      for (const [name, handle] of handles) if (!handle.settled) flow.settle(name, false, unsettled);
      await running;
      // Warnings must outlive the redrawn frame.
      for (const [name, handle] of handles) for (const warning of handle.warnings) writeWarning(`warning (${name}): `, warning);
    },
  };
  openFlows.add(flow);
  return flow;
}
