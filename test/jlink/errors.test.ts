/**
 * J-Link return values become the same stable codes as the nrfjprog backend's, with the J-Link
 * value in `vendorCode` and the function in `operation`. Failures are injected into the fake: the
 * k-th call of a function (counted from the session's JLINKARM_OpenEx) returns a given code.
 */
import type { ProbeSession } from '../../lib/probe/types';
import { fakeJlinkBinding, setNativeEnv, setupFakeJlink, type FakeJlinkFailure, type FakeJlinkSetup } from '../support/fake-jlink';
import { rejection } from '../support/rejection';

const SERIAL = 6001;
let fake: FakeJlinkSetup | undefined;
let session: ProbeSession | undefined;

afterEach(async () => {
  await session?.close();
  session = undefined;
  await fake?.dispose();
  fake = undefined;
});

async function openWith(failures: FakeJlinkFailure[], probe: { locked?: boolean; lowVoltage?: boolean; noTarget?: boolean } = {}, busyPolls?: number): Promise<ProbeSession> {
  fake = await setupFakeJlink({ probes: [{ serial: SERIAL, chip: 'nrf5340', ...probe }], failures, busyPolls });
  session = await fakeJlinkBinding().open(SERIAL);
  return session;
}

// Opening an nRF5340 reads FICR INFO.PART once: the first read after opening is ReadMemEx call 2.
describe.each([
  [-256, 'PROBE_DISCONNECTED'],
  [-257, 'PROBE_DISCONNECTED'],
  [-259, 'LOW_VOLTAGE'],
  [-261, 'CANNOT_CONNECT'],
  [-262, 'NOT_IMPLEMENTED'],
  [-274, 'CANNOT_CONNECT'],
  [-1, 'VENDOR_LIBRARY_ERROR'],
])('JLINKARM_ReadMemEx returning %i', (vendorCode, code) => {
  it(`rejects a read with ${code}`, async () => {
    const probe = await openWith([{ function: 'JLINKARM_ReadMemEx', call: 2, code: vendorCode }]);
    const error = await rejection(probe.readU32(0x20000000));
    expect(error).toMatchObject({ code, vendorCode, operation: 'JLINKARM_ReadMemEx' });
    expect(error.message).toContain(String(SERIAL));
    expect(await probe.readU32(0x00ff020c)).toBe(0x5340); // one failed call does not end the session
  });
});

it('a failed register write maps -270 to WRITE_FAILED', async () => {
  const probe = await openWith([{ function: 'JLINKARM_WriteU32', call: 1, code: -270 }]);
  expect(await rejection(probe.writeU32(0x20000000, 1))).toMatchObject({ code: 'WRITE_FAILED', vendorCode: -270, operation: 'JLINKARM_WriteU32' });
});

it('a failing NVMC write still puts NVMC.CONFIG back to read-only', async () => {
  // WriteMemEx call 1 is the 8-byte data write between CONFIG = Wen and CONFIG = Ren.
  const probe = await openWith([{ function: 'JLINKARM_WriteMemEx', call: 1, code: -1 }]);
  const error = await rejection(probe.write(0x00001000, new Uint8Array(8).fill(0x11), { nvmc: true }));
  expect(error).toMatchObject({ code: 'VENDOR_LIBRARY_ERROR', operation: 'JLINKARM_WriteMemEx' });
  expect(await probe.readU32(0x50039504)).toBe(0);
});

it('a probe that stops answering for good fails every later call with PROBE_DISCONNECTED', async () => {
  const probe = await openWith([{ function: '*', call: 1, code: -256, sticky: true }].map((f) => ({ ...f, function: 'JLINKARM_ReadMemEx', call: 2 })));
  expect((await rejection(probe.readU32(0))).code).toBe('PROBE_DISCONNECTED');
  expect((await rejection(probe.read(0, 16))).code).toBe('PROBE_DISCONNECTED');
});

it('opening: OpenEx failing is CANNOT_CONNECT, an unknown device name UNKNOWN_DEVICE', async () => {
  fake = await setupFakeJlink({ probes: [{ serial: SERIAL, chip: 'nrf5340' }], failures: [{ function: 'JLINKARM_OpenEx', call: 1, code: -1 }] });
  expect(await rejection(fakeJlinkBinding().open(SERIAL))).toMatchObject({ code: 'CANNOT_CONNECT', operation: 'JLINKARM_OpenEx' });
  fake.update({ probes: [{ serial: SERIAL, chip: 'nrf5340' }], failures: [{ function: 'JLINKARM_ExecCommand', call: 8, code: -1 }] }); // after the 7 batch-mode commands: `Device =`
  expect(await rejection(fakeJlinkBinding().open(SERIAL))).toMatchObject({ code: 'UNKNOWN_DEVICE', operation: 'JLINKARM_ExecCommand' });
});

it('opening: a target without power is LOW_VOLTAGE, no CPU behind the probe CANNOT_CONNECT', async () => {
  fake = await setupFakeJlink({ probes: [{ serial: SERIAL, chip: 'nrf5340', lowVoltage: true }, { serial: SERIAL + 1, chip: 'nrf5340', noTarget: true }] });
  expect(await rejection(fakeJlinkBinding().open(SERIAL))).toMatchObject({ code: 'LOW_VOLTAGE', vendorCode: -259, operation: 'JLINKARM_Connect' });
  expect(await rejection(fakeJlinkBinding().open(SERIAL + 1))).toMatchObject({ code: 'CANNOT_CONNECT', vendorCode: -261, operation: 'JLINKARM_Connect' });
});

it('an access-port failure keeps the J-Link code and function', async () => {
  const probe = await openWith([{ function: 'JLINKARM_CORESIGHT_ReadAPDPReg', call: 1, code: -257 }]);
  expect(await rejection(probe.readAccessPort(2, 0xfc))).toMatchObject({ code: 'PROBE_DISCONNECTED', vendorCode: -257, operation: 'JLINKARM_CORESIGHT_ReadAPDPReg' });
});

it('a CTRL-AP erase-all that never finishes fails recover with RECOVER_FAILED after the deadline', async () => {
  await setNativeEnv('TFM_PROVISION_JLINK_ERASE_TIMEOUT_MS', '150');
  try {
    const probe = await openWith([], {}, 1_000_000_000);
    const error = await rejection(probe.recover());
    expect(error.code).toBe('RECOVER_FAILED');
    expect(error.message).toMatch(/AP2.*150 ms/); // the application core is erased first (probe-rs order)
  } finally {
    await setNativeEnv('TFM_PROVISION_JLINK_ERASE_TIMEOUT_MS', undefined);
  }
});
