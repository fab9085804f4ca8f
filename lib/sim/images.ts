/**
 * Synthetic firmware images for tests and benchmarks, the one generator of them: a vector-table-like
 * header (initial stack pointer, Thumb reset vector) followed by the log strings a real build of the
 * sample contains, optionally padded with deterministic filler to a realistic size and with extra
 * runs (e.g. into UICR, for the range checks). The simulator recognises an image by those strings
 * (as it would a real build), so tests need no NCS build to exercise the image path. Not
 * executable: silicon would fault.
 */
import MemoryMap from 'nrf-intel-hex';
import { getTarget, type ChipName } from '../targets';
import { bytesFrom, toHex, writeU32LE } from '../bytes';
import {
  NETWORK_IMAGE_STRINGS,
  PROVISIONING_IMAGE_STRINGS,
  SIM_MARKER_IDENTITY_KEY_DUMMY,
  SIM_MARKER_IMPLEMENTATION_ID,
  SIM_MARKER_TFM_PROFILE_PSA_2_0_0,
  TFM_IMAGE_MARKER,
} from './firmware/markers';
import { DEFAULT_TFM_VERSION } from './firmware/tfm-config';

/** RAM the header's stack pointer points past when a core has no RAM in lib/targets. */
const DEFAULT_RAM = { base: 0x20000000, size: 0x10000 };

/** The 8-byte Cortex-M header: initial stack pointer, reset handler (Thumb) at base + 0x100. */
function vectorHeader(stackTop: number, base: number): Uint8Array {
  const header = new Uint8Array(8);
  writeU32LE(header, 0, stackTop);
  writeU32LE(header, 4, (base + 0x101) >>> 0);
  return header;
}

function nulTerminated(strings: readonly string[]): Buffer {
  return Buffer.from(strings.map((s) => `${s}\0`).join(''), 'latin1');
}

// -------------------------------------------------------------------------------------------------
// The smallest images the simulator's firmware models recognise (syntheticImage)

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
  /** TF-M image: the version its banner names (default 2.2.0), which decides its instance-ID formula. */
  tfmVersion?: string;
  /** TF-M image: built with CONFIG_TFM_ATTEST_TOKEN_PROFILE_PSA_2_0_0 (RFC 9783 claim keys). */
  tokenProfile?: 'PSA_IOT_1' | 'PSA_2_0_0';
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
    options.kind === 'provisioning'
      ? [...PROVISIONING_IMAGE_STRINGS]
      : options.kind === 'network'
        ? [...NETWORK_IMAGE_STRINGS]
        : [`${TFM_IMAGE_MARKER} v${options.tfmVersion ?? DEFAULT_TFM_VERSION}`, ...(options.tokenProfile === 'PSA_2_0_0' ? [SIM_MARKER_TFM_PROFILE_PSA_2_0_0] : [])];
  if (options.kind === 'provisioning') {
    if (options.identityKeyDummy) strings.push(SIM_MARKER_IDENTITY_KEY_DUMMY);
    if (options.implementationId !== undefined) strings.push(SIM_MARKER_IMPLEMENTATION_ID + toHex(bytesFrom(options.implementationId, 32, 'Implementation ID')));
  }
  const text = nulTerminated(strings.filter((s) => !(options.omitStrings ?? []).includes(s)));
  const ram = core.ram ?? DEFAULT_RAM;
  const header = vectorHeader(ram.base + ram.size, core.flash.base);
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

// -------------------------------------------------------------------------------------------------
// Images of a realistic size and placement (syntheticHex and the sample stand-ins)

export interface SyntheticHexOptions {
  /** Load address of the first byte (default 0: the start of the core's flash). */
  base?: number;
  /** Total data bytes (default 40 KiB, the size of a typical build of the sample). */
  size?: number;
  /** Strings placed after the vector-table-like header, NUL terminated (default: none). */
  strings?: readonly string[];
  /** Extra data runs at arbitrary addresses, e.g. to make an image that reaches into UICR. */
  extra?: ReadonlyArray<{ address: number; data: Uint8Array }>;
  /** Seed for the filler bytes, so two images differ and pages are not all 0xFF. */
  fillSeed?: number;
}

/** Builds the image as a MemoryMap (address -> bytes). */
export function syntheticHexMap(options: SyntheticHexOptions = {}): MemoryMap {
  const base = options.base ?? 0;
  const size = options.size ?? 40 * 1024;
  const body = new Uint8Array(size);
  // Deterministic filler (a small LCG): looks like code, never all-erased, same for the same seed.
  let state = (options.fillSeed ?? 0x5eed) >>> 0;
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    body[i] = state >>> 24;
  }
  body.set(vectorHeader(DEFAULT_RAM.base + DEFAULT_RAM.size, base).subarray(0, Math.min(8, size)), 0);
  const text = nulTerminated(options.strings ?? []);
  const at = Math.min(0x100, size);
  if (at + text.length > size) throw new RangeError(`Synthetic image of ${size} bytes is too small for its strings.`);
  body.set(text, at);
  const map = new MemoryMap();
  map.set(base, body);
  for (const run of options.extra ?? []) map.set(run.address, run.data);
  return map;
}

/** The image as Intel HEX text. */
export function syntheticHex(options: SyntheticHexOptions = {}): string {
  return syntheticHexMap(options).asHexString() + '\n';
}

/** A stand-in for a build of `samples/tfm/provisioning_image` (application core). */
export function syntheticProvisioningImage(options: Omit<SyntheticHexOptions, 'strings'> = {}): string {
  return syntheticHex({ ...options, strings: PROVISIONING_IMAGE_STRINGS });
}

/** A stand-in for a build of `provisioning_image_net_core` (nRF5340 network core, flash at 0x01000000). */
export function syntheticNetworkImage(options: Omit<SyntheticHexOptions, 'strings'> = {}): string {
  return syntheticHex({ base: 0x01000000, size: 8 * 1024, ...options, strings: NETWORK_IMAGE_STRINGS });
}
