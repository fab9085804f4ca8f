/**
 * Several J-Link probes in one process. libjlinkarm keeps ONE selected emulator per loaded copy
 * (JLINKARM_EMU_SelectByUSBSN sets a global), and so does the fake: if two sessions shared a copy,
 * the second open would redirect the first session's calls to the second probe. These tests pass
 * only because each session runs on its own private copy of the library.
 */
import type { ProbeSession } from '../../lib/probe/types';
import { fakeJlinkBinding, readFakeJlinkState, readFakeJlinkTrace, setupFakeJlink, type FakeJlinkSetup } from '../support/fake-jlink';

const UICR_WORD = 0x00ff8200;
const RAM_WORD = 0x20000000;

let fake: FakeJlinkSetup;

afterEach(async () => {
  await fake.dispose();
});

it('writes on one probe never show on the other, whatever the interleaving', async () => {
  fake = await setupFakeJlink({ probes: [{ serial: 5001, chip: 'nrf5340' }, { serial: 5002, chip: 'nrf5340' }], trace: true });
  const binding = fakeJlinkBinding();
  const a = await binding.open(5001);
  const b = await binding.open(5002); // opened second: a shared copy would now point at 5002
  try {
    await a.writeU32(RAM_WORD, 0xaaaa0001);
    await b.writeU32(RAM_WORD, 0xbbbb0002);
    await a.writeU32(UICR_WORD, 0x0000aaaa, { nvmc: true });
    expect(await a.readU32(RAM_WORD)).toBe(0xaaaa0001);
    expect(await b.readU32(RAM_WORD)).toBe(0xbbbb0002);
    expect(await a.readU32(UICR_WORD)).toBe(0x0000aaaa);
    expect(await b.readU32(UICR_WORD)).toBe(0xffffffff);

    // Both probes busy at once, on their own worker threads.
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => a.writeU32(RAM_WORD + 4 * i, 0xa0000000 + i)),
      ...Array.from({ length: 20 }, (_, i) => b.writeU32(RAM_WORD + 4 * i, 0xb0000000 + i)),
    ]);
    const [ra, rb] = await Promise.all([a.read(RAM_WORD, 80), b.read(RAM_WORD, 80)]);
    const words = (bytes: Uint8Array): number[] => Array.from({ length: bytes.length / 4 }, (_, i) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(4 * i, true));
    expect(words(ra)).toEqual(Array.from({ length: 20 }, (_, i) => 0xa0000000 + i));
    expect(words(rb)).toEqual(Array.from({ length: 20 }, (_, i) => 0xb0000000 + i));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }

  // The devices agree: only probe 5001 was programmed.
  expect(new DataView(readFakeJlinkState(fake.stateDir, 5001, 'nrf5340').application!.uicr.buffer).getUint32(0x200, true)).toBe(0x0000aaaa);
  expect(new DataView(readFakeJlinkState(fake.stateDir, 5002, 'nrf5340').application!.uicr.buffer).getUint32(0x200, true)).toBe(0xffffffff);
  // And each library copy only ever talked to the probe it selected.
  const bySerial = new Map<number, number>();
  for (const line of readFakeJlinkTrace(fake.tracePath!)) bySerial.set(line.serial, (bySerial.get(line.serial) ?? 0) + 1);
  expect([...bySerial.keys()].sort()).toEqual([5001, 5002]);
});

it('eight probes open at once each keep their own device', async () => {
  const serials = Array.from({ length: 8 }, (_, i) => 5100 + i);
  fake = await setupFakeJlink({ probes: serials.map((serial, i) => ({ serial, chip: i % 2 ? 'nrf9160' : 'nrf5340' })), latencyUs: 200 });
  const binding = fakeJlinkBinding();
  const sessions: ProbeSession[] = await Promise.all(serials.map((s) => binding.open(s)));
  try {
    await Promise.all(sessions.map((s) => s.writeU32(UICR_WORD, s.serialNumber, { nvmc: true })));
    const read = await Promise.all(sessions.map((s) => s.readU32(UICR_WORD)));
    expect(read).toEqual(serials);
    const families = await Promise.all(sessions.map(async (s) => (await s.deviceInfo()).family));
    expect(families).toEqual(serials.map((_, i) => (i % 2 ? 'NRF91' : 'NRF53')));
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
});

it('closing one session does not disturb another, and the probe can be opened again', async () => {
  fake = await setupFakeJlink({ probes: [{ serial: 5201, chip: 'nrf5340' }, { serial: 5202, chip: 'nrf5340' }] });
  const binding = fakeJlinkBinding();
  const a = await binding.open(5201);
  const b = await binding.open(5202);
  await b.writeU32(RAM_WORD, 0x5202);
  await a.close();
  expect(await b.readU32(RAM_WORD)).toBe(0x5202);
  const again = await binding.open(5201); // may reuse the library copy a released
  expect(await again.readU32(0x00ff020c)).toBe(0x5340);
  expect(await b.readU32(RAM_WORD)).toBe(0x5202);
  await Promise.all([again.close(), b.close()]);
});
