// The check registry `storage validate` runs. A check is one small module: an id, a suite, a
// title, and a function returning one outcome per subject (a store, a file, the estate).
// Independent checks run concurrently; the whole run is bounded by a timeout, and a check that
// has not answered by then is reported as an error while the others still report.
import type { Fleet } from '../fleet.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'error';

export interface CheckOutcome {
  /** What the outcome is about (a store name); omitted for estate-wide checks. */
  subject?: string;
  status: CheckStatus;
  reason: string;
  hint?: string;
}

export interface CheckContext {
  fleet: Fleet;
  strict: boolean;
  /** Only these stores (all when empty). */
  stores: string[];
  env: NodeJS.ProcessEnv;
  /** Run a real restore test of each store's newest backup (slow; off by default). */
  restoreTest?: boolean;
  /** Set by the runner for each check: the subjects `eachSubject` is judging, and those already judged. */
  subjects?: SubjectProgress;
}

export interface SubjectProgress {
  expected: string[];
  judged: Map<string, CheckOutcome[]>;
}

/**
 * Judges each subject (a store) on its own, concurrently. When the run's timeout cuts the check
 * short, the subjects that answered keep their own outcomes and only the others become errors:
 * one hung server must not hide the healthy stores' results.
 */
export async function eachSubject<T>(
  context: CheckContext,
  subjects: T[],
  name: (subject: T) => string,
  judge: (subject: T) => Promise<CheckOutcome | CheckOutcome[]>,
): Promise<CheckOutcome[]> {
  const progress = context.subjects;
  if (progress) progress.expected.push(...subjects.map(name));
  const outcomes = await Promise.all(
    subjects.map(async (subject) => {
      let judged: CheckOutcome[];
      try {
        judged = [await judge(subject)].flat();
      } catch (error) {
        judged = [{ subject: name(subject), status: 'error', reason: (error as Error).message, hint: (error as { hint?: string }).hint }];
      }
      progress?.judged.set(name(subject), judged);
      return judged;
    }),
  );
  return outcomes.flat();
}

export interface Check {
  id: string;
  suite: string;
  title: string;
  /** Checks whose results this one reads (it starts once they have finished); all others run at once. */
  after?: string[];
  run(context: CheckContext): Promise<CheckOutcome[]>;
}

export interface CheckResult extends CheckOutcome {
  id: string;
  suite: string;
  title: string;
  durationMs: number;
}

export interface ValidationReport {
  checks: CheckResult[];
  /** Some check was still running at the timeout (its work may still be pending in the process). */
  timedOut: boolean;
  summary: Record<CheckStatus, number> & { total: number };
  durationMs: number;
  ok: boolean;
}

/** Whether an outcome fails the run: a failure or an error always, a warning under --strict. */
export function failsRun(outcome: Pick<CheckOutcome, 'status'>, strict: boolean): boolean {
  return outcome.status === 'fail' || outcome.status === 'error' || (strict && outcome.status === 'warn');
}

export async function runChecks(checks: Check[], context: CheckContext, timeoutMs: number): Promise<ValidationReport> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let timedOut = false;
  const finished = new Map<string, Promise<unknown>>();
  const runOne = async (check: Check): Promise<CheckResult[]> => {
    let timer: NodeJS.Timeout | undefined;
    const subjects: SubjectProgress = { expected: [], judged: new Map() };
    const timeout = new Promise<CheckOutcome[]>((resolve) => {
      timer = setTimeout(
        () => {
          timedOut = true;
          const late = {
            status: 'error' as const,
            reason: `did not finish within ${timeoutMs} ms`,
            hint: 'Raise --timeout, or check what it waits on (an unreachable store?).',
          };
          // A check judging subjects one by one keeps the answers it has; only the missing ones are errors.
          resolve(subjects.expected.length > 0 ? subjects.expected.flatMap((subject) => subjects.judged.get(subject) ?? [{ subject, ...late }]) : [late]);
        },
        Math.max(0, deadline - Date.now()),
      );
      timer.unref();
    });
    const began = Date.now();
    let outcomes: CheckOutcome[];
    try {
      // Looked up a turn later, once every check has been started and registered.
      const dependencies = Promise.resolve().then(() => Promise.allSettled((check.after ?? []).map((id) => finished.get(id))));
      outcomes = await Promise.race([dependencies.then(() => check.run({ ...context, subjects })), timeout]);
    } catch (error) {
      outcomes = [{ status: 'error', reason: (error as Error).message, hint: (error as { hint?: string }).hint }];
    } finally {
      clearTimeout(timer);
    }
    const durationMs = Date.now() - began;
    return outcomes.map((outcome) => ({
      ...outcome,
      id: outcome.subject ? `${check.id}[${outcome.subject}]` : check.id,
      suite: check.suite,
      title: check.title,
      durationMs,
    }));
  };
  // Every check is started now; one with `after` waits inside for those to finish (or time out).
  const running = checks.map((check) => {
    const result = runOne(check);
    finished.set(check.id, result);
    return result;
  });
  const results = (await Promise.all(running)).flat();
  const summary = { pass: 0, warn: 0, fail: 0, error: 0, total: results.length };
  for (const result of results) summary[result.status]++;
  const ok = !results.some((result) => failsRun(result, context.strict));
  return { checks: results, timedOut, summary, durationMs: Date.now() - started, ok };
}
