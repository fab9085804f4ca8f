/** Helpers of the image-strategy tests: a simulated device, its virtual clock, and synthetic images. */
import type { SimTfmBootRequest } from '../../lib/sim/types';
import type { RunClock } from '../../lib/image/run';
import { createSimProbe, syntheticImageHex as simImageHex, type SimDeviceState, type SimulatedDevice } from '../../lib/sim';
import type { ChipName } from '../../lib/targets';

export const DEVICE_ID = '0123456789abcdef';

/** The device's virtual clock: sleeping lets its firmware models run, nothing waits for real. */
export function virtualClock(device: SimulatedDevice): RunClock {
  return { now: () => device.virtualTimeUs / 1000, sleep: async (ms) => device.runFor(ms * 1000) };
}

export async function simImageDevice(chip: ChipName, state?: SimDeviceState) {
  const probe = await createSimProbe({ chip, deviceId: DEVICE_ID, state });
  return {
    ...probe,
    clock: virtualClock(probe.device),
    bootModel: (request?: SimTfmBootRequest) => probe.device.clone().bootTfm(request),
  };
}

/** A TF-M application image as the simulator recognises it (its boot banner). */
export function tfmApplicationHex(chip: ChipName): string {
  return simImageHex({ chip, kind: 'tfm' });
}
