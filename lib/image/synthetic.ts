/**
 * Synthetic firmware images of a realistic size for tests and benchmarks: Intel HEX that carries the
 * stock sample's log strings (which is what identifies it, to the simulator's firmware model and to
 * this package's "does this look like the provisioning image" check), padded with filler, optionally
 * with extra runs (e.g. into UICR, for the range checks). The simulator's own syntheticImage() makes
 * the smallest such images; these add size and placement. Not executable: silicon would fault.
 */
import MemoryMap from 'nrf-intel-hex';
// The sample strings are the simulator's (one list for the firmware model and for these images).
import { NETWORK_IMAGE_STRINGS, PROVISIONING_IMAGE_STRINGS } from '../sim/firmware';

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
  // An initial stack pointer and a reset vector, as a Cortex-M image starts.
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0x20010000, 0);
  header.writeUInt32LE((base + 0x101) >>> 0, 4);
  body.set(header.subarray(0, Math.min(8, size)), 0);
  let at = Math.min(0x100, size);
  for (const text of options.strings ?? []) {
    const bytes = Buffer.from(`${text}\0`, 'latin1');
    if (at + bytes.length > size) throw new RangeError(`Synthetic image of ${size} bytes is too small for its strings.`);
    body.set(bytes, at);
    at += bytes.length;
  }
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
