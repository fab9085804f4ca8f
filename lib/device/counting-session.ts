/**
 * Counts the probe operations a sequence performs, for the report and for the "zero writes on a
 * re-run" guarantee. It wraps any ProbeSession, so the count is the same on every backend.
 */
import type { ProbeBatchResult, ProbeOperation, ProbeSession } from '../probe/types';

export interface OperationCount {
  /** Every probe call that reaches the device (reads, writes, core selection, AP and reset calls). */
  operations: number;
  /** Calls that change device state: memory/register writes, erases, AP writes, resets. */
  writes: number;
  /** Writes that go through the NVMC (flash/UICR/KMU): the irreversible ones. */
  nvmcWrites: number;
}

const READS = new Set(['deviceInfo', 'read', 'readU32', 'readAccessPort', 'selectCore']);
const WRITES = new Set(['write', 'writeU32', 'erasePage', 'eraseAll', 'recover', 'writeAccessPort', 'reset', 'halt', 'go']);

export interface CountingSession {
  session: ProbeSession;
  count(): OperationCount;
}

export function countOperations(inner: ProbeSession): CountingSession {
  const total: OperationCount = { operations: 0, writes: 0, nvmcWrites: 0 };
  const count = (property: string, nvmc: boolean | undefined): void => {
    total.operations++;
    if (WRITES.has(property)) {
      total.writes++;
      if (nvmc === true || property === 'erasePage' || property === 'eraseAll' || property === 'recover') total.nvmcWrites++;
    }
  };
  /** A batch's operations that reached the device: those before its stop, and the one it stopped at. */
  const countBatch = (operations: readonly ProbeOperation[], result: ProbeBatchResult): void => {
    const ran = result.stoppedAt === undefined ? operations.length : result.stoppedAt + 1;
    for (let i = 0; i < ran; i++) {
      const op = operations[i]!;
      if (!result.skipped[i]) count(op.op, op.op === 'write' || op.op === 'writeU32' ? op.nvmc : undefined);
    }
  };
  const session = new Proxy(inner, {
    get(target, property) {
      // The target is the receiver: getters that read #private fields (NativeProbeSession) throw
      // when `this` is the proxy.
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      if (property === 'batch') {
        // Counted per operation, as the calls it stands for (the probe does each of them).
        return (operations: readonly ProbeOperation[]) =>
          (value as NonNullable<ProbeSession['batch']>).call(target, operations).then((result) => {
            countBatch(operations, result);
            return result;
          });
      }
      if (!READS.has(property) && !WRITES.has(property)) return value.bind(target);
      return (...args: unknown[]) => {
        const options = (property === 'write' || property === 'writeU32' ? args[2] : undefined) as { nvmc?: boolean } | undefined;
        count(property, options?.nvmc);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { session, count: () => ({ ...total }) };
}
