/**
 * The PSA lifecycle in UICR OTP (struct bl_storage_data.lcs), decoded exactly as bl_storage.h's
 * read_life_cycle_state(): three halfwords (provisioning, secure, decommissioned; `reserved` is
 * ignored), each 0xFFFF (not entered) or 0x0000 (entered), in one of four valid patterns.
 */
import type { ProbeSession } from '../probe/types';
import { STATE_ENTERED, STATE_NOT_ENTERED, type Target } from '../targets';
import { halfwordAt, hex32 } from './hex';
import type { PlannedDeviceWrite } from './types';

export type LifecycleState = 'ASSEMBLY' | 'PROVISIONING' | 'SECURED' | 'DECOMMISSIONED' | 'INVALID';

/** TF-M's view (tfm_attest_hal.h TFM_SLC_*), as attest_hal.c maps the bl_storage states. */
export const PSA_LIFECYCLE: Readonly<Record<Exclude<LifecycleState, 'INVALID'>, number>> = {
  ASSEMBLY: 0x1000,
  PROVISIONING: 0x2000,
  SECURED: 0x3000,
  DECOMMISSIONED: 0x6000,
};

export interface LifecycleReading {
  state: LifecycleState;
  provisioning: number;
  secure: number;
  reserved: number;
  decommissioned: number;
}

/** Bytes of bl_storage_data.lcs: 4 halfwords. */
export const LIFECYCLE_BYTES = 8;
/**
 * ASSEMBLY -> PROVISIONING as the debugger must write it: nrfx_nvmc_halfword_write() is a word write
 * with the target half 0x0000 and the other half 0xFFFF (partial_word_create).
 */
export const LIFECYCLE_PROVISIONING_WORD = ((STATE_NOT_ENTERED << 16) | STATE_ENTERED) >>> 0;

/** Decodes the 8 bytes at the OTP base (bl_storage_data.lcs). */
export function decodeLifecycle(lcs: Uint8Array): LifecycleReading {
  const provisioning = halfwordAt(lcs, 0);
  const secure = halfwordAt(lcs, 2);
  const reserved = halfwordAt(lcs, 4);
  const decommissioned = halfwordAt(lcs, 6);
  const entered = (h: number): boolean | undefined => (h === STATE_ENTERED ? true : h === STATE_NOT_ENTERED ? false : undefined);
  const p = entered(provisioning);
  const s = entered(secure);
  const d = entered(decommissioned);
  let state: LifecycleState = 'INVALID';
  if (p === false && s === false && d === false) state = 'ASSEMBLY';
  else if (p === true && s === false && d === false) state = 'PROVISIONING';
  else if (p === true && s === true && d === false) state = 'SECURED';
  else if (p === true && s === true && d === true) state = 'DECOMMISSIONED';
  return { state, provisioning, secure, reserved, decommissioned };
}

export function describeLifecycle(reading: LifecycleReading): string {
  const h = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  return `${reading.state} (provisioning ${h(reading.provisioning)}, secure ${h(reading.secure)}, decommissioned ${h(reading.decommissioned)})`;
}

/** One 8-byte read. */
export async function readLifecycle(session: ProbeSession, target: Target): Promise<LifecycleReading> {
  return decodeLifecycle(await session.read(target.lifecycle.provisioning, LIFECYCLE_BYTES));
}

/** The write setLifecycleProvisioning performs, for plans. */
export function planLifecycleProvisioning(target: Target): PlannedDeviceWrite[] {
  return [
    {
      core: 'application',
      address: target.lifecycle.provisioning,
      value: LIFECYCLE_PROVISIONING_WORD,
      size: 4,
      nvmc: true,
      purpose: `lifecycle ASSEMBLY -> PROVISIONING (lcs.provisioning = 0x0000 at ${hex32(target.lifecycle.provisioning)})`,
    },
  ];
}

/** ASSEMBLY -> PROVISIONING: one word write through the NVMC. The caller has checked ASSEMBLY. */
export async function setLifecycleProvisioning(session: ProbeSession, target: Target): Promise<void> {
  await session.writeU32(target.lifecycle.provisioning, LIFECYCLE_PROVISIONING_WORD, { nvmc: true });
}
