/**
 * runScopedOperations: a batch that enters a state, works in it and leaves it, with scoped()'s
 * rules, on a session without batch() (the operations one by one) and on one with batch() (the
 * session's own batch, here the one-by-one runner behind it): the leave runs after a failing body
 * as its own call and the body's error is the one thrown; a failing enter runs nothing more; a
 * failing leave is thrown when the body succeeded; `leaveFrom` marks operations made before the
 * state is entered.
 */
import { runScopedOperations } from '../../lib/device/batch';
import { runOneByOne } from '../../lib/probe/batch';
import type { ProbeOperation, ProbeSession } from '../../lib/probe/types';

/** Records writeU32 calls as "address=value"; the call numbered `failAt` (1-based) throws. */
function recordingSession(failAt: number | undefined, withBatch: boolean): { session: ProbeSession; calls: string[] } {
  const calls: string[] = [];
  const session = {
    writeU32: async (address: number, value: number) => {
      calls.push(`${address}=${value}`);
      if (calls.length === failAt) throw Object.assign(new Error(`call ${failAt} failed`), { code: 'PROBE_DISCONNECTED' });
    },
  } as unknown as ProbeSession;
  if (withBatch) (session as { batch?: ProbeSession['batch'] }).batch = (operations) => runOneByOne(session, operations);
  return { session, calls };
}

const enter: ProbeOperation = { op: 'writeU32', address: 1, value: 1 };
const body: ProbeOperation[] = [
  { op: 'writeU32', address: 2, value: 2 },
  { op: 'writeU32', address: 3, value: 3 },
];
const leave: ProbeOperation = { op: 'writeU32', address: 1, value: 0 };
const operations = [enter, ...body, leave];

describe.each([false, true])('runScopedOperations (session has batch(): %s)', (withBatch) => {
  test('all run: enter, body, leave, once each', async () => {
    const { session, calls } = recordingSession(undefined, withBatch);
    const result = await runScopedOperations(session, operations, () => new Error('no'));
    expect(result.stoppedAt).toBeUndefined();
    expect(calls).toEqual(['1=1', '2=2', '3=3', '1=0']);
  });

  test('a failing body operation: nothing more of the body, then the leave, and the body error is thrown', async () => {
    const { session, calls } = recordingSession(2, withBatch);
    await expect(runScopedOperations(session, operations, (r) => r.error)).rejects.toThrow('call 2 failed');
    expect(calls).toEqual(['1=1', '2=2', '1=0']);
  });

  test('a failing leave after a failing body does not hide the body error', async () => {
    const calls: string[] = [];
    const session = {
      writeU32: async (address: number, value: number) => {
        calls.push(`${address}=${value}`);
        if (address === 3 || (address === 1 && value === 0)) throw new Error(`${address}=${value} failed`);
      },
    } as unknown as ProbeSession;
    await expect(runScopedOperations(session, operations, (r) => r.error)).rejects.toThrow('3=3 failed');
    expect(calls).toEqual(['1=1', '2=2', '3=3', '1=0']);
  });

  test('a failing enter: nothing else runs, no leave', async () => {
    const { session, calls } = recordingSession(1, withBatch);
    await expect(runScopedOperations(session, operations, (r) => r.error)).rejects.toThrow('call 1 failed');
    expect(calls).toEqual(['1=1']);
  });

  test('with leaveFrom 0 a failing first operation still leaves', async () => {
    const { session, calls } = recordingSession(1, withBatch);
    await expect(runScopedOperations(session, operations, (r) => r.error, { leaveFrom: 0 })).rejects.toThrow('call 1 failed');
    expect(calls).toEqual(['1=1', '1=0']);
  });

  test('operations before leaveFrom fail without the leave', async () => {
    const { session, calls } = recordingSession(2, withBatch);
    await expect(runScopedOperations(session, operations, (r) => r.error, { leaveFrom: 3 })).rejects.toThrow('call 2 failed');
    expect(calls).toEqual(['1=1', '2=2']);
  });

  test('a failing leave after a body that succeeded is thrown', async () => {
    const { session, calls } = recordingSession(4, withBatch);
    await expect(runScopedOperations(session, operations, (r) => r.error)).rejects.toThrow('call 4 failed');
    expect(calls).toEqual(['1=1', '2=2', '3=3', '1=0']);
  });
});
