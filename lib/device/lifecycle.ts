/**
 * The PSA lifecycle in UICR OTP (struct bl_storage_data.lcs), decoded exactly as bl_storage.h's
 * read_life_cycle_state(): three halfwords (provisioning, secure, decommissioned; `reserved` is
 * ignored), each 0xFFFF (not entered) or 0x0000 (entered), in one of four valid patterns.
 */
import type { ProbeSession } from '../probe/types';
import type { Target } from '../targets';
import { LIFECYCLE_BYTES, LIFECYCLE_HALFWORDS, LIFECYCLE_ORDER, LIFECYCLE_PROVISIONING_WORD, type LifecycleState } from '../targets/lifecycle';
import { halfwordAt, hex32 } from '../bytes';
import { runOperations } from './batch';
import type { PlannedDeviceWrite } from './types';

// The encoding facts live in lib/targets/lifecycle.ts (shared with the simulator); re-exported
// here for the device layer's existing importers.
export { LIFECYCLE_BYTES, LIFECYCLE_PROVISIONING_WORD, PSA_LIFECYCLE, type LifecycleState } from '../targets/lifecycle';

export interface LifecycleReading {
  state: LifecycleState;
  provisioning: number;
  secure: number;
  reserved: number;
  decommissioned: number;
}

/** Decodes the 8 bytes at the OTP base (bl_storage_data.lcs). */
export function decodeLifecycle(lcs: Uint8Array): LifecycleReading {
  const provisioning = halfwordAt(lcs, 0);
  const secure = halfwordAt(lcs, 2);
  const reserved = halfwordAt(lcs, 4);
  const decommissioned = halfwordAt(lcs, 6);
  const pattern = (h: { provisioning: number; secure: number; decommissioned: number }): boolean =>
    h.provisioning === provisioning && h.secure === secure && h.decommissioned === decommissioned;
  const state: LifecycleState = LIFECYCLE_ORDER.find((s) => pattern(LIFECYCLE_HALFWORDS[s])) ?? 'INVALID';
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

/**
 * setLifecycleProvisioning, then readLifecycle, in one batch (nothing follows the read-back in it):
 * the lifecycle as the read-back found it. A failing write throws its error and nothing is read.
 */
export async function setLifecycleProvisioningAndRead(session: ProbeSession, target: Target): Promise<LifecycleReading> {
  const result = await runOperations(session, [
    { op: 'writeU32', address: target.lifecycle.provisioning, value: LIFECYCLE_PROVISIONING_WORD, nvmc: true },
    { op: 'read', address: target.lifecycle.provisioning, length: LIFECYCLE_BYTES },
  ]);
  if (result.stoppedAt !== undefined) throw result.error;
  return decodeLifecycle(result.results[1] as Uint8Array);
}

/** ASSEMBLY -> PROVISIONING: one word write through the NVMC. The caller has checked ASSEMBLY. */
export async function setLifecycleProvisioning(session: ProbeSession, target: Target): Promise<void> {
  await session.writeU32(target.lifecycle.provisioning, LIFECYCLE_PROVISIONING_WORD, { nvmc: true });
}
