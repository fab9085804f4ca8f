/**
 * The TF-M build the simulator runs (the Kconfig choices that change its boot and its tokens), the
 * PSA security lifecycle values and TF-M's instance-ID formulas by version; shared by tfm-boot.ts and
 * tfm-attest.ts.
 */
import { createHash } from 'node:crypto';
import type { SimLifecycleReading } from '../types';

/** The TF-M build a device runs: the Kconfig options that change its first boot. */
export interface TfmBuildConfig {
  /** TF-M version (VERSION_FULLSTR without the "v"), e.g. '2.2.0'. */
  version: string;
  /** CONFIG_NRF_APPROTECT_LOCK and CONFIG_NRF_SECURE_APPROTECT_LOCK (needed for provisioning to pass
   *  verify_debug_disabled unless UICR already holds 0). Default true. */
  approtectLock: boolean;
  /** CONFIG_HW_UNIQUE_KEY_RANDOM (sdk-nrf tfm_boards/common/config.cmake default ON). */
  hukRandom: boolean;
  /** nRF5340: PM_CPUNET_APP_ADDRESS or CONFIG_TFM_HAS_B0N, with b0n on the network core answering
   *  the PCD debug-lock command. Default true (a build with a network-core image). */
  networkDebugLock: boolean;
  /** ATTEST_TOKEN_PROFILE: 'PSA_IOT_1' is TF-M's default (Kconfig.comp, config_base.h) through 2.3;
   *  'PSA_2_0_0' gives the RFC 9783 claim keys. */
  tokenProfile: TfmTokenProfile;
}

export const DEFAULT_TFM_VERSION = '2.2.0';

export function defaultTfmConfig(overrides: Partial<TfmBuildConfig> = {}): TfmBuildConfig {
  return { version: DEFAULT_TFM_VERSION, approtectLock: true, hukRandom: true, networkDebugLock: true, tokenProfile: 'PSA_IOT_1', ...overrides };
}

/** TFM_SLC_* of platform/include/tfm_attest_hal.h, as sdk-nrf attest_hal.c maps the bl_storage states. */
export function tfmSecurityLifecycle(lcs: SimLifecycleReading): number {
  switch (lcs) {
    case 'ASSEMBLY':
      return 0x1000;
    case 'PROVISIONING':
      return 0x2000;
    case 'SECURED':
      return 0x3000;
    case 'DECOMMISSIONED':
      return 0x6000;
    default:
      return 0x0000; // TFM_SLC_UNKNOWN: read_life_cycle_state failed
  }
}

export type TfmTokenProfile = 'PSA_IOT_1' | 'PSA_2_0_0';
export type SimInstanceIdFormula = '2.1' | '2.2';

/** attest_asymmetric_key.c: the COSE_Key hash from TF-M 2.2.0 (commit 2fe1f7ece), the raw key before. */
export function tfmInstanceIdFormula(version: string): SimInstanceIdFormula {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return '2.2';
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 2 || (major === 2 && minor >= 2) ? '2.2' : '2.1';
}

/** t_cose_key_encode() of a P-256 key: map(4) {1: 2, -1: 1, -2: bstr(32) x, -3: bstr(32) y}. */
function coseKeyBytes(uncompressed: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from([0xa4, 0x01, 0x02, 0x20, 0x01, 0x21, 0x58, 0x20]),
    Buffer.from(uncompressed.subarray(1, 33)),
    Buffer.from([0x22, 0x58, 0x20]),
    Buffer.from(uncompressed.subarray(33, 65)),
  ]);
}

/** 0x01 || SHA-256(...) of the public key, hex, as the given TF-M computes it. */
export function simInstanceId(uncompressed: Uint8Array, formula: SimInstanceIdFormula): string {
  const hashed = formula === '2.1' ? uncompressed : coseKeyBytes(uncompressed);
  return `01${createHash('sha256').update(hashed).digest('hex')}`;
}

