/**
 * Hardware unique keys (MKEK, MEXT) as hw_unique_key_write_random() draws them: one random block of
 * 2 x HUK size, MKEK first, then MEXT. 32 bytes each on CC312 (nRF5340, two slots each), 16 on CC310
 * (nRF91, one slot each).
 */
import type { RandomSource } from '../random';
import type { KmuSlotSpec, Target } from '../targets';
import { KMU_VALUE_BYTES } from '../device/kmu';

export interface HardwareUniqueKeys {
  mkek: Uint8Array;
  mext: Uint8Array;
}

export function generateHardwareUniqueKeys(target: Target, random: RandomSource): HardwareUniqueKeys {
  const size = target.huk.size;
  const block = random.fill(new Uint8Array(2 * size));
  try {
    return { mkek: block.slice(0, size), mext: block.slice(size) };
  } finally {
    block.fill(0);
  }
}

/** Splits a key into its 16-byte KMU slot values, in slot order (copies; zero them after use). */
export function slotValues(key: Uint8Array, slots: readonly KmuSlotSpec[]): Uint8Array[] {
  if (key.length !== slots.length * KMU_VALUE_BYTES) {
    throw new RangeError(`key of ${key.length} bytes does not fill ${slots.length} KMU slot(s)`);
  }
  return slots.map((_, i) => key.slice(i * KMU_VALUE_BYTES, (i + 1) * KMU_VALUE_BYTES));
}

export function zeroHardwareUniqueKeys(keys: HardwareUniqueKeys | undefined): void {
  keys?.mkek.fill(0);
  keys?.mext.fill(0);
}
