/**
 * SEGGER RTT up-channel reading done with plain memory reads through the probe, so it works the same
 * on every backend (nrfjprog, J-Link, simulator) without vendor RTT calls in the probe contract.
 *
 * RTT is a memory protocol: the target keeps a control block in RAM that starts with the ID
 * "SEGGER RTT", followed by the number of up and down buffers and one descriptor per buffer
 * {name pointer, buffer pointer, size, write offset, read offset, flags} (six 32-bit words). The
 * target writes bytes at WrOff; the host reads from RdOff up to WrOff (wrapping at the size) and
 * then stores the new RdOff, which frees the space for the target.
 */
import type { ProbeSession } from '../probe/types';
import { LineAssembler, type ImageConsole } from './console';

export const RTT_ID = 'SEGGER RTT';
const ID_FIELD_BYTES = 16;
const HEADER_BYTES = ID_FIELD_BYTES + 8;
const UP_DESCRIPTOR_BYTES = 24;
/** Sanity limits on what a control block may claim, so garbage that happens to contain the ID is
 *  not followed into wild addresses. */
const MAX_BUFFERS = 32;
const MAX_BUFFER_SIZE = 0x10000;

export interface RttSearchRange {
  base: number;
  size: number;
}

/** Reads `range` in chunks and returns the address of the first control-block ID, if any. */
export async function findRttControlBlock(session: ProbeSession, range: RttSearchRange, chunkSize = 0x4000): Promise<number | undefined> {
  const id = Buffer.alloc(ID_FIELD_BYTES);
  id.write(RTT_ID, 'latin1');
  // The ID field is "SEGGER RTT" padded with NULs; match the 10 characters plus one NUL so a copy
  // of the string elsewhere (e.g. in a log buffer) does not match.
  const needle = id.subarray(0, RTT_ID.length + 1);
  const overlap = needle.length - 1;
  for (let offset = 0; offset < range.size; offset += chunkSize) {
    const start = range.base + offset;
    const length = Math.min(chunkSize + overlap, range.size - offset);
    const bytes = Buffer.from(await session.read(start, length));
    let at = bytes.indexOf(needle);
    while (at >= 0) {
      // The control block is word aligned in every RTT implementation.
      if ((start + at) % 4 === 0) return start + at;
      at = bytes.indexOf(needle, at + 1);
    }
  }
  return undefined;
}

/**
 * Clears the ID of every control block found in `range` (at most a few), so that a block left in RAM
 * by the previous firmware (RAM keeps its contents over a reset on silicon) is not taken for the
 * image's own. Call with the core halted, before it starts. Returns how many were cleared.
 */
export async function scrubRttControlBlocks(session: ProbeSession, range: RttSearchRange, chunkSize = 0x10000): Promise<number> {
  let cleared = 0;
  for (; cleared < 4; cleared++) {
    const found = await findRttControlBlock(session, range, chunkSize);
    if (found === undefined) break;
    await session.write(found, new Uint8Array(ID_FIELD_BYTES));
  }
  return cleared;
}

interface UpBuffer {
  descriptor: number;
  buffer: number;
  size: number;
}

async function readUpBuffer(session: ProbeSession, controlBlock: number, channel: number): Promise<UpBuffer | undefined> {
  const header = Buffer.from(await session.read(controlBlock + ID_FIELD_BYTES, 8));
  const upCount = header.readUInt32LE(0);
  if (upCount === 0 || upCount > MAX_BUFFERS || channel >= upCount) return undefined;
  const descriptor = controlBlock + HEADER_BYTES + channel * UP_DESCRIPTOR_BYTES;
  const words = Buffer.from(await session.read(descriptor, UP_DESCRIPTOR_BYTES));
  const buffer = words.readUInt32LE(4);
  const size = words.readUInt32LE(8);
  if (buffer === 0 || size === 0 || size > MAX_BUFFER_SIZE) return undefined;
  return { descriptor, buffer, size };
}

export interface RttConsoleOptions {
  /** Where to look for the control block (default: the core's RAM from lib/targets). */
  search: RttSearchRange;
  /** Known control-block address (e.g. from the image's map file): skips the search. */
  address?: number;
  /** Up channel carrying the log (Zephyr's RTT log backend and console use channel 0). */
  channel?: number;
  /** Search for the control block on every n-th poll only (a RAM scan is many reads)... */
  searchEveryPolls?: number;
  /** ...and give up after this many searches (the image has no RTT). */
  maxSearches?: number;
}

/**
 * An RTT console that attaches lazily: until the target has initialised its control block, `poll`
 * searches for it (the block lives in RAM that the image sets up at start-up) and returns nothing.
 */
export class RttConsole implements ImageConsole {
  readonly kind = 'rtt' as const;
  private controlBlock?: number;
  private up?: UpBuffer;
  private readonly assembler = new LineAssembler();
  private readonly channel: number;
  private polls = 0;
  private searches = 0;

  constructor(
    private readonly session: ProbeSession,
    private readonly options: RttConsoleOptions,
  ) {
    this.channel = options.channel ?? 0;
  }

  get description(): string {
    return this.controlBlock === undefined
      ? `RTT up channel ${this.channel} (control block not found yet)`
      : `RTT up channel ${this.channel} at 0x${this.controlBlock.toString(16).padStart(8, '0')}`;
  }

  /** True once the control block and the up buffer have been found. */
  get attached(): boolean {
    return this.up !== undefined;
  }

  async poll(): Promise<string[]> {
    if (!this.up) {
      const poll = this.polls++;
      if (poll % (this.options.searchEveryPolls ?? 5) !== 0 || this.searches >= (this.options.maxSearches ?? 8)) return [];
      this.searches++;
      this.controlBlock = this.options.address ?? (await findRttControlBlock(this.session, this.options.search));
      if (this.controlBlock === undefined) return [];
      this.up = await readUpBuffer(this.session, this.controlBlock, this.channel);
      if (!this.up) return [];
    }
    const { descriptor, buffer, size } = this.up;
    const offsets = Buffer.from(await this.session.read(descriptor + 12, 8));
    const writeOffset = offsets.readUInt32LE(0);
    const readOffset = offsets.readUInt32LE(4);
    if (writeOffset >= size || readOffset >= size) {
      // The block was re-initialised or overwritten (e.g. the image restarted): find it again.
      this.up = undefined;
      return [];
    }
    if (writeOffset === readOffset) return [];
    let bytes: Uint8Array;
    if (writeOffset > readOffset) {
      bytes = await this.session.read(buffer + readOffset, writeOffset - readOffset);
    } else {
      const tail = await this.session.read(buffer + readOffset, size - readOffset);
      const head = writeOffset > 0 ? await this.session.read(buffer, writeOffset) : new Uint8Array(0);
      bytes = Buffer.concat([tail, head]);
    }
    await this.session.writeU32(descriptor + 16, writeOffset);
    return this.assembler.push(bytes);
  }

  async close(): Promise<void> {
    // Nothing to release on the target; a trailing partial line is dropped with the run.
  }
}
