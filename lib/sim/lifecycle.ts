/**
 * The simulator's own reading of the PSA lifecycle words (an independent check of
 * lib/device/lifecycle.ts: same facts from lib/targets, separate rule code). bl_storage.h
 * read_life_cycle_state (NCS v2.x, subsys/bootloader/bl_storage): three halfwords (provisioning,
 * secure, decommissioned; `reserved` ignored), each STATE_NOT_ENTERED or STATE_ENTERED, in one of
 * four valid patterns; anything else is invalid.
 */
import { TfmError } from '../errors';
import { STATE_ENTERED, STATE_NOT_ENTERED } from '../targets';
import { BL_STORAGE_LCS, LIFECYCLE_HALFWORDS, LIFECYCLE_ORDER } from '../targets/lifecycle';
import type { SimLifecycle, SimLifecycleReading } from './types';

export { LIFECYCLE_ORDER };

export interface LifecycleHalfwords {
  provisioning: number;
  secure: number;
  reserved: number;
  decommissioned: number;
}

/** bl_storage.h read rules: the three LCS halfwords (reserved is ignored). */
export function decodeLifecycle(w: { provisioning: number; secure: number; decommissioned: number }): SimLifecycleReading {
  const entered = [w.provisioning, w.secure, w.decommissioned].map((h): number => (h === STATE_ENTERED ? 1 : h === STATE_NOT_ENTERED ? 0 : -1));
  if (entered.includes(-1)) return 'INVALID';
  // Valid patterns enter the states in order: 000, 100, 110, 111.
  const count = entered.reduce((a, b) => a + b, 0);
  for (let i = 0; i < entered.length; i++) if (entered[i] !== (i < count ? 1 : 0)) return 'INVALID';
  return LIFECYCLE_ORDER[count]!;
}

/** Splits the two OTP words at the lifecycle base into the four halfwords. */
export function lifecycleHalfwords(word0: number, word1: number): LifecycleHalfwords {
  return { provisioning: word0 & 0xffff, secure: word0 >>> 16, reserved: word1 & 0xffff, decommissioned: word1 >>> 16 };
}

/** bl_storage `enum lcs` number of a state, as the sample prints it in "Lifecycle state was %d". */
export function lifecycleNumber(state: SimLifecycleReading): number {
  return BL_STORAGE_LCS[state];
}

/**
 * The halfword writes a correct sequence makes to reach `state` from ASSEMBLY, in order: each state
 * enters one more halfword (lib/targets LIFECYCLE_HALFWORDS), written as a word whose other half is
 * 0xFFFF (nrfx_nvmc_halfword_write). Returns [word address, word value] pairs.
 */
export function lifecycleWrites(addresses: { provisioning: number; secure: number; decommissioned: number }, state: SimLifecycle): Array<[number, number]> {
  const writes: Array<[number, number]> = [];
  const fields = ['provisioning', 'secure', 'decommissioned'] as const;
  for (let i = 1; i <= LIFECYCLE_ORDER.indexOf(state); i++) {
    const before = LIFECYCLE_HALFWORDS[LIFECYCLE_ORDER[i - 1]!];
    const after = LIFECYCLE_HALFWORDS[LIFECYCLE_ORDER[i]!];
    for (const field of fields) {
      if (before[field] === after[field]) continue;
      const address = addresses[field];
      const half = after[field] & 0xffff;
      writes.push([address & ~3, address & 2 ? ((half << 16) | 0xffff) >>> 0 : (0xffff0000 | half) >>> 0]);
    }
  }
  return writes;
}

/**
 * A lifecycle given by a caller: the library's spelling, or the lowercase one earlier versions of
 * the simulator used (kept so existing scripts and specs keep working).
 */
export function parseLifecycle(value: unknown): SimLifecycle {
  const upper = typeof value === 'string' ? value.toUpperCase() : undefined;
  const found = LIFECYCLE_ORDER.find((s) => s === upper);
  if (!found || (value !== upper && value !== upper!.toLowerCase())) {
    throw new TfmError('INVALID_PARAMETER', `Unknown lifecycle "${String(value)}". Use ${LIFECYCLE_ORDER.join(', ')}.`);
  }
  return found;
}
