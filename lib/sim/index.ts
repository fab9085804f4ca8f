/**
 * The simulator: simulated nRF5340 / nRF91 devices behind the probe contract. Public entry for
 * users is `tfm-provision/testing` (lib/testing.ts), which re-exports this module.
 */
import type { ProbeSession } from '../probe/types';
import type { RandomSource } from '../random';
import type { ChipName } from '../targets';
import { SimBinding } from './binding';
import { SimulatedDevice } from './device';
import type { SimAttestationAnswer, SimDeviceState } from './types';

export * from './types';
export { SimulatedDevice, diffDumps, decodeLifecycle, type SimulatedDeviceOptions } from './device';
export { SimBinding, SimSession, type SimBindingOptions } from './binding';
export {
  PROVISIONING_IMAGE_MARKER,
  NETWORK_IMAGE_MARKER,
  TFM_IMAGE_MARKER,
  PROVISIONING_IMAGE_STRINGS,
  NETWORK_IMAGE_STRINGS,
  SIM_MARKER_IDENTITY_KEY_DUMMY,
  SIM_MARKER_IMPLEMENTATION_ID,
  SIM_MARKER_NO_CPUNET_ENABLE,
  SIM_MARKER_TFM_PROFILE_PSA_2_0_0,
  SIM_MARKER_TFM_NO_APPROTECT_LOCK,
  SIM_MARKER_TFM_NO_HUK_RANDOM,
  SIM_MARKER_TFM_NO_B0N,
  DUMMY_IDENTITY_KEY_HEX,
  DEFAULT_TFM_VERSION,
  type FirmwareKind,
  type FirmwareResult,
} from './firmware';
export type { SimRunClock } from './binding';
export { SIM_STATE_FORMAT, SIM_STATE_SCHEMA_VERSION } from './state-file';
export { RTT_CB_OFFSET, RTT_ID } from './layout';

/** Default serial number of the probe createSimProbe attaches (J-Link serials are 9 digits). */
export const DEFAULT_SIM_SERIAL = 100000001;

export interface CreateSimProbeOptions {
  chip: ChipName;
  deviceId?: Uint8Array | string;
  state?: SimDeviceState;
  /** Attach this device instead of creating one (chip, deviceId and state are then ignored). */
  device?: SimulatedDevice;
  random?: RandomSource;
  serialNumber?: number;
  latencyMs?: number;
  realTime?: boolean;
}

/** A simulated device on a simulated probe, opened: everything a test needs in one call. */
export async function createSimProbe(options: CreateSimProbeOptions): Promise<{ binding: SimBinding; device: SimulatedDevice; session: ProbeSession }> {
  const binding = new SimBinding({ latencyMs: options.latencyMs, realTime: options.realTime });
  const device = options.device ?? SimulatedDevice.create({ chip: options.chip, deviceId: options.deviceId, state: options.state, random: options.random });
  const serialNumber = options.serialNumber ?? DEFAULT_SIM_SERIAL;
  binding.attach(serialNumber, device);
  const session = await binding.open(serialNumber);
  return { binding, device, session };
}
export {
  syntheticImage,
  syntheticImageHex,
  syntheticHex,
  syntheticHexMap,
  syntheticProvisioningImage,
  syntheticNetworkImage,
  type SyntheticImage,
  type SyntheticImageKind,
  type SyntheticImageOptions,
  type SyntheticHexOptions,
} from './images';
/**
 * One initial attestation request to the TF-M running on a simulated device (after bootTfm() reached
 * SECURED): the COSE_Sign1 PSA token, or ok false with the reason. The challenge must be 32, 48 or
 * 64 bytes. Example: `requestAttestationToken(device, { challenge: randomBytes(32) })`.
 */
export function requestAttestationToken(device: SimulatedDevice, request: { challenge: Uint8Array; clientId?: number }): SimAttestationAnswer {
  return device.requestAttestationToken(request);
}

export { SIM_PRESETS, createPresetDevice, isSimPreset, type SimPreset } from './presets';
