/**
 * A vendor call that hangs fails with PROBE_TIMEOUT after the binding's callTimeoutMs, saying the
 * probe must be power-cycled; the session is then unusable, and a close() (also one queued behind
 * the hung call) settles instead of waiting for ever. The fake's hung call returns after 3 s, so
 * nothing is left running once the test is over.
 */
import { fakeNrfjprog } from '../support/fake-vendor';
import { rejection } from '../support/rejection';

const HANG_MS = 3000;

async function timedOut(promise: Promise<unknown>): Promise<Error> {
  const error = await rejection(promise, 'PROBE_TIMEOUT');
  expect(error.code).toBe('PROBE_TIMEOUT');
  return error;
}

it('a hung call fails with PROBE_TIMEOUT telling to power-cycle the probe; later calls fail at once; close settles', async () => {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: 301 }], hangs: [{ function: 'NRFJPROG_read_u32_inst', ms: HANG_MS }] });
  const session = await fake.binding({ callTimeoutMs: 400 }).open(301);
  const error = await timedOut(session.readU32(0x20000000));
  expect(error.message).toContain('Power-cycle the probe');
  expect(error.message).toContain('301');
  await timedOut(session.writeU32(0x20000000, 1));
  await expect(session.close()).resolves.toBeUndefined();
});

it('a close queued behind a hung call settles when that call times out', async () => {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: 302 }], hangs: [{ function: 'NRFJPROG_read_u32_inst', ms: HANG_MS }] });
  const session = await fake.binding({ callTimeoutMs: 400 }).open(302);
  const call = session.readU32(0x20000000);
  const closed = session.close();
  await timedOut(call);
  await expect(closed).resolves.toBeUndefined();
});

it('a close that itself hangs fails with PROBE_TIMEOUT', async () => {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: 303 }], hangs: [{ function: 'NRFJPROG_disconnect_from_emu_inst', ms: HANG_MS }] });
  const session = await fake.binding({ callTimeoutMs: 400 }).open(303);
  await timedOut(session.close());
});
