/**
 * The provisioning flow through the `jlink` backend (REAL addon, fake libjlinkarm) leaves the same
 * UICR as the simulator and as the `nrfjprog` backend (fake nrfjprog), for the same seeded
 * randomness and device ID: the sequence does not depend on which library carries it.
 *
 * The fake J-Link gates KMU words as the chip does (unselected or unreadable slots read
 * 0xDEADDEAD), so its UICR is compared chip-off: from the device state it saves at close.
 */
import { provision } from '../../lib/provision';
import type { ProvisionResult, ProvisionResultFields } from '../../lib/provision';
import type { ProbeSession } from '../../lib/probe/types';
import { seededRandom } from '../../lib/random';
import { createSimProbe } from '../../lib/sim';
import { getTarget, type ChipName } from '../../lib/targets';
import { fakeNrfjprog } from '../support/fake-vendor';
import { fakeJlinkBinding, readFakeJlinkState, setupFakeJlink, type FakeJlinkSetup } from '../support/fake-jlink';

const DEVICE_ID = '0123456789abcdef';
const SERIAL = 8001;

let fake: FakeJlinkSetup | undefined;

afterEach(async () => {
  await fake?.dispose();
  fake = undefined;
});

function words(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(4 * i, true));
}

/**
 * Opens the fake nrfjprog with FICR DEVICEID holding exactly the bytes of `deviceId`. The fakes
 * spell a device ID differently (the nrfjprog fake reads it as two hex words, the J-Link fake and
 * the simulator as bytes); what provisioning reads, and wraps the identity key with, is the bytes.
 */
async function openNrfjprogWithDeviceId(serialNumber: number, chip: ChipName, deviceId: string): Promise<ProbeSession> {
  const asWords = deviceId.replace(/(..)(..)(..)(..)/g, '$4$3$2$1');
  for (const spelling of [deviceId, asWords]) {
    const session = await fakeNrfjprog({ probes: [{ serialNumber, chip, deviceId: spelling }] }).binding().open(serialNumber);
    if (Buffer.from(await session.read(getTarget(chip).ficr.deviceId0, 8)).toString('hex') === deviceId) return session;
    await session.close();
  }
  throw new Error(`the fake nrfjprog cannot be given FICR DEVICEID ${deviceId}`);
}

/** Word differences as "address: jlink != other" lines, for a readable failure. */
function differences(base: number, jlink: Uint8Array, other: Uint8Array, skip: (index: number) => boolean = () => false): string[] {
  const a = words(jlink);
  const b = words(other);
  return a.flatMap((w, i) => (skip(i) || w === b[i] ? [] : [`0x${(base + 4 * i).toString(16)}: ${w.toString(16)} != ${b[i]!.toString(16)}`]));
}

describe.each(['nrf5340', 'nrf9160', 'nrf9161'] as ChipName[])('%s', (chip) => {
  const target = getTarget(chip);

  it('leaves the same UICR as the simulator and the nrfjprog backend for the same seed', async () => {
    const seed = `jlink-parity-${chip}`;

    // The simulator: its factory UICR may hold words the fakes do not have (e.g. APPROTECT opened).
    const sim = await createSimProbe({ chip, deviceId: DEVICE_ID });
    const simFactory = words(sim.device.dump().cores.application.uicr.data);
    const simResult = await provision(sim.session, { random: seededRandom(seed) });
    expect(simResult).toMatchObject({ ok: true, outcome: 'provisioned' });
    const simDump = sim.device.dump();

    // The jlink backend on the fake J-Link.
    fake = await setupFakeJlink({ probes: [{ serial: SERIAL, chip, deviceId: DEVICE_ID }], busyPolls: 2 });
    const binding = fakeJlinkBinding();
    let result: ProvisionResult;
    const session = await binding.open(SERIAL);
    try {
      expect(session.simulated).toBe(true);
      result = await provision(session, { random: seededRandom(seed) });
    } finally {
      await session.close();
    }
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned', deviceId: DEVICE_ID, writes: simResult.writes });
    expect((result as ProvisionResultFields).identityPublicKey?.hex).toBe((simResult as ProvisionResultFields).identityPublicKey?.hex);

    const state = readFakeJlinkState(fake.stateDir, SERIAL, chip);
    const jlinkUicr = state.application!.uicr;
    const erased = 0xffffffff;
    // Every word the fake started with (all erased) matches the simulator, except the simulator's own
    // factory words, which provisioning does not touch.
    expect(differences(target.application.uicrBase, jlinkUicr, simDump.cores.application.uicr.data, (i) => simFactory[i] !== erased)).toEqual([]);
    expect(words(jlinkUicr).filter((w) => w !== erased).length).toBeGreaterThan(10);
    if (target.network) {
      expect(words(state.network!.uicr)[0]).toBe(0); // network core APPROTECT = Protected
      expect(differences(target.network.uicrBase, state.network!.uicr, simDump.cores.network!.uicr.data)).toEqual([]);
    }

    // The nrfjprog backend on the fake nrfjprog: the same words where it could read them (it does not
    // gate KMU reads, so its read-back is a chip-off view too).
    const other = await openNrfjprogWithDeviceId(SERIAL + 1, chip, DEVICE_ID);
    try {
      const before = await other.read(target.application.uicrBase, target.application.uicrSize);
      expect(await provision(other, { random: seededRandom(seed) })).toMatchObject({ ok: true, outcome: 'provisioned', writes: result.writes });
      const after = await other.read(target.application.uicrBase, target.application.uicrSize);
      const startedErased = words(before).map((w) => w === erased);
      expect(differences(target.application.uicrBase, jlinkUicr, after, (i) => !startedErased[i])).toEqual([]);
    } finally {
      await other.close();
    }

    // A re-run through the jlink backend finds the device provisioned and writes nothing.
    const again = await binding.open(SERIAL);
    try {
      expect(await provision(again, { random: seededRandom('other') })).toMatchObject({ ok: true, outcome: 'alreadyProvisioned', writes: 0 });
    } finally {
      await again.close();
    }
  });
});
