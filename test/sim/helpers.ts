/** Shared helpers of the simulator tests. */
import { ProbeError, type ErrorCode } from '../../lib/errors';
import { createSimProbe, type CreateSimProbeOptions, type SimViolationKind, type SimulatedDevice } from '../../lib/testing';
import { getTarget, type ChipName } from '../../lib/targets';

export const DEVICE_ID = '0123456789abcdef';

export async function probe(chip: ChipName = 'nrf5340', options: Partial<CreateSimProbeOptions> = {}) {
  const opened = await createSimProbe({ chip, deviceId: DEVICE_ID, ...options });
  return { ...opened, t: getTarget(chip) };
}

/** Expects the promise to reject with a ProbeError/TfmError of that code. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

export function kinds(device: SimulatedDevice): SimViolationKind[] {
  return device.violations.map((v) => v.kind);
}

export { ProbeError };
