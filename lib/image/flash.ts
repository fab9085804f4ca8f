/**
 * Page-exact flash programming for the image strategy: erase only the pages an image covers,
 * program it in blocks, and verify the pages by reading them back.
 *
 * Never an erase-all and never anything in UICR: both would wipe the lifecycle words and KMU keys
 * that the provisioning image is about to create (or has created). The page list comes from
 * `parseImage`, which has already refused any byte outside the core's code flash; the checks below
 * repeat that guard at the last moment so that no caller can hand this module a UICR page.
 */
import { TfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import type { CoreSpec, Target } from '../targets';
import { expectedPages, imageName, type FirmwareImage } from './intel-hex';

/** A contiguous, word-aligned run of bytes written with one probe write. */
export interface ProgramBlock {
  address: number;
  data: Uint8Array;
}

/** Default largest single write: one application-core page. Bigger blocks save probe round trips
 *  but give coarser progress and a longer single vendor call. */
export const DEFAULT_BLOCK_SIZE = 0x1000;

function coreOf(target: Target, image: FirmwareImage): CoreSpec {
  const spec = image.core === 'network' ? target.network : target.application;
  if (!spec) throw new TfmError('INVALID_PARAMETER', `${target.displayName} has no ${image.core} core.`);
  return spec;
}

function assertInFlash(spec: CoreSpec, address: number, length: number): void {
  const end = spec.flash.base + spec.flash.size;
  if (address < spec.flash.base || address + length > end) {
    throw new TfmError('IMAGE_OUT_OF_RANGE', `Refusing a flash operation at 0x${address.toString(16)} outside the ${spec.name} core's code flash.`, {
      details: { address, length },
    });
  }
}

/**
 * Splits the image into word-aligned blocks: every 32-bit word that holds at least one image byte
 * is written exactly once (NVMC writes whole words; the other bytes of a partly covered word are
 * 0xFF, which leaves the erased bits as they are). Runs never cross a page and never exceed
 * `blockSize`.
 */
export function planProgramBlocks(image: FirmwareImage, blockSize = DEFAULT_BLOCK_SIZE): ProgramBlock[] {
  if (blockSize < 4 || blockSize % 4 !== 0) throw new TfmError('INVALID_PARAMETER', `Block size ${blockSize} must be a positive multiple of 4.`);
  const pages = expectedPages(image);
  const touched = new Map<number, Uint8Array>(); // page -> 1 per word holding image bytes
  for (const page of image.pages) touched.set(page, new Uint8Array(image.pageSize / 4));
  for (const { address, data } of image.segments) {
    for (let word = address >>> 2; word <= (address + data.length - 1) >>> 2; word++) {
      const byteAddress = word * 4;
      const inPage = byteAddress % image.pageSize;
      touched.get(byteAddress - inPage)![inPage >>> 2] = 1;
    }
  }
  const blocks: ProgramBlock[] = [];
  for (const page of image.pages) {
    const words = touched.get(page)!;
    const content = pages.get(page)!;
    let w = 0;
    while (w < words.length) {
      if (!words[w]) {
        w++;
        continue;
      }
      const start = w;
      while (w < words.length && words[w] && (w - start) * 4 < blockSize) w++;
      blocks.push({ address: page + start * 4, data: content.slice(start * 4, w * 4) });
    }
  }
  return blocks;
}

/**
 * Erases exactly the image's pages on its core (the core must be selected and halted), or only
 * `pages` of them when given (blank-checked: see findUsedPages).
 */
export async function eraseImagePages(
  session: ProbeSession,
  target: Target,
  image: FirmwareImage,
  onPage?: (address: number) => void,
  pages: readonly number[] = image.pages,
): Promise<void> {
  const spec = coreOf(target, image);
  for (const page of pages) {
    if (!image.pages.includes(page)) throw new TfmError('INTERNAL_ERROR', `Page 0x${page.toString(16)} is not one of the image's pages.`);
    assertInFlash(spec, page, image.pageSize);
    if (page % image.pageSize !== 0) throw new TfmError('INTERNAL_ERROR', `Page address 0x${page.toString(16)} is not page aligned.`);
    await session.erasePage(page);
    onPage?.(page);
  }
}

/** Programs the blocks through the selected core's NVMC. */
export async function programImageBlocks(session: ProbeSession, target: Target, image: FirmwareImage, blocks: ProgramBlock[], onBlock?: (block: ProgramBlock) => void): Promise<void> {
  const spec = coreOf(target, image);
  for (const block of blocks) {
    assertInFlash(spec, block.address, block.data.length);
    await session.write(block.address, block.data, { nvmc: true });
    onBlock?.(block);
  }
}

export interface PageMismatch {
  page: number;
  address: number;
  expected: number;
  actual: number;
}

/** Reads every touched page back and compares it with the expected content (image bytes, 0xFF
 *  elsewhere). Returns the first mismatch, or undefined when all pages match. */
export async function findPageMismatch(session: ProbeSession, image: FirmwareImage): Promise<PageMismatch | undefined> {
  for (const [page, expected] of expectedPages(image)) {
    const actual = await session.read(page, expected.length);
    for (let i = 0; i < expected.length; i++) {
      if (actual[i] !== expected[i]) return { page, address: page + i, expected: expected[i]!, actual: actual[i] ?? -1 };
    }
  }
  return undefined;
}

/**
 * The blank check: reads each of the image's pages (one read per page) and returns those holding
 * any byte other than 0xFF. Only these need an erase before programming: an NVMC write only clears
 * bits (1 -> 0; nRF5340 PS, NVMC: a page is erased to all 1s and written word by word), so a page
 * that reads all 0xFF is exactly what an erase would leave, and programming it gives the image.
 * A part fresh from the reel has these pages blank; one with old firmware there does not.
 */
export async function findUsedPages(session: ProbeSession, image: FirmwareImage): Promise<number[]> {
  const used: number[] = [];
  for (const page of image.pages) {
    const actual = await session.read(page, image.pageSize);
    if (actual.some((b) => b !== 0xff)) used.push(page);
  }
  return used;
}

/** Reads every touched page back and checks it is erased. */
export async function findNonErasedPage(session: ProbeSession, image: FirmwareImage): Promise<PageMismatch | undefined> {
  for (const page of image.pages) {
    const actual = await session.read(page, image.pageSize);
    const i = actual.findIndex((b) => b !== 0xff);
    if (i >= 0) return { page, address: page + i, expected: 0xff, actual: actual[i]! };
  }
  return undefined;
}

export function describeMismatch(m: PageMismatch): string {
  return `byte 0x${m.address.toString(16).padStart(8, '0')} reads 0x${m.actual.toString(16).padStart(2, '0')}, expected 0x${m.expected.toString(16).padStart(2, '0')}`;
}

/**
 * Halts the selected core, blank-checks the image's pages and erases those that are not blank,
 * programs the image and verifies every page by reading it back (as before the blank check: the
 * read-back, not the blank check, is what proves the page content).
 */
export async function programAndVerify(probe: ProbeSession, target: Target, image: FirmwareImage, blockSize: number): Promise<{ blocks: ProgramBlock[]; erasedPages: number[] }> {
  // The CPU must not run while the debugger drives the NVMC (nRF52 PS; assumed for nRF53/nRF91).
  // Halted before the blank check too, so running code cannot write a page after it was checked.
  await probe.halt();
  const erasedPages = await findUsedPages(probe, image);
  await eraseImagePages(probe, target, image, undefined, erasedPages);
  const blocks = planProgramBlocks(image, blockSize);
  await programImageBlocks(probe, target, image, blocks);
  const mismatch = await findPageMismatch(probe, image);
  if (mismatch) {
    throw new TfmError('VERIFY_FAILED', `The ${imageName(image)} did not read back as programmed: ${describeMismatch(mismatch)}. Check the probe connection and supply voltage.`, {
      details: { image: image.source, ...mismatch },
    });
  }
  return { blocks, erasedPages };
}

/** Erases the image's pages and checks they read erased. */
export async function removeImage(probe: ProbeSession, target: Target, image: FirmwareImage): Promise<void> {
  await probe.halt();
  await eraseImagePages(probe, target, image);
  const left = await findNonErasedPage(probe, image);
  if (left) {
    throw new TfmError('VERIFY_FAILED', `The ${imageName(image)} is still in flash after erasing its pages: ${describeMismatch(left)}.`, { afterWrite: true, details: { image: image.source, ...left } });
  }
}
