/**
 * PSA lifecycle encoding facts (device-facts 2, bl_storage.h): the one spelling of the states for the
 * library, the simulator and results, and how each is stored in UICR OTP (struct bl_storage_data.lcs:
 * three halfwords provisioning, secure, decommissioned, plus a reserved one that is ignored).
 */
import { STATE_ENTERED, STATE_NOT_ENTERED } from './constants';

/** The states, spelled as the sample's log lines and TF-M name them; INVALID is any other pattern. */
export type LifecycleState = 'ASSEMBLY' | 'PROVISIONING' | 'SECURED' | 'DECOMMISSIONED' | 'INVALID';
export type ValidLifecycleState = Exclude<LifecycleState, 'INVALID'>;

/** The valid states in the only order the OTP halfwords allow them to be entered. */
export const LIFECYCLE_ORDER: readonly ValidLifecycleState[] = ['ASSEMBLY', 'PROVISIONING', 'SECURED', 'DECOMMISSIONED'];

/** The halfwords each valid state is stored as (0xFFFF not entered, 0x0000 entered). */
export const LIFECYCLE_HALFWORDS: Readonly<Record<ValidLifecycleState, { provisioning: number; secure: number; decommissioned: number }>> = {
  ASSEMBLY: { provisioning: STATE_NOT_ENTERED, secure: STATE_NOT_ENTERED, decommissioned: STATE_NOT_ENTERED },
  PROVISIONING: { provisioning: STATE_ENTERED, secure: STATE_NOT_ENTERED, decommissioned: STATE_NOT_ENTERED },
  SECURED: { provisioning: STATE_ENTERED, secure: STATE_ENTERED, decommissioned: STATE_NOT_ENTERED },
  DECOMMISSIONED: { provisioning: STATE_ENTERED, secure: STATE_ENTERED, decommissioned: STATE_ENTERED },
};

/** bl_storage.h `enum lcs` (device-facts 2): the number the sample logs in "Lifecycle state was %d". */
export const BL_STORAGE_LCS: Readonly<Record<LifecycleState, number>> = {
  INVALID: 0, // BL_STORAGE_LCS_UNKNOWN
  ASSEMBLY: 1,
  PROVISIONING: 2,
  SECURED: 3,
  DECOMMISSIONED: 4,
};

/** TF-M's view (tfm_attest_hal.h TFM_SLC_*), as attest_hal.c maps the bl_storage states. */
export const PSA_LIFECYCLE: Readonly<Record<ValidLifecycleState, number>> = {
  ASSEMBLY: 0x1000,
  PROVISIONING: 0x2000,
  SECURED: 0x3000,
  DECOMMISSIONED: 0x6000,
};

/** Bytes of bl_storage_data.lcs: 4 halfwords. */
export const LIFECYCLE_BYTES = 8;
/**
 * ASSEMBLY -> PROVISIONING as the debugger must write it: nrfx_nvmc_halfword_write() is a word write
 * with the target half 0x0000 and the other half 0xFFFF (partial_word_create).
 */
export const LIFECYCLE_PROVISIONING_WORD = ((STATE_NOT_ENTERED << 16) | STATE_ENTERED) >>> 0;

export function isLifecycleState(value: unknown): value is LifecycleState {
  return value === 'INVALID' || (LIFECYCLE_ORDER as readonly unknown[]).includes(value);
}
