// What every command shares: --json and --config, one Fleet per run closed at the end, and
// one way of turning any failure into a hinted message and a documented exit code.
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import type { Input, ParserOutput } from '@oclif/core/interfaces';
import { runCleanups } from '../engine/cleanup.js';
import { StorageError, isStorageError } from '../engine/errors.js';
import { Fleet } from '../engine/fleet.js';
import { redact } from '../engine/redact.js';
import type { AuditRecord } from '../engine/audit/log.js';
import { shellQuote } from '../engine/system/shell.js';
import { color, renderJson, runWarnings, writeErr, writeOut, writeWarning } from '../ui/output.js';
import { handleInterrupts, interruption, type InterruptHandling, type Interruption } from './interrupt.js';

export abstract class StorageCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    config: Flags.string({
      description: 'Config file (default: $STORAGE_CONFIG, ./storage.config.yaml, then the user config dir).',
      helpGroup: 'GLOBAL',
    }),
  };

  /** Mutating commands set this: every run of theirs is appended to the audit log. */
  static audited = false;

  /** Set by a command whose auditing depends on its flags (e.g. `secrets get --reveal`). */
  protected auditThis?: boolean;

  /** The stores a run worked on, for its audit entry. */
  protected auditStores: string[] = [];

  /** What the run did beyond its outcome (e.g. the backups a prune deleted), for its audit entry. */
  protected auditDetails?: Record<string, unknown>;

  private readonly startedAt = Date.now();
  private fleetInstance?: Fleet;
  private failure?: StorageError;
  private interrupts?: InterruptHandling;

  protected override async init(): Promise<void> {
    await super.init();
    process.on('unhandledRejection', this.onStray);
    process.on('uncaughtException', this.onStray);
    this.interrupts = handleInterrupts({
      command: () => this.commandLine,
      json: () => this.jsonEnabled(),
      left: () => this.interruptedNote(),
      record: async (stopped) => this.recordInterruption(stopped),
    });
  }

  /**
   * The last line of defence: an error nothing awaited (a driver's stray rejection, an 'error'
   * event without a listener) would otherwise crash the process with a stack trace, no JSON, no
   * audit entry and the store's lock left behind. It ends the run the documented way instead:
   * the error printed (one JSON document with --json), what the run took undone, the audit entry
   * written, the failure's exit code.
   */
  private readonly onStray = (error: unknown): void => {
    if (this.stray) return;
    this.stray = (async () => {
      await this.catch(error instanceof Error ? error : new Error(String(error)));
      await runCleanups();
      await this.fleetInstance?.close().catch(() => undefined);
      if (this.audited()) await this.writeAudit();
      process.exit(Number(process.exitCode ?? 1) || 1);
    })();
  };

  private stray?: Promise<void>;

  /** The command line as it was run (as it can be pasted into a shell), for the audit entry and messages. */
  protected get commandLine(): string {
    return ['storage', ...(this.id ?? '').split(':'), ...this.argv.map(shellQuote)].join(' ');
  }

  /** What an interrupted run leaves that the operator should know about (see cli/interrupt.ts). */
  protected interruptedNote(): string | undefined {
    return undefined;
  }

  /**
   * Arguments come from argv only. oclif would otherwise read a missing argument from a piped
   * stdin, so `echo x | storage db health` (or a `while read` loop) would silently probe `x`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- oclif's own constraint (FlagOutput/ArgOutput, not exported)
  protected override async parse<F extends Record<string, any>, B extends Record<string, any>, A extends Record<string, any>>(
    options?: Input<F, B, A>,
    argv?: string[],
  ): Promise<ParserOutput<F, B, A>> {
    const input = options ?? (this.ctor as unknown as Input<F, B, A>);
    const args = Object.fromEntries(Object.entries(input.args ?? {}).map(([name, arg]) => [name, { ...arg, ignoreStdin: true }]));
    // Keep what oclif reads from the command class (its own statics and the inherited flag sets).
    const argvOnly = { ...input, strict: input.strict, flags: input.flags, baseFlags: input.baseFlags, enableJsonFlag: input.enableJsonFlag, args };
    return super.parse(argvOnly as Input<F, B, A>, argv);
  }

  protected async fleet(configPath: string | undefined): Promise<Fleet> {
    this.fleetInstance ??= await Fleet.load({ configPath });
    return this.fleetInstance;
  }

  /** Prints a human result on stdout (never in --json mode, where the returned value is printed). */
  protected print(text: string): void {
    if (!this.jsonEnabled()) writeOut(text);
  }

  /** A warning on stderr: the run still succeeds. */
  protected warning(text: string): void {
    writeWarning(`${color.yellow('Warning:')} `, text);
  }

  /** The --json result, with the run's warnings in a top-level `warnings` list when there were any (unless the command returns its own). */
  protected override toSuccessJson(result: unknown): unknown {
    const warnings = runWarnings();
    if (warnings.length === 0 || !result || typeof result !== 'object' || Array.isArray(result)) return result;
    // A command that reports its own structured warnings (config validate: {path, message}) keeps them.
    if (Object.hasOwn(result, 'warnings')) return result;
    return { ...(result as Record<string, unknown>), warnings };
  }

  /** Ends the run with this failure's exit code after the result was printed. */
  protected failWith(error: StorageError | undefined): void {
    if (!error) return;
    process.exitCode = error.exitCode;
    if (!this.jsonEnabled()) writeErr(formatError(error));
  }

  override logJson(json: unknown): void {
    writeOut(renderJson(json));
  }

  protected override async catch(error: Error & { exitCode?: number }): Promise<void> {
    // A failure caused by an interruption (a killed child, a removed directory) is not news.
    if (interruption()) return;
    const failure = toStorageError(error);
    this.failure = failure;
    process.exitCode = failure.exitCode;
    if (this.jsonEnabled())
      this.logJson({
        error: {
          code: failure.code,
          message: redact(failure.message),
          hint: failure.hint,
          exitCode: failure.exitCode,
          ...(failure.details ? { details: failure.details } : {}),
        },
      });
    else writeErr(formatError(failure));
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    // An interruption under way finishes the run itself (cleanup, line, audit, exit); the engine
    // work it cut short must not close the stores under the cleanup or audit a second outcome.
    const stopping = interruption();
    if (stopping) await stopping;
    this.interrupts?.settled();
    await this.fleetInstance?.close();
    if (this.audited()) await this.writeAudit();
    this.interrupts?.remove();
    process.removeListener('unhandledRejection', this.onStray);
    process.removeListener('uncaughtException', this.onStray);
    await super.finally(error);
  }

  private audited(): boolean {
    return this.auditThis ?? (this.constructor as typeof StorageCommand).audited;
  }

  private async recordInterruption(stopped: Interruption): Promise<void> {
    if (this.audited()) await this.writeAudit({ outcome: 'interrupted', exitCode: stopped.exitCode });
  }

  private async writeAudit(ending?: { outcome: 'interrupted'; exitCode: number }): Promise<void> {
    const exitCode = ending?.exitCode ?? Number(process.exitCode ?? 0);
    // Ctrl-C or Ctrl-D at a prompt is the operator saying no: refused, like a missing confirmation.
    const outcome =
      ending?.outcome ?? (exitCode === 0 ? 'ok' : exitCode === 2 ? 'partial' : exitCode === 77 || this.failure?.code === 'CANCELLED' ? 'refused' : 'failed');
    try {
      const { appendAudit, auditPaths } = await import('../engine/audit/log.js');
      const record: AuditRecord = {
        command: this.commandLine,
        stores: this.auditStores,
        outcome,
        exitCode,
        durationMs: Date.now() - this.startedAt,
        ...(this.auditDetails ? { details: this.auditDetails } : {}),
      };
      // The entry was written but its head, key record or syslog copy was not: say exactly that.
      appendAudit(record, auditPaths(), { onWarning: (message) => writeErr(`${color.yellow('Warning:')} ${message}`) });
    } catch (failure) {
      writeErr(`${color.yellow('Warning:')} could not write the audit log: ${(failure as Error).message}`);
    }
  }
}

export type StorageFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof StorageCommand)['baseFlags'] & T['flags']>;

export function formatError(error: StorageError): string {
  const lines = [`${color.red('Error:')} ${error.message}`];
  if (error.hint) lines.push(`${color.dim('Hint:')} ${error.hint}`);
  return lines.join('\n');
}

/** Any thrown value as a StorageError: parse errors are usage errors (64), the rest keep their code. */
export function toStorageError(error: unknown): StorageError {
  if (isStorageError(error)) return error;
  if (error instanceof Errors.CLIError && ('parse' in error || /flag|argument|Missing|Unexpected|Expected/i.test(error.message))) {
    const message = error.message
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !/^The following errors? occurred:?$/.test(line) && !/^See more help with --help$/.test(line))
      .join(' ');
    return new StorageError('USAGE', redact(message), { hint: 'See --help for the arguments and flags this command takes.' });
  }
  const message = error instanceof Error ? error.message : String(error);
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const fileHints: Record<string, string> = {
    EACCES: 'Check the permissions of the file or directory named above (and who runs this command).',
    EPERM: 'Check the permissions of the file or directory named above (and who runs this command).',
    EROFS: 'The file system is read-only; point the repository or store at a writable place.',
    ENOSPC: 'The disk is full; free space (or prune old backups) and run again. Nothing partial was kept as complete.',
    ENOENT: 'A file or directory named above does not exist; check the paths in the config.',
    ENOTDIR: 'A path named above runs through a file where a directory is needed; check the paths given.',
    EISDIR: 'A path named above is a directory where a file is needed; check the paths given.',
    ENAMETOOLONG: 'A path named above is too long for the file system; choose a shorter one.',
  };
  if (errno && fileHints[errno]) return new StorageError('FAILED', redact(message), { hint: fileHints[errno] });
  return new StorageError('FAILED', redact(message), {
    hint: 'This is unexpected: please report it with the command you ran and this message.',
  });
}
