// Typed errors: every failure a user can see carries a stable code, an exit code from the
// documented table (ARCHITECTURE.md §3) and a hint the operator can act on.

export const ExitCode = {
  ok: 0,
  failed: 1,
  partial: 2,
  checksFailed: 3,
  /** A failover lost sight of the servers mid-way: what each member reported last is printed. */
  outcomeUnknown: 4,
  usage: 64,
  badData: 65,
  unavailable: 69,
  tempFail: 75,
  refused: 77,
  config: 78,
  /** Stopped by Ctrl-C (SIGINT) or refused at a prompt with Ctrl-C: 128 + 2, as shells report it. */
  interrupted: 130,
  /** Stopped by SIGTERM: 128 + 15. */
  terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The error codes the engine raises; each maps to one exit code. */
export const ErrorCodes = {
  FAILED: ExitCode.failed,
  PARTIAL: ExitCode.partial,
  CHECKS_FAILED: ExitCode.checksFailed,
  OUTCOME_UNKNOWN: ExitCode.outcomeUnknown,
  REFUSED: ExitCode.failed,
  USAGE: ExitCode.usage,
  UNKNOWN_STORE: ExitCode.usage,
  NOT_A_TTY: ExitCode.usage,
  UNSUPPORTED: ExitCode.usage,
  ALREADY_EXISTS: ExitCode.failed,
  NOT_FOUND: ExitCode.failed,
  IN_USE: ExitCode.failed,
  QUERY_FAILED: ExitCode.failed,
  UNREACHABLE: ExitCode.unavailable,
  TIMEOUT: ExitCode.unavailable,
  CIRCUIT_OPEN: ExitCode.unavailable,
  AUTH_FAILED: ExitCode.config,
  CONFIG_INVALID: ExitCode.config,
  CONFIG_NOT_FOUND: ExitCode.config,
  SECRET_UNRESOLVED: ExitCode.config,
  CONFIRMATION_REQUIRED: ExitCode.refused,
  CONFIRMATION_MISMATCH: ExitCode.refused,
  CANCELLED: ExitCode.interrupted,
  PERMISSION_DENIED: ExitCode.refused,
  LOCKED: ExitCode.tempFail,
  BAD_DATA: ExitCode.badData,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface StorageErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable facts for --json (never secrets). */
  details?: Record<string, unknown>;
}

export class StorageError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): ExitCodeValue {
    return ErrorCodes[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isStorageError(error: unknown): error is StorageError {
  return error instanceof StorageError;
}
