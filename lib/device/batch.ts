/**
 * Probe operations in batches: the reads and writes of one step sent to the probe's thread in one
 * crossing where the session offers batch() (the native binding, docs/performance.md), and the very
 * same operations one call at a time where it does not (the simulator, a caller's own binding).
 * Either way the device sees the same calls in the same order, a read-back with `expect` is checked
 * before anything after it is written, and a failure stops the batch at the failing operation with
 * the error that call alone throws.
 */
import type { ProbeBatchResult, ProbeOperation, ProbeSession } from '../probe/types';
import { runOneByOne } from '../probe/batch';

/** Runs `operations` through session.batch() when the session has it, else one by one. */
export function runOperations(session: ProbeSession, operations: readonly ProbeOperation[]): Promise<ProbeBatchResult> {
  if (operations.length === 0) return runOneByOne(session, operations);
  return typeof session.batch === 'function' ? session.batch(operations) : runOneByOne(session, operations);
}

/**
 * A batch whose first operation enters a state and whose last leaves it (select a KMU slot or a
 * core, ..., deselect), with scoped()'s rules: when the body fails, the leave still runs (as its own
 * call) and the body's error is the one reported; a failing leave is reported only when the body
 * succeeded; a failing enter runs nothing else. `failure(result)` turns a body stop into the error
 * to throw (a mismatch is the caller's to name). Returns the result of a batch that ran to its end.
 * `leaveFrom` (default 1, after the enter): a stop before this index throws without the leave (the
 * enter, or reads made before the state is entered, failed); 0 when there is nothing to enter.
 */
export async function runScopedOperations(
  session: ProbeSession,
  operations: readonly ProbeOperation[],
  failure: (result: ProbeBatchResult) => unknown,
  options: { leaveFrom?: number } = {},
): Promise<ProbeBatchResult> {
  const result = await runOperations(session, operations);
  const at = result.stoppedAt;
  if (at === undefined) return result;
  const last = operations.length - 1;
  if (at < (options.leaveFrom ?? 1) || at === last) {
    result.wipe();
    throw at === last && result.mismatch ? failure(result) : result.error;
  }
  let error: unknown;
  try {
    error = result.mismatch ? failure(result) : result.error;
  } finally {
    result.wipe();
  }
  const leave = await runOperations(session, [operations[last]!]);
  leave.wipe();
  throw error;
}
