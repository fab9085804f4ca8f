/**
 * The same provisioning flow through the REAL native addon against the fake nrfjprog library leaves
 * the same UICR contents as the simulator, for the same seeded randomness and device ID: the
 * sequence does not depend on which backend carries it. The fake identifies itself as simulated
 * (its marker symbol), which is what lets seeded randomness and the model wrapper through.
 */
import { provision } from '../../lib/provision';
import { seededRandom } from '../../lib/random';
import { createSimProbe } from '../../lib/sim';
import { getTarget, type ChipName } from '../../lib/targets';
import { fakeNrfjprog } from '../support/fake-vendor';
import { asRealProbe, exportToNativeEnvironment } from './helpers';

const DEVICE_ID = '0123456789abcdef';
/**
 * The same device ID in the fake library's notation: it takes DEVICEID[0] and [1] as 32-bit word
 * values ("0123456789abcdef" -> DEVICEID[0] = 0x01234567), where the simulator, the wrapping model and
 * our reports use the bytes a read returns (little-endian words). Swap each word's bytes.
 */
const FAKE_DEVICE_ID = DEVICE_ID.replace(/(..)(..)(..)(..)/g, '$4$3$2$1');

describe.each(['nrf5340', 'nrf9160', 'nrf9161'] as ChipName[])('%s', (chip) => {
  const target = getTarget(chip);

  it('leaves the same application (and network) UICR as the simulator for the same seed', async () => {
    const seed = `parity-${chip}`;
    const sim = await createSimProbe({ chip, deviceId: DEVICE_ID });
    const simBefore = sim.device.dump();
    const simResult = await provision(sim.session, { random: seededRandom(seed) });
    expect(simResult).toMatchObject({ ok: true, outcome: 'provisioned' });
    const dump = sim.device.dump();

    const fake = fakeNrfjprog({ probes: [{ serialNumber: 1001, chip, deviceId: FAKE_DEVICE_ID }], chipOffView: true });
    await exportToNativeEnvironment('FAKE_NRFJPROG_CONFIG', fake.configPath);
    const session = await fake.binding().open(1001);
    try {
      expect(session.simulated).toBe(true);
      const uicrBefore = await session.read(target.application.uicrBase, target.application.uicrSize);
      const nativeResult = await provision(session, { random: seededRandom(seed) });
      expect(nativeResult).toMatchObject({ ok: true, outcome: 'provisioned', deviceId: DEVICE_ID, writes: simResult.writes });
      expect(nativeResult.outcome === 'provisioned' && simResult.outcome === 'provisioned').toBe(true);
      if (nativeResult.outcome === 'provisioned' && simResult.outcome === 'provisioned') expect(nativeResult.identityPublicKey?.hex).toBe(simResult.identityPublicKey?.hex);

      // chipOffView: the fake reads KMU words without selection gating, like the simulator's dump.
      const uicrAfter = await session.read(target.application.uicrBase, target.application.uicrSize);
      const simUicr = dump.cores.application.uicr;
      expect(simUicr.address).toBe(target.application.uicrBase);
      const changedWords = (before: Uint8Array, after: Uint8Array): Record<string, string> => {
        const changes: Record<string, string> = {};
        for (let o = 0; o < after.length; o += 4) {
          const a = Buffer.from(after.subarray(o, o + 4)).toString('hex');
          if (a !== Buffer.from(before.subarray(o, o + 4)).toString('hex')) changes[(target.application.uicrBase + o).toString(16)] = a;
        }
        return changes;
      };
      // The same words changed, to the same values (the two factory UICRs differ: the simulator's
      // opens APPROTECT, the fake's is erased)...
      const nativeChanges = changedWords(uicrBefore, uicrAfter);
      expect(nativeChanges).toEqual(changedWords(simBefore.cores.application.uicr.data, simUicr.data));
      expect(Object.keys(nativeChanges).length).toBeGreaterThan(10);
      // ...and the whole UICR agrees wherever the two started the same.
      for (let o = 0; o < uicrAfter.length; o += 4) {
        if (Buffer.compare(uicrBefore.subarray(o, o + 4), simBefore.cores.application.uicr.data.subarray(o, o + 4)) === 0) {
          expect([o, Buffer.from(uicrAfter.subarray(o, o + 4)).toString('hex')]).toEqual([o, Buffer.from(simUicr.data.subarray(o, o + 4)).toString('hex')]);
        }
      }

      if (target.network) {
        // The network core's UICR, read through AP1 of the fake: the same single change (APPROTECT = 0).
        await session.selectCore('network');
        const netAfter = await session.read(target.network.uicrBase, target.network.uicrSize);
        await session.selectCore('application');
        const net = (before: Uint8Array, after: Uint8Array): Record<string, string> => {
          const changes: Record<string, string> = {};
          for (let o = 0; o < after.length; o += 4) {
            const a = Buffer.from(after.subarray(o, o + 4)).toString('hex');
            if (a !== Buffer.from(before.subarray(o, o + 4)).toString('hex')) changes[(target.network!.uicrBase + o).toString(16)] = a;
          }
          return changes;
        };
        const erased = new Uint8Array(target.network.uicrSize).fill(0xff);
        expect(net(erased, netAfter)).toEqual({ [target.network.uicrBase.toString(16)]: '00000000' });
        expect(net(simBefore.cores.network!.uicr.data, dump.cores.network!.uicr.data)).toEqual({ [target.network.uicrBase.toString(16)]: '00000000' });
      }

      // A re-run through the addon: already provisioned, nothing written.
      expect(await provision(session, { random: seededRandom('other') })).toMatchObject({ ok: true, outcome: 'alreadyProvisioned', writes: 0 });
    } finally {
      await session.close();
    }
  });
});

it('the fake library counts as simulated, a session that is not refuses seeded randomness and the model wrapper', async () => {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: 1002, chip: 'nrf9160', deviceId: FAKE_DEVICE_ID }] });
  await exportToNativeEnvironment('FAKE_NRFJPROG_CONFIG', fake.configPath);
  const session = await fake.binding().open(1002);
  try {
    expect(await provision(asRealProbe(session), { random: seededRandom(1) })).toMatchObject({ ok: false, errorCode: 'SEEDED_RANDOM_REFUSED' });
    expect(await provision(asRealProbe(session))).toMatchObject({ ok: false, errorCode: 'IDENTITY_WRAPPER_UNVERIFIED' });
    expect(await provision(session, { dryRun: true, random: seededRandom(1) })).toMatchObject({ ok: true, outcome: 'dryRun', writes: 0 });
  } finally {
    await session.close();
  }
});
