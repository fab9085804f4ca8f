/**
 * Synthetic firmware images for tests, benchmarks and simulator demos: Intel HEX that carries the
 * stock sample's log strings (which is what identifies it, to the simulator's firmware model and to
 * this package's "does this look like the provisioning image" check) padded to a realistic size.
 * They are not executable code; on silicon they would fault at reset.
 */
import MemoryMap from 'nrf-intel-hex';

/** Every log string of the application-core sample (device-facts 1.1), in the order it logs them. */
export const PROVISIONING_SAMPLE_STRINGS: readonly string[] = [
  'Failure: Cannot read PSA lifecycle state. Exiting!',
  'Failure: Lifecycle state is not ASSEMBLY as expected. Exiting!',
  'Successfully verified PSA lifecycle state ASSEMBLY!',
  'Failure: Cannot set PSA lifecycle state PROVISIONING. Exiting!',
  'Lifecycle state was %d',
  'Failure: Lifecycle state is not PROVISION as expected. Exiting!',
  'Successfully switched to PSA lifecycle state PROVISIONING!',
  'Generating random HUK keys (including MKEK)',
  'Failure: Identity key slot already written. Exiting!',
  'Writing the identity key to KMU',
  'Failure: Identity key is not written! Exiting!',
  'Success!',
];

/** The network-core sample's strings (device-facts 1.2). */
export const NETWORK_SAMPLE_STRINGS: readonly string[] = [
  'Cannot write to the UICR->APPROTECT register, exiting...!',
  'The UICR->APPROTECT register is now configured to deny debugging access for the network core!',
  'Success!',
];

export interface SyntheticImageOptions {
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
export function syntheticImageMap(options: SyntheticImageOptions = {}): MemoryMap {
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
export function syntheticImageHex(options: SyntheticImageOptions = {}): string {
  return syntheticImageMap(options).asHexString() + '\n';
}

/** A stand-in for a build of `samples/tfm/provisioning_image` (application core). */
export function syntheticProvisioningImage(options: Omit<SyntheticImageOptions, 'strings'> = {}): string {
  return syntheticImageHex({ ...options, strings: PROVISIONING_SAMPLE_STRINGS });
}

/** A stand-in for a build of `provisioning_image_net_core` (nRF5340 network core, flash at 0x01000000). */
export function syntheticNetworkImage(options: Omit<SyntheticImageOptions, 'strings'> = {}): string {
  return syntheticImageHex({ base: 0x01000000, size: 8 * 1024, ...options, strings: NETWORK_SAMPLE_STRINGS });
}
