/**
 * Batch semantics (ProbeSession.batch) one call at a time: for sessions without batch() (the
 * simulator, a caller's own binding, an addon without it). The device sees exactly the calls a
 * batch makes: the same operations in the same order, an `expect` read-back checked before the
 * next operation, a stop at the first failure with the error that call threw.
 */
import type { ProbeBatchResult, ProbeOperation, ProbeSession } from './types';
import { bytesEqual, wordAt } from '../bytes';

/** Whether `op` (an onlyIf read) runs, from the earlier result it names. */
function conditionHolds(op: ProbeOperation, results: ReadonlyArray<Uint8Array | number | undefined>): boolean {
  if (op.op !== 'read' || op.onlyIf === undefined) return true;
  const source = results[op.onlyIf.op];
  if (!(source instanceof Uint8Array) || op.onlyIf.offset + 4 > source.length) return false;
  return (wordAt(source, op.onlyIf.offset) & op.onlyIf.mask) >>> 0 !== 0;
}

/** The operations one call at a time, with batch() semantics (for sessions without batch()). */
export async function runOneByOne(session: ProbeSession, operations: readonly ProbeOperation[]): Promise<ProbeBatchResult> {
  const results: Array<Uint8Array | number | undefined> = new Array(operations.length).fill(undefined);
  const skipped: boolean[] = new Array(operations.length).fill(false);
  const result: ProbeBatchResult = {
    results,
    skipped,
    wipe: () => {
      for (const r of results) if (r instanceof Uint8Array) r.fill(0);
    },
  };
  for (let i = 0; i < operations.length; i++) {
    const op = operations[i]!;
    try {
      switch (op.op) {
        case 'read': {
          if (!conditionHolds(op, results)) {
            skipped[i] = true;
            break;
          }
          const bytes = await session.read(op.address, op.length);
          results[i] = bytes;
          if (op.expect !== undefined && !bytesEqual(bytes, op.expect)) return { ...result, stoppedAt: i, mismatch: true };
          break;
        }
        case 'readU32': {
          const word = await session.readU32(op.address);
          results[i] = word;
          if (op.expect !== undefined && word !== op.expect) return { ...result, stoppedAt: i, mismatch: true };
          break;
        }
        case 'write':
          await session.write(op.address, op.data, { nvmc: op.nvmc === true });
          break;
        case 'writeU32':
          await session.writeU32(op.address, op.value, { nvmc: op.nvmc === true });
          break;
        case 'selectCore':
          await session.selectCore(op.core);
          break;
        case 'halt':
          await session.halt();
          break;
      }
    } catch (error) {
      return { ...result, stoppedAt: i, error };
    }
  }
  return result;
}

