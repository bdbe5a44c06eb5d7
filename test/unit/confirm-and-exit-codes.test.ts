// The confirmation rule for destructive actions and the exit-code rules every error follows
// (ARCHITECTURE.md §3): what a wrong or missing confirmation does, and which exit code each
// error code maps to.
import { describe, expect, it } from 'vitest';
import { requireConfirmation } from '../../src/engine/confirm.js';
import { ErrorCodes, ExitCode, isStorageError, StorageError } from '../../src/engine/errors.js';

function thrown(work: () => void): StorageError {
  try {
    work();
  } catch (error) {
    expect(isStorageError(error)).toBe(true);
    return error as StorageError;
  }
  throw new Error('expected a refusal');
}

describe('requireConfirmation', () => {
  it('passes only the exact name', () => {
    expect(requireConfirmation('app', 'app', 'Dropping app')).toBeUndefined();
    expect(requireConfirmation('bad name', 'bad name', 'Dropping it')).toBeUndefined();
  });

  it('no answer → CONFIRMATION_REQUIRED (77), the hint giving the exact --confirm to type (shell-quoted)', () => {
    const error = thrown(() => requireConfirmation('bad name', undefined, 'Dropping database "bad name"'));
    expect(error.code).toBe('CONFIRMATION_REQUIRED');
    expect(error.exitCode).toBe(77);
    expect(error.message).toBe('Dropping database "bad name" needs confirmation.');
    expect(error.hint).toBe("Re-run with --confirm 'bad name' (no terminal here to ask).");
  });

  it('any other answer ("yes", a different case, an empty string, a prefix) → CONFIRMATION_MISMATCH (77), naming both', () => {
    for (const given of ['yes', 'APP', '', 'ap', 'app ', 'y']) {
      const error = thrown(() => requireConfirmation('app', given, 'Dropping app'));
      expect(error.code).toBe('CONFIRMATION_MISMATCH');
      expect(error.exitCode).toBe(77);
      expect(error.message).toBe(`The confirmation "${given}" does not match "app"; nothing was changed.`);
      expect(error.hint).toBe('Type the name exactly: --confirm app.');
    }
  });
});

describe('exit codes', () => {
  it('the documented table', () => {
    expect(ExitCode).toEqual({
      ok: 0,
      failed: 1,
      partial: 2,
      checksFailed: 3,
      outcomeUnknown: 4,
      usage: 64,
      badData: 65,
      unavailable: 69,
      tempFail: 75,
      refused: 77,
      config: 78,
      interrupted: 130,
      terminated: 143,
    });
  });

  it('each error code maps to its exit code, and a StorageError carries it', () => {
    const expected: Record<string, number> = {
      FAILED: 1,
      PARTIAL: 2,
      CHECKS_FAILED: 3,
      OUTCOME_UNKNOWN: 4,
      REFUSED: 1,
      USAGE: 64,
      UNKNOWN_STORE: 64,
      NOT_A_TTY: 64,
      UNSUPPORTED: 64,
      ALREADY_EXISTS: 1,
      NOT_FOUND: 1,
      IN_USE: 1,
      QUERY_FAILED: 1,
      UNREACHABLE: 69,
      TIMEOUT: 69,
      CIRCUIT_OPEN: 69,
      AUTH_FAILED: 78,
      CONFIG_INVALID: 78,
      CONFIG_NOT_FOUND: 78,
      SECRET_UNRESOLVED: 78,
      CONFIRMATION_REQUIRED: 77,
      CONFIRMATION_MISMATCH: 77,
      CANCELLED: 130,
      PERMISSION_DENIED: 77,
      LOCKED: 75,
      BAD_DATA: 65,
    };
    expect(ErrorCodes).toEqual(expected);
    for (const [code, exit] of Object.entries(expected)) expect(new StorageError(code as keyof typeof ErrorCodes, 'x').exitCode).toBe(exit);
  });

  it('a StorageError keeps its code, message, hint, details and cause; toJSON gives what --json prints (no stack, no cause)', () => {
    const cause = new Error('disk full');
    const error = new StorageError('BAD_DATA', 'The payload fails its check.', { hint: 'Do not restore it.', details: { file: 'payload.zst' }, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('StorageError');
    expect(error.message).toBe('The payload fails its check.');
    expect(error.code).toBe('BAD_DATA');
    expect(error.hint).toBe('Do not restore it.');
    expect(error.details).toEqual({ file: 'payload.zst' });
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({ code: 'BAD_DATA', message: 'The payload fails its check.', hint: 'Do not restore it.', details: { file: 'payload.zst' } });
    const bare = new StorageError('USAGE', 'bad flag');
    expect('cause' in bare).toBe(false);
    expect(bare.hint).toBeUndefined();
    expect(bare.toJSON()).toEqual({ code: 'USAGE', message: 'bad flag', hint: undefined, details: undefined });
  });

  it('isStorageError tells ours from any other error or value', () => {
    expect(isStorageError(new StorageError('FAILED', 'x'))).toBe(true);
    const lookalike = Object.assign(new Error('x'), { code: 'FAILED', exitCode: 1 });
    expect(isStorageError(lookalike)).toBe(false);
    expect(isStorageError({ code: 'FAILED' })).toBe(false);
    expect(isStorageError(undefined)).toBe(false);
  });
});
