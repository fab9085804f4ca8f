/**
 * The firmware models that matter for provisioning, run on the simulated CPU through the same
 * NVMC/KMU/OTP rules as the probe (their accesses are recorded with by = 'firmware'), one module
 * each: the provisioning sample (provisioning-image.ts), its network-core child image
 * (network-image.ts) and TF-M's first boot (tfm-boot.ts). To add one, write its module with a
 * FirmwareModelSpec and list it in FIRMWARE_MODELS.
 */
import type { SimCoreName } from '../types';
import type { FirmwareHost, FirmwareKind, FirmwareModelSpec, Model } from './model';
import { networkImage } from './network-image';
import { provisioningImage } from './provisioning-image';
import { tfmBoot } from './tfm-boot';
import type { TfmBuildConfig } from './tfm-config';

export * from './markers';
export { networkImageModel } from './network-image';
export { provisioningImageModel, type ProvisioningImageConfig } from './provisioning-image';
export { tfmBootModel } from './tfm-boot';
export { attestationToken, type AttestationAnswer, type AttestationRequest } from './tfm-attest';
export { defaultTfmConfig, DEFAULT_TFM_VERSION, tfmInstanceIdFormula, type TfmBuildConfig, type TfmTokenProfile } from './tfm-config';
export type { FirmwareHost, FirmwareKind, FirmwareResult, FirmwareRun, Model } from './model';

/** In detection order: the first model that recognises a core's flash runs on it. */
export const FIRMWARE_MODELS: ReadonlyArray<FirmwareModelSpec<unknown>> = [provisioningImage, networkImage, tfmBoot] as ReadonlyArray<FirmwareModelSpec<unknown>>;

/** Decides which model a core's flash (its non-erased runs) holds. */
export function detectFirmware(host: FirmwareHost, core: SimCoreName, runs: readonly Buffer[]): { kind: FirmwareKind; start: () => Model } | undefined {
  const image = { runs, has: (text: string): boolean => runs.some((r) => r.includes(text, 0, 'latin1')) };
  for (const spec of FIRMWARE_MODELS) {
    if (spec.core !== core) continue;
    const config = spec.recognise(image);
    if (config !== undefined) return { kind: spec.kind, start: () => spec.start(host, config) };
  }
  return undefined;
}

/** The TF-M build an application flash holds (its banner and markers), or undefined when it holds none. */
export function tfmConfigInFlash(runs: readonly Buffer[]): TfmBuildConfig | undefined {
  return tfmBoot.recognise({ runs, has: (text: string): boolean => runs.some((r) => r.includes(text, 0, 'latin1')) });
}
