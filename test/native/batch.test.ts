/**
 * ProbeSession.batch through the real addon and the fake nrfjprog library: the operations run as
 * the vendor calls of their names, in order, in one crossing; a failure or a read-back that differs
 * from `expect` stops the batch there (nothing after it reaches the library); the error is the one
 * the single call would throw; `onlyIf` skips a read; and the one-by-one runner
 * (lib/probe/batch.ts, for sessions without batch) gives the same results and the same calls.
 */
import { ProbeError } from '../../lib/errors';
import { provision } from '../../lib/provision';
import { runOneByOne } from '../../lib/probe/batch';
import { NativeBinding, loadNativeAddon, type NativeAddon, type NativeSessionHandle } from '../../lib/probe/native';
import type { ProbeBatchResult, ProbeOperation, ProbeSession } from '../../lib/probe/types';
import { countOperations } from '../../lib/device/counting-session';
import { fakeNrfjprog, type FakeNrfjprogOptions } from '../support/fake-vendor';

const RAM = 0x20000000;

function words(...values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0, true));
  return bytes;
}

async function withSession<T>(options: FakeNrfjprogOptions, body: (session: ProbeSession, trace: () => string[]) => Promise<T>): Promise<T> {
  const fake = fakeNrfjprog({ trace: true, ...options });
  const session = await fake.binding().open(1000);
  const start = fake.readTrace().length;
  try {
    return await body(session, () =>
      fake
        .readTrace()
        .slice(start)
        .map((e) => `${e.function.replace(/^NRFJPROG_|_inst$/g, '')} ${e.args.join(' ')}`.trim()),
    );
  } finally {
    await session.close();
  }
}

const PROGRAM: ProbeOperation[] = [
  { op: 'writeU32', address: RAM, value: 0x11223344 },
  { op: 'write', address: RAM + 4, data: words(0x55667788, 0x99aabbcc) },
  { op: 'read', address: RAM, length: 12, expect: words(0x11223344, 0x55667788, 0x99aabbcc) },
  { op: 'readU32', address: RAM + 8, expect: 0x99aabbcc },
  // bit 31 of the word at offset 4 of operation 2 is clear: skipped
  { op: 'read', address: RAM, length: 4, onlyIf: { op: 2, offset: 4, mask: 0x80000000 } },
  // bit 2 of 0x55667788 is clear too, bit 3 is set: runs
  { op: 'read', address: RAM + 4, length: 4, onlyIf: { op: 2, offset: 4, mask: 0x8 } },
  { op: 'halt' },
];

function plain(result: ProbeBatchResult): unknown {
  return {
    results: result.results.map((r) => (r instanceof Uint8Array ? Array.from(r) : r)),
    skipped: result.skipped,
    stoppedAt: result.stoppedAt,
    mismatch: result.mismatch,
    code: (result.error as ProbeError | undefined)?.code,
  };
}

describe('probe batches on the native binding', () => {
  it('runs every operation as its vendor call, in order, with reads, expects and onlyIf', async () => {
    const native = await withSession({}, async (session, trace) => {
      expect(typeof session.batch).toBe('function');
      const result = await session.batch!(PROGRAM);
      expect(result.stoppedAt).toBeUndefined();
      expect(Array.from(result.results[2] as Uint8Array)).toEqual(Array.from(words(0x11223344, 0x55667788, 0x99aabbcc)));
      expect(result.results[3]).toBe(0x99aabbcc);
      expect(result.skipped).toEqual([false, false, false, false, true, false, false]);
      expect(result.results[4]).toBeUndefined();
      expect(Array.from(result.results[5] as Uint8Array)).toEqual(Array.from(words(0x55667788)));
      return { result: plain(result), calls: trace() };
    });
    expect(native.calls.map((c) => c.split(' ')[0])).toEqual(['write_u32', 'write', 'read', 'read_u32', 'read', 'halt']);
    // The one-by-one runner on a fresh device: the same results and the same vendor calls.
    const oneByOne = await withSession({}, async (session, trace) => ({ result: plain(await runOneByOne(session, PROGRAM)), calls: trace() }));
    expect(oneByOne).toEqual(native);
  });

  it('stops at a read-back that differs from expect: nothing after it runs, the bytes read are returned', async () => {
    await withSession({}, async (session, trace) => {
      const result = await session.batch!([
        { op: 'writeU32', address: RAM, value: 0xa5a5a5a5 },
        { op: 'read', address: RAM, length: 4, expect: words(0x5a5a5a5a) },
        { op: 'writeU32', address: RAM + 4, value: 1 },
      ]);
      expect(result).toMatchObject({ stoppedAt: 1, mismatch: true });
      expect(result.error).toBeUndefined();
      expect(Array.from(result.results[1] as Uint8Array)).toEqual(Array.from(words(0xa5a5a5a5)));
      result.wipe();
      expect(Array.from(result.results[1] as Uint8Array)).toEqual([0, 0, 0, 0]);
      expect(trace().map((c) => c.split(' ')[0])).toEqual(['write_u32', 'read']);
      expect(await session.readU32(RAM + 4)).toBe(0); // the write after the mismatch was not made
    });
  });

  it("stops at a failing call with the single call's error (code, vendor code, function) and runs nothing after it", async () => {
    await withSession({ failures: [{ code: -90, function: 'NRFJPROG_write_u32_inst', call: 2 }] }, async (session, trace) => {
      const result = await session.batch!([
        { op: 'writeU32', address: RAM, value: 1 },
        { op: 'writeU32', address: RAM + 4, value: 2 },
        { op: 'read', address: RAM, length: 8 },
      ]);
      expect(result.stoppedAt).toBe(1);
      expect(result.mismatch).toBeUndefined();
      const error = result.error as ProbeError;
      expect(error).toBeInstanceOf(ProbeError);
      expect(error).toMatchObject({ code: 'DEVICE_PROTECTED', vendorCode: -90, operation: 'NRFJPROG_write_u32_inst' });
      expect(error.message).toContain('0x20000004');
      expect(trace().map((c) => c.split(' ')[0])).toEqual(['write_u32', 'write_u32']);
    });
  });

  it('counts the operations that reached the device, as single calls are counted', async () => {
    await withSession({ failures: [{ code: -90, function: 'NRFJPROG_read_inst', call: 3 }] }, async (session) => {
      const counting = countOperations(session);
      expect((await counting.session.batch!(PROGRAM.slice(0, 6))).stoppedAt).toBeUndefined(); // 5 calls: one read skipped
      expect(counting.count()).toEqual({ operations: 5, writes: 2, nvmcWrites: 0 });
      const failed = await counting.session.batch!([{ op: 'read', address: RAM, length: 4 }, { op: 'writeU32', address: RAM, value: 0, nvmc: false }]);
      expect(failed.stoppedAt).toBe(0);
      expect(counting.count().operations).toBe(6); // the failed read reached the library, the write did not
    });
  });

  it('refuses malformed operations before anything runs', async () => {
    await withSession({}, async (session, trace) => {
      const bad: ProbeOperation[][] = [
        [],
        [{ op: 'read', address: RAM, length: 4, expect: new Uint8Array(3) }],
        [{ op: 'writeU32', address: -1, value: 0 }],
        [{ op: 'read', address: RAM, length: 4, onlyIf: { op: 0, offset: 0, mask: 1 } }],
        [{ op: 'readU32', address: RAM }, { op: 'read', address: RAM, length: 4, onlyIf: { op: 0, offset: 0, mask: 1 } }],
        [{ op: 'selectCore', core: 'radio' as never }],
        [{ op: 'erase' } as never],
      ];
      for (const operations of bad) {
        await expect(session.batch!(operations)).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
      }
      expect(trace()).toEqual([]);
    });
  });

  // docs/performance.md: the crossings between JavaScript and the probe's thread per device (each
  // costs main-thread time); the probe operations stay those of operation-count.test.ts.
  it.each([
    ['nrf5340', 79, 19],
    ['nrf9160', 54, 12],
  ] as const)('a host-strategy run on a fresh %s makes %i probe operations in %i crossings', async (chip, operations, crossings) => {
    const real = loadNativeAddon();
    const fake = fakeNrfjprog({ probes: [{ serialNumber: 1000, chip }] });
    const calls: string[] = [];
    const injected: NativeAddon = {
      abiVersion: real.abiVersion,
      liveWorkers: () => real.liveWorkers(),
      shutdown: () => real.shutdown(),
      Library: real.Library,
      Session: function Session(library: ConstructorParameters<NativeAddon['Session']>[0]) {
        const inner = new real.Session(library);
        return new Proxy(inner, {
          get(target, property) {
            const value = Reflect.get(target, property, target) as unknown;
            if (typeof value !== 'function') return value;
            if (property === 'setLogListening' || property === 'abandon') return (value as (...a: unknown[]) => unknown).bind(target); // no probe call
            return (...args: unknown[]) => {
              calls.push(String(property));
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
          set(target, property, value) {
            return Reflect.set(target, property, value, target);
          },
        }) as NativeSessionHandle;
      } as unknown as NativeAddon['Session'],
    };
    const session = await new NativeBinding({ backend: 'nrfjprog', library: fake.libraryPath, nativeAddon: injected }).open(1000);
    let result;
    try {
      result = await provision(session, {});
    } finally {
      await session.close();
    }
    const r = result as unknown as { outcome: string; errorCode?: string; error?: { message: string }; operations: number };
    expect([r.outcome, r.errorCode, r.error?.message]).toEqual(['provisioned', undefined, undefined]);
    expect(r.operations).toBe(operations);
    expect(calls.filter((c) => c === 'batch').length).toBeGreaterThan(0);
    expect(calls.length).toBe(crossings); // open and close included
  });
});
