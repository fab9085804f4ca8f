/**
 * Firmware images for the image strategy: Intel HEX parsed with nrf-intel-hex, then checked against
 * the target core's memory map before anything touches the probe.
 *
 * The one rule that matters most: an image may hold records only inside its core's code flash. A
 * record in UICR would rewrite (or, through a tool's UICR erase, wipe) the lifecycle words and KMU
 * key slots that provisioning creates, and one in FICR is meaningless; both are refused with
 * IMAGE_OUT_OF_RANGE, never "skipped", so a wrong build never reaches the chip.
 */
import { readRegularFile, statRegularOrAbsent } from '../files';
import MemoryMap from 'nrf-intel-hex';
import { TfmError } from '../errors';
import { hex32 } from '../bytes';
import type { CoreSpec, Target } from '../targets';
// The strings that identify each image are target facts (the sample's log lines).
import { NETWORK_IMAGE_MARKERS, PROVISIONING_IMAGE_MARKERS } from '../targets/provisioning-sample';

/** What an image is for in the flow; decides its core and the log strings that identify it. */
export type ImageRole = 'provisioning' | 'network' | 'application';
export type ImageCore = 'application' | 'network';

export interface ImageSegment {
  /** Bus address of the first byte on the image's core. */
  address: number;
  data: Uint8Array;
}

export interface FirmwareImage {
  role: ImageRole;
  core: ImageCore;
  /** File path, or a caller-supplied label for images given as text or bytes. */
  source: string;
  /** Contiguous data runs in ascending address order, none overlapping. */
  segments: ImageSegment[];
  /** Number of data bytes in the image. */
  byteCount: number;
  pageSize: number;
  /** Start addresses of the flash pages the image touches, ascending: exactly what gets erased. */
  pages: number[];
  /** Log strings of the stock sample that the image was searched for and that are absent. Empty for
   *  an image that looks like the sample (and always empty for the application image). */
  missingMarkers: string[];
}

/** How messages name an image of each role. */
export function imageName(image: Pick<FirmwareImage, 'role'>): string {
  return image.role === 'provisioning' ? 'provisioning image' : image.role === 'network' ? 'network-core image' : 'application image';
}

export interface ImageCheckOptions {
  target: Target;
  role: ImageRole;
  /** Label used in messages when the image is not read from a file. */
  source?: string;
}

/** The core an image role runs on. */
export function coreForRole(role: ImageRole): ImageCore {
  return role === 'network' ? 'network' : 'application';
}

function coreSpec(target: Target, core: ImageCore): CoreSpec {
  if (core === 'network') {
    if (!target.network) {
      throw new TfmError('INVALID_PARAMETER', `${target.displayName} has no network core: a network-core image does not apply to it.`);
    }
    return target.network;
  }
  return target.application;
}

/** Names the memory that [address, end) falls into, for an operator-readable refusal. */
function describeRegion(target: Target, address: number): string {
  const cores: CoreSpec[] = [target.application, ...(target.network ? [target.network] : [])];
  for (const core of cores) {
    if (address >= core.uicrBase && address < core.uicrBase + core.uicrSize) {
      return `the ${core.name} core's UICR (lifecycle, implementation ID, KMU key slots, APPROTECT)`;
    }
    // FICR sits directly below UICR in the info block of each core.
    if (address >= core.ficrBase && address < core.uicrBase) return `the ${core.name} core's FICR`;
    if (address >= core.flash.base && address < core.flash.base + core.flash.size) return `the ${core.name} core's flash`;
  }
  return 'no flash of this chip';
}

function parseHexText(text: string, source: string): MemoryMap {
  // nrf-intel-hex is strict about trailing text after the EOF record; editors add blank lines.
  const trimmed = text.replace(/\s+$/u, '');
  try {
    return MemoryMap.fromHex(trimmed);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TfmError('IMAGE_INVALID', `${source} is not a valid Intel HEX file: ${reason}.`, {
      details: { source },
      cause: error,
    });
  }
}

function containsAscii(segments: ImageSegment[], marker: string): boolean {
  const needle = Buffer.from(marker, 'latin1');
  // Strings never span two segments in a real build (rodata is contiguous), so per-segment search is enough.
  return segments.some((segment) => Buffer.from(segment.data.buffer, segment.data.byteOffset, segment.data.byteLength).includes(needle));
}

/**
 * Parses and checks an image. Throws IMAGE_INVALID for anything that is not well-formed Intel HEX
 * with data, and IMAGE_OUT_OF_RANGE for any byte outside the core's code flash.
 */
export function parseImage(input: string | Uint8Array, options: ImageCheckOptions): FirmwareImage {
  const { target, role } = options;
  const source = options.source ?? `${role} image`;
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  const map = parseHexText(text, source);
  const core = coreForRole(role);
  const spec = coreSpec(target, core);
  const flashEnd = spec.flash.base + spec.flash.size;

  const segments: ImageSegment[] = [];
  let byteCount = 0;
  for (const [address, data] of map) {
    if (data.length === 0) continue;
    const end = address + data.length;
    if (address < spec.flash.base || end > flashEnd) {
      const first = address < spec.flash.base || address >= flashEnd ? address : flashEnd;
      throw new TfmError(
        'IMAGE_OUT_OF_RANGE',
        `${source} has data at ${hex32(first)} (record run ${hex32(address)}..${hex32(end - 1)}), in ${describeRegion(target, first)}. ` +
          `The ${role} image may only hold ${core}-core flash (${hex32(spec.flash.base)}..${hex32(flashEnd - 1)}); ` +
          'rebuild it without UICR/FICR content (for example without a merged provision.hex) or pass the right image for this core. Nothing was written to non-volatile memory.',
        { details: { source, role, core, address: first, runStart: address, runEnd: end - 1, flashBase: spec.flash.base, flashEnd: flashEnd - 1 } },
      );
    }
    segments.push({ address, data });
    byteCount += data.length;
  }
  if (segments.length === 0) {
    throw new TfmError('IMAGE_INVALID', `${source} holds no data records: it is not a firmware image.`, { details: { source } });
  }

  const pageSize = spec.flash.pageSize;
  const pageSet = new Set<number>();
  for (const { address, data } of segments) {
    const firstPage = Math.floor((address - spec.flash.base) / pageSize);
    const lastPage = Math.floor((address + data.length - 1 - spec.flash.base) / pageSize);
    for (let page = firstPage; page <= lastPage; page++) pageSet.add(spec.flash.base + page * pageSize);
  }
  const pages = [...pageSet].sort((a, b) => a - b);

  const markers = role === 'provisioning' ? PROVISIONING_IMAGE_MARKERS : role === 'network' ? NETWORK_IMAGE_MARKERS : [];
  const missingMarkers = markers.filter((marker) => !containsAscii(segments, marker));

  return { role, core, source, segments, byteCount, pageSize, pages, missingMarkers };
}

/**
 * Largest image file read. Intel HEX takes about 2.8 bytes of text per byte of data (a 16-byte
 * record is 44 characters with its line end), so the largest flash of a target here (1 MiB) is
 * about 3 MiB of HEX; 16 MiB leaves room for comments and CRLF and still refuses a wrong file
 * (a disk image, a sparse file, /dev/zero) by its size, before reading it.
 */
export const MAX_IMAGE_FILE_BYTES = 16 * 1024 * 1024;

/** Checks that an image file is a regular file within MAX_IMAGE_FILE_BYTES, without reading it. */
export function checkImageFile(path: string, role: string): void {
  const stats = statRegularOrAbsent(path, `the ${role} image`, 'IMAGE_INVALID');
  if (stats === undefined) throw new TfmError('IMAGE_INVALID', `Cannot read the ${role} image ${path}: it does not exist.`, { details: { path } });
  if (stats.size > MAX_IMAGE_FILE_BYTES) {
    throw new TfmError('IMAGE_INVALID', `The ${role} image ${path} is ${stats.size} bytes; an Intel HEX image is at most ${MAX_IMAGE_FILE_BYTES} bytes. Is it the right file?`, {
      details: { path, size: stats.size, maxBytes: MAX_IMAGE_FILE_BYTES },
    });
  }
}

/**
 * Reads and checks an image file. A missing or unreadable file is IMAGE_INVALID (a usage error,
 * exit 2, like a malformed file), and so are FIFOs, devices and files over MAX_IMAGE_FILE_BYTES:
 * stat first, open without blocking (files.ts), so /dev/zero or a FIFO never hangs the run.
 */
export async function loadImage(path: string, options: Omit<ImageCheckOptions, 'source'>): Promise<FirmwareImage> {
  checkImageFile(path, options.role);
  const bytes = readRegularFile(path, `the ${options.role} image`, { maxBytes: MAX_IMAGE_FILE_BYTES, code: 'IMAGE_INVALID' });
  return parseImage(bytes, { ...options, source: path });
}

/**
 * What each touched page must hold after programming: erased (0xFF) except for the image bytes.
 * Verification compares whole pages, so a page that did not erase shows up too. Flash bases are
 * page aligned on every target, so a page starts at `address - address % pageSize`.
 */
export function expectedPages(image: FirmwareImage): Map<number, Uint8Array> {
  const pages = new Map<number, Uint8Array>();
  for (const page of image.pages) pages.set(page, new Uint8Array(image.pageSize).fill(0xff));
  for (const { address, data } of image.segments) {
    for (let offset = 0; offset < data.length; ) {
      const absolute = address + offset;
      const inPage = absolute % image.pageSize;
      const n = Math.min(data.length - offset, image.pageSize - inPage);
      pages.get(absolute - inPage)!.set(data.subarray(offset, offset + n), inPage);
      offset += n;
    }
  }
  return pages;
}
