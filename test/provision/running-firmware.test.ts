/**
 * A device whose application flash holds the stock provisioning image, running: the image writes
 * the lifecycle and the KMU itself and shares SELECTKEYSLOT and NVMC.CONFIG with the debugger. The
 * host strategy halts the application core before it reads anything, so whatever moment it arrives
 * at, it decides from a chip that no longer changes: it provisions a still-clean device, or refuses
 * one the image has begun, and either way the device ends consistent with what it reported.
 */
import type { SimTfmBootRequest } from '../../lib/sim/types';
import { provision } from '../../lib/provision';
import { seededRandom } from '../../lib/random';
import { SimulatedDevice, createSimProbe, syntheticImage } from '../../lib/sim';
import type { ChipName } from '../../lib/targets';
import { classifyBoot } from '../support/boot-model';
import { DEVICE_ID, nvmcOperations } from './helpers';

/** Virtual milliseconds the image has run when the host arrives: before it starts, at the lifecycle
 *  write, between and inside the HUK writes, at the identity key, and after it finished. */
const ARRIVALS_MS = [0, 21.1, 21.3, 29.7, 30.5, 45, 52, 80];

async function runningImage(chip: ChipName, arrivalMs: number) {
  const device = SimulatedDevice.create({ chip, deviceId: DEVICE_ID });
  const image = syntheticImage({ chip, kind: 'provisioning' });
  device.programFlash('application', image.address, image.data);
  device.powerCycle(); // nothing attached: the image boots
  device.runFor(arrivalMs * 1000);
  const probe = await createSimProbe({ chip, device });
  return { ...probe, bootModel: (request?: SimTfmBootRequest) => probe.device.clone().bootTfm(request) };
}

describe.each(['nrf5340', 'nrf9160'] as ChipName[])('%s running the provisioning image', (chip) => {
  it.each(ARRIVALS_MS)('the host arriving after %s ms provisions or refuses, and the device ends as reported', async (arrivalMs) => {
    const { binding, device, session, bootModel } = await runningImage(chip, arrivalMs);
    const result = await provision(session, { random: seededRandom(`running-${arrivalMs}`), bootModel });

    expect(device.violations).toEqual([]);
    expect(device.isRunning('application')).toBe(false);
    // Nothing changes after the run: the image cannot go on behind the host's back.
    const after = device.dump();
    device.runFor(2_000_000);
    expect(device.dump()).toEqual(after);

    if (result.ok) {
      expect(result.outcome === 'provisioned' || result.outcome === 'alreadyProvisioned').toBe(true);
      const reported = result.outcome === 'dryRun' ? {} : { identityPublicKey: result.identityPublicKey?.hex, instanceId: result.instanceId };
      const verdict = await classifyBoot(device, reported);
      expect(verdict).toMatchObject({ verdict: 'boots' });
    } else {
      expect(result).toMatchObject({ outcome: 'refused', afterWrite: false, writes: 0 });
      expect(nvmcOperations(binding.operations(session.serialNumber))).toBe(0);
      expect(['PARTIALLY_PROVISIONED', 'KMU_SLOT_NOT_EMPTY', 'LIFECYCLE_INVALID']).toContain(result.errorCode);
    }
  });

  it('arriving before the image starts, the host provisions and the halted image never runs', async () => {
    const { device, session, bootModel } = await runningImage(chip, 0);
    const result = await provision(session, { random: seededRandom('before'), bootModel });
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned' });
    expect(device.console).toEqual([]);
  });
});
