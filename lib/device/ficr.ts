/** Chip identification from FICR: which target, which device. Read-only, one probe read. */
import { TfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import { TARGETS, targetFromPart, type ChipName, type Target } from '../targets';
import { toHex, wordAt } from '../bytes';

export interface ChipIdentity {
  target: Target;
  chip: ChipName;
  /** INFO.PART (nRF5340, nRF91x1) or SIPINFO.PARTNO (nRF9160) as read. */
  part: number;
  /** FICR variant as ASCII, e.g. "QKAA"; undefined when it is not printable. */
  variant?: string;
  /** FICR DEVICEID[0] then DEVICEID[1], each as the 4 little-endian bytes a 32-bit read returns. */
  deviceId: Uint8Array;
  deviceIdHex: string;
  /**
   * nRF5340 only: whether nrf53_errata_161() holds (FICR words, read in the same block as the rest,
   * so the network-core release needs no reads of its own). Undefined: not read (ask the chip).
   */
  erratum161?: boolean;
}

const targets = Object.values(TARGETS);
/**
 * Every FICR word any target identifies itself with, and the words the nRF5340 network-core
 * release decides erratum 161 from: one read covers them all on every chip (FICR is factory data,
 * it cannot change while we hold the probe, so one read serves the whole run).
 */
const identificationWords = targets
  .flatMap((t) => [t.ficr.deviceId0, t.ficr.deviceId1, t.ficr.variant, t.ficr.part, t.ficr.sipPartNo, t.network?.erratum161.ficrVar1, t.network?.erratum161.ficrVar2])
  .filter((a): a is number => a !== undefined);
const WINDOW_START = Math.min(...identificationWords);
const WINDOW_END = Math.max(...identificationWords) + 4;
const INFO_PART = targets.find((t) => t.ficr.part !== undefined)!.ficr.part!;
const SIP_PARTNO = targets.find((t) => t.ficr.sipPartNo !== undefined)!.ficr.sipPartNo!;

/** FICR window read by identifyChip (exported for documentation and tests). */
export const FICR_IDENTIFICATION_WINDOW = { start: WINDOW_START, length: WINDOW_END - WINDOW_START } as const;

/** The variant's ASCII from the word a 32-bit read returns, in the chip's layout (Target.ficr.variantLayout). */
export function variantFromWord(layout: Target['ficr']['variantLayout'], word: number): string | undefined {
  const bytes = [(word >>> 24) & 0xff, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff];
  // uint8_t[4]: the first character is at the lowest address, the least significant byte of the word.
  if (layout === 'uint8x4-memory-order') bytes.reverse();
  const text = String.fromCharCode(...bytes);
  return /^[A-Z0-9]{4}$/.test(text) ? text : undefined;
}

/** nrfx nrf53_erratas.h nrf53_errata_161(), as probe-rs reads it: VAR1 = 7 and VAR2 not 2..4. */
export function erratum161From(var1: number, var2: number): boolean {
  return var1 === 0x07 && !(var2 >= 0x02 && var2 <= 0x04);
}

/**
 * Identifies the chip from FICR in one read. Refuses an unknown part (UNKNOWN_DEVICE) and a part that
 * differs from the chip the caller named (CHIP_MISMATCH).
 */
export async function identifyChip(session: ProbeSession, expected?: ChipName): Promise<ChipIdentity> {
  const ficr = await session.read(WINDOW_START, WINDOW_END - WINDOW_START);
  const word = (address: number): number => wordAt(ficr, address - WINDOW_START);
  const infoPart = word(INFO_PART);
  const sipPartNo = word(SIP_PARTNO);
  const target = targetFromPart(infoPart, sipPartNo);
  if (!target) {
    throw new TfmError(
      'UNKNOWN_DEVICE',
      `The device is not a supported chip (FICR INFO.PART 0x${infoPart.toString(16)}, SIPINFO.PARTNO 0x${sipPartNo.toString(16)}). Supported: ${targets.map((t) => t.displayName).join(', ')}.`,
      { details: { infoPart, sipPartNo } },
    );
  }
  if (expected !== undefined && expected !== target.name) {
    throw new TfmError('CHIP_MISMATCH', `The device is an ${target.displayName}, not the ${TARGETS[expected]?.displayName ?? expected} that was asked for. Check the --chip option and the fixture.`, {
      details: { expected, found: target.name },
    });
  }
  const deviceId = new Uint8Array(8);
  deviceId.set(ficr.subarray(target.ficr.deviceId0 - WINDOW_START, target.ficr.deviceId0 - WINDOW_START + 4), 0);
  deviceId.set(ficr.subarray(target.ficr.deviceId1 - WINDOW_START, target.ficr.deviceId1 - WINDOW_START + 4), 4);
  return {
    target,
    chip: target.name,
    part: target.family === 'NRF53' || target.ficr.sipPartNo === undefined ? infoPart : sipPartNo,
    variant: variantFromWord(target.ficr.variantLayout, word(target.ficr.variant)),
    deviceId,
    deviceIdHex: toHex(deviceId),
    erratum161: target.network ? erratum161From(word(target.network.erratum161.ficrVar1), word(target.network.erratum161.ficrVar2)) : undefined,
  };
}
