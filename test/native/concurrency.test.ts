/**
 * 16 probes at once through the real addon: each probe has its own thread, so calls on different
 * probes overlap while calls on one probe keep their order. Log lines from the fake's own thread
 * reach the session's listeners.
 */
import { loadNativeAddon } from '../../lib/probe/native';
import type { ProbeLogEntry, ProbeSession } from '../../lib/probe/types';
import { fakeNrfjprog } from '../support/fake-vendor';

const PROBES = 16;
const RAM = 0x20000000;

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000; // generous: only a lost message gets near it
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('16 probes in parallel', () => {
  it('runs one call on each of 16 probes at the same time (they meet inside the vendor library)', async () => {
    const probes = Array.from({ length: PROBES }, (_, i) => ({ serialNumber: 2000 + i }));
    // Each instance's first read waits until all 16 are waiting: impossible if probes were
    // serialised, or capped by the 4 threads of the libuv pool (it then fails with TIME_OUT).
    const binding = fakeNrfjprog({ probes, barrier: { count: PROBES, function: 'NRFJPROG_read_u32_inst' } }).binding();
    const sessions = await Promise.all(probes.map((p) => binding.open(p.serialNumber)));
    try {
      const parts = await Promise.all(sessions.map((s) => s.readU32(0x00ff020c)));
      expect(parts).toEqual(new Array(PROBES).fill(0x5340));
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
  });

  it('keeps every probe in call order while calls on 16 probes interleave', async () => {
    const probes = Array.from({ length: PROBES }, (_, i) => ({ serialNumber: 3000 + i, chip: i % 2 ? ('nrf9160' as const) : ('nrf5340' as const) }));
    const fake = fakeNrfjprog({ probes, trace: true, latencyUs: 100 });
    const binding = fake.binding();
    const sessions: ProbeSession[] = await Promise.all(probes.map((p) => binding.open(p.serialNumber)));
    const ROUNDS = 40;
    try {
      // Everything issued up front, nothing awaited per call: 16 x 40 x 3 calls in flight.
      const pending: Array<Promise<unknown>> = [];
      const reads: Array<{ serial: number; round: number; value: Promise<number> }> = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (const session of sessions) {
          const value = session.serialNumber * 1000 + round;
          pending.push(session.writeU32(RAM, value));
          pending.push(session.write(RAM + 4, new Uint8Array([round, round, round, round])));
          reads.push({ serial: session.serialNumber, round, value: session.readU32(RAM) });
        }
      }
      await Promise.all(pending);
      for (const read of reads) expect(await read.value).toBe(read.serial * 1000 + read.round);
      for (const session of sessions) expect(Array.from(await session.read(RAM + 4, 4))).toEqual(new Array(4).fill(ROUNDS - 1));

      const trace = fake.readTrace();
      for (const session of sessions) {
        const written = trace
          .filter((e) => e.serialNumber === session.serialNumber && e.function === 'NRFJPROG_write_u32_inst')
          .map((e) => Number(e.args[1]));
        expect(written).toEqual(Array.from({ length: ROUNDS }, (_, round) => session.serialNumber * 1000 + round));
      }
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
  });

  it('forwards log lines the vendor library emits from its own thread, per session and in order', async () => {
    const probes = [{ serialNumber: 4001 }, { serialNumber: 4002 }];
    const binding = fakeNrfjprog({ probes, logMessages: 5, logIntervalUs: 200 }).binding();
    const received = new Map<number, ProbeLogEntry[]>();
    const sessions = await Promise.all(
      probes.map(async (p) => {
        const session = await binding.open(p.serialNumber);
        received.set(p.serialNumber, []);
        session.onLog((entry) => received.get(p.serialNumber)!.push(entry));
        return session;
      }),
    );
    try {
      await waitFor(() => [...received.values()].every((entries) => entries.length >= 5), 'five log lines per probe');
      for (const [serial, entries] of received) {
        // the first lines may have arrived before the listener was added
        const expected = Array.from({ length: 5 }, (_, i) => `probe ${serial}: log message ${i + 1} of 5`);
        expect(entries.map((e) => e.message)).toEqual(expected.slice(5 - entries.length));
        for (const entry of entries) {
          expect(entry.level).toBe('info');
          expect(entry.source).toBe('nrfjprog/fake-nrfjprog');
        }
      }
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
  });

  it('stops delivering to a listener after unsubscribe and survives a listener that throws', async () => {
    const binding = fakeNrfjprog({ logMessages: 20, logIntervalUs: 500 }).binding();
    const session = await binding.open(1000);
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const kept: string[] = [];
      const dropped: string[] = [];
      session.onLog(() => {
        throw new Error('listener bug');
      });
      session.onLog((e) => kept.push(e.message));
      const unsubscribe = session.onLog((e) => dropped.push(e.message));
      await waitFor(() => kept.length >= 2, 'two log lines');
      unsubscribe();
      const droppedSoFar = dropped.length;
      await waitFor(() => kept.length >= 6, 'six log lines');
      expect(dropped.length).toBe(droppedSoFar);
      expect(await session.readU32(0x00ff020c)).toBe(0x5340); // the session still works
      expect(String(emitWarning.mock.calls[0]?.[0])).toContain('listener bug');
    } finally {
      emitWarning.mockRestore();
      await session.close();
    }
  });

  it('leaves no probe thread behind once every session is closed', async () => {
    const binding = fakeNrfjprog({ probes: Array.from({ length: PROBES }, (_, i) => ({ serialNumber: 5000 + i })) }).binding();
    const addon = loadNativeAddon();
    await waitFor(() => addon.liveWorkers() === 0, 'threads of earlier tests to end');
    const baseline = addon.liveWorkers();
    const sessions = await Promise.all(Array.from({ length: PROBES }, (_, i) => binding.open(5000 + i)));
    expect(addon.liveWorkers()).toBe(baseline + PROBES);
    await Promise.all(sessions.map((s) => s.close()));
    await waitFor(() => addon.liveWorkers() === baseline, 'the probe threads to end');
  });
});
