// The StorageError a piece of work is refused with (the test fails when it is not refused, or with another kind of error).
import { expect } from 'vitest';
import { StorageError } from '../../src/engine/errors.js';

export async function refusal(work: Promise<unknown> | (() => unknown)): Promise<StorageError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected a refusal');
}
