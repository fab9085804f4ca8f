/** The error a promise rejected with, for tests that then look at its code and message. */
import type { TfmError } from '../../lib/errors';

/** Fails the test with "expected <what>" when the promise resolves instead of rejecting. */
export async function rejection(promise: Promise<unknown>, what = 'a rejection'): Promise<TfmError> {
  try {
    await promise;
  } catch (error) {
    return error as TfmError;
  }
  throw new Error(`expected ${what}`);
}
