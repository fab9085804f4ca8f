/**
 * Tiny synthetic firmware images for tests: a few bytes that look like a vector table followed by
 * the log strings a real build of the sample contains. The simulator recognises an image by those
 * strings (as it would a real build), so tests need no NCS build to exercise the image path.
 */
import MemoryMap from 'nrf-intel-hex';
import { getTarget, type ChipName } from '../targets';
import { bytesFrom, toHex, writeU32LE } from './bytes';
import {
  NETWORK_IMAGE_STRINGS,
  PROVISIONING_IMAGE_STRINGS,
  SIM_MARKER_IDENTITY_KEY_DUMMY,
  SIM_MARKER_IMPLEMENTATION_ID,
  TFM_IMAGE_MARKER,
} from './firmware';

export type SyntheticImageKind = 'provisioning' | 'network' | 'tfm';

export interface SyntheticImageOptions {
  chip: ChipName;
  kind: SyntheticImageKind;
  /** Provisioning image: build with CONFIG_IDENTITY_KEY_DUMMY. */
  identityKeyDummy?: boolean;
  /** Provisioning image: a custom implementation ID (32 bytes). */
  implementationId?: Uint8Array | string;
  /** Leave these sample strings out (to build an image the image strategy should reject). */
  omitStrings?: string[];
}

export interface SyntheticImage {
  core: 'application' | 'network';
  /** Flash address of the first byte (the core's flash base). */
  address: number;
  data: Uint8Array;
}

export function syntheticImage(options: SyntheticImageOptions): SyntheticImage {
  const target = getTarget(options.chip);
  const core = options.kind === 'network' ? target.network : target.application;
  if (!core) throw new Error(`${target.displayName} has no network core`);
  const strings =
    options.kind === 'provisioning' ? [...PROVISIONING_IMAGE_STRINGS] : options.kind === 'network' ? [...NETWORK_IMAGE_STRINGS] : [`${TFM_IMAGE_MARKER} v2.1.0`];
  if (options.kind === 'provisioning') {
    if (options.identityKeyDummy) strings.push(SIM_MARKER_IDENTITY_KEY_DUMMY);
    if (options.implementationId !== undefined) strings.push(SIM_MARKER_IMPLEMENTATION_ID + toHex(bytesFrom(options.implementationId, 32, 'Implementation ID')));
  }
  const text = Buffer.from(strings.filter((s) => !(options.omitStrings ?? []).includes(s)).join('\0') + '\0', 'latin1');
  const header = new Uint8Array(8);
  const ram = core.ram ?? { base: 0x20000000, size: 0x10000 };
  writeU32LE(header, 0, ram.base + ram.size); // initial stack pointer
  writeU32LE(header, 4, (core.flash.base + 0x101) >>> 0); // reset handler (Thumb)
  const data = new Uint8Array(header.length + text.length + ((4 - ((header.length + text.length) % 4)) % 4)).fill(0xff);
  data.set(header);
  data.set(text, header.length);
  return { core: core.name, address: core.flash.base, data };
}

/** The same image as Intel HEX text. */
export function syntheticImageHex(options: SyntheticImageOptions): string {
  const image = syntheticImage(options);
  return new MemoryMap([[image.address, image.data]]).asHexString() + '\n';
}
