import { nrf5340 } from './nrf5340';
import { nrf9151, nrf9160, nrf9161 } from './nrf91';
import type { ChipName, Target } from './types';
import { TfmError } from '../errors';

export * from './types';
export * from './constants';
export { nrf5340, nrf9160, nrf9161, nrf9151 };

export const TARGETS: Readonly<Record<ChipName, Target>> = { nrf5340, nrf9160, nrf9161, nrf9151 };
export const CHIP_NAMES = Object.keys(TARGETS) as ChipName[];

export function isChipName(value: unknown): value is ChipName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(TARGETS, value);
}

export function getTarget(name: string): Target {
  const key = name.toLowerCase();
  if (!isChipName(key)) {
    throw new TfmError('UNKNOWN_DEVICE', `Unknown chip "${name}". Supported: ${CHIP_NAMES.join(', ')}.`);
  }
  return TARGETS[key];
}

/**
 * Identifies the target from FICR words: INFO.PART at 0x00FF020C (nRF5340), else SIPINFO.PARTNO at
 * 0x00FF0140 (nRF91). Returns undefined for an unknown part.
 */
export function targetFromPart(infoPart: number | undefined, sipPartNo: number | undefined): Target | undefined {
  for (const target of Object.values(TARGETS)) {
    if (target.ficr.part === undefined && target.ficr.sipPartNo === undefined) continue;
    if (target.family === 'NRF53' && infoPart !== undefined && target.parts.includes(infoPart >>> 0)) return target;
    if (target.family === 'NRF91' && sipPartNo !== undefined && target.parts.includes(sipPartNo >>> 0)) return target;
  }
  return undefined;
}
