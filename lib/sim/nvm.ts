/**
 * Non-volatile memory of one core: flash pages and UICR with their per-word write counts, behind
 * the NVMC. The rules are the nRF5340 PS / nRF91x1 PS NVMC chapter (device-facts 5.3):
 * - a write clears bits only (AND with the old value); only an erase sets them again;
 * - nWRITE = 2: a word may be written twice between erases, a third write leaves it undefined;
 * - writes need CONFIG = Wen; in CONFIG = Een, 0xFFFFFFFF to a page's first word erases the page;
 *   UICR is never page-erased, only by an erase-all;
 * - the NVMC is busy for tWRITE / tERASEPAGE / tERASEALL (lib/targets timing) and the bus stalls.
 * A power-loss fault tears one word program (TearPlan): part of the bits to clear get cleared.
 */
import { ERASED_WORD, NVMC_EEN, NVMC_REN, NVMC_WEN, type CoreSpec } from '../targets';
import { hex32 } from '../bytes';
import type { By, PartContext } from './context';
import { nvmcRegisters } from './layout';
import type { SimCoreName } from './types';

/** Thrown inside a write to stop it after the torn word (power-loss fault). */
export class PowerLossSignal extends Error {
  constructor() {
    super('power lost');
  }
}

/** Armed by a power-loss fault: tears the `wordIndex`-th NVM word program from now on. */
export interface TearPlan {
  mask?: number;
  wordIndex: number;
  seen: number;
}

/** Shared by the cores' NVMs: the fault armed for the operation in flight. */
export interface NvmFaults {
  tear?: TearPlan;
}

export interface NvmSnapshot {
  uicr: Uint32Array;
  uicrWrites: Uint8Array;
  /** Non-erased flash pages in address order. */
  flash: Array<{ address: number; words: Uint32Array; writes: Uint8Array }>;
  nvmcConfig: number;
  busyUntil: number;
}

export type NvmRegion = 'flash' | 'uicr';

export class CoreNvm {
  uicr: Uint32Array;
  uicrWrites: Uint8Array;
  /** Flash pages that are not fully erased, by page start address. */
  readonly flash = new Map<number, Uint32Array>();
  readonly flashWrites = new Map<number, Uint8Array>();
  nvmcConfig = NVMC_REN;
  busyUntil = 0;
  readonly registers: { ready: number; readyNext: number; config: number; eraseAll: number };

  constructor(
    readonly core: SimCoreName,
    readonly spec: CoreSpec,
    private readonly ctx: PartContext,
    private readonly faults: NvmFaults,
  ) {
    this.uicr = new Uint32Array(spec.uicrSize / 4).fill(ERASED_WORD);
    this.uicrWrites = new Uint8Array(spec.uicrSize / 4);
    this.registers = nvmcRegisters(ctx.target, spec);
  }

  inFlash(address: number): boolean {
    return address >= this.spec.flash.base && address < this.spec.flash.base + this.spec.flash.size;
  }
  inUicr(address: number): boolean {
    return address >= this.spec.uicrBase && address < this.spec.uicrBase + this.spec.uicrSize;
  }
  pageOf(address: number): number {
    const { base, pageSize } = this.spec.flash;
    return base + Math.floor((address - base) / pageSize) * pageSize;
  }
  /** The words and write counts of the flash page at `page`, created erased when not held yet. */
  flashPage(page: number): { words: Uint32Array; counts: Uint8Array } {
    let words = this.flash.get(page);
    let counts = this.flashWrites.get(page);
    if (!words || !counts) {
      words = new Uint32Array(this.spec.flash.pageSize / 4).fill(ERASED_WORD);
      counts = new Uint8Array(this.spec.flash.pageSize / 4);
      this.flash.set(page, words);
      this.flashWrites.set(page, counts);
    }
    return { words, counts };
  }
  flashWord(address: number): number {
    const page = this.flash.get(this.pageOf(address));
    return page ? page[(address - this.pageOf(address)) >>> 2]! : ERASED_WORD;
  }
  uicrWord(address: number): number {
    return this.uicr[(address - this.spec.uicrBase) >>> 2]!;
  }
  /** Microseconds until NVMC READY. */
  busyUs(): number {
    return Math.max(0, this.busyUntil - this.ctx.clock.nowUs);
  }
  /** The bus stalls while the NVMC is busy. */
  stall(): void {
    if (this.ctx.clock.nowUs < this.busyUntil) this.ctx.clock.nowUs = this.busyUntil;
  }

  private valueText(address: number, value: number): string {
    return this.ctx.isKeyWord(this.core, address) ? 'a key word' : hex32(value);
  }

  /** Flash/UICR write gate: the NVMC mode decides whether the word is programmed, erases a page, or is ignored. */
  modeAllows(region: NvmRegion, address: number, value: number, by: By): boolean {
    const mode = this.nvmcConfig & 7;
    if (mode === NVMC_WEN) return true;
    if (mode === NVMC_EEN) {
      if (region === 'flash' && address === this.pageOf(address) && value === ERASED_WORD) {
        this.erasePage(address);
      } else if (region === 'uicr') {
        this.ctx.violate('UICR_PAGE_ERASE', this.core, address, by, `Erase-mode write to UICR ${hex32(address)}: UICR cannot be page-erased, only erased by an erase-all. Ignored.`, value);
      } else {
        this.ctx.violate('WRITE_IN_ERASE_MODE', this.core, address, by, `Write of ${this.valueText(address, value)} to ${hex32(address)} while NVMC.CONFIG = Een: only 0xFFFFFFFF to a page's first word erases it. Ignored.`, value);
      }
      return false;
    }
    this.ctx.violate('WRITE_WITHOUT_WEN', this.core, address, by, `Write of ${this.valueText(address, value)} to ${region === 'uicr' ? 'UICR' : 'flash'} ${hex32(address)} while NVMC.CONFIG = ${mode} (not Wen): ignored.`, value);
    return false;
  }

  /** A bus write to flash: gated by the NVMC mode, then programmed. */
  writeFlash(address: number, value: number, by: By): void {
    if (this.modeAllows('flash', address, value, by)) this.program('flash', address, value, by);
  }

  /** Programs one NVM word: AND semantics, two writes per erase, busy for tWRITE. */
  program(region: NvmRegion, address: number, value: number, by: By): void {
    this.stall();
    let words: Uint32Array;
    let counts: Uint8Array;
    let index: number;
    if (region === 'uicr') {
      words = this.uicr;
      counts = this.uicrWrites;
      index = (address - this.spec.uicrBase) >>> 2;
    } else {
      const page = this.pageOf(address);
      ({ words, counts } = this.flashPage(page));
      index = (address - page) >>> 2;
    }
    const old = words[index]!;
    let next = (old & value) >>> 0;
    let torn = false;
    const tear = this.faults.tear;
    if (tear) {
      if (tear.seen === tear.wordIndex) {
        const toClear = (old & ~value) >>> 0;
        const mask = tear.mask ?? lowerHalfOfSetBits(toClear);
        next = (old & ~(toClear & mask)) >>> 0;
        torn = true;
      }
      tear.seen++;
    }
    if (counts[index]! >= 2) {
      this.ctx.violate('THIRD_WRITE', this.core, address, by, `Word ${hex32(address)} written a ${ordinal(counts[index]! + 1)} time since its erase (nWRITE = 2): its value is now undefined.`, value);
      next = (next & scramble(address, counts[index]!)) >>> 0;
    }
    counts[index] = Math.min(255, counts[index]! + 1);
    words[index] = next;
    this.busyUntil = this.ctx.clock.nowUs + this.ctx.target.timing.wordWriteUs;
    if (torn) throw new PowerLossSignal();
  }

  erasePage(page: number): void {
    this.stall();
    this.flash.delete(page);
    this.flashWrites.delete(page);
    this.busyUntil = this.ctx.clock.nowUs + this.ctx.target.timing.pageEraseUs;
  }

  /** Flash and UICR back to erased (the NVM half of an erase-all; the caller handles RAM and locks). */
  eraseAll(): void {
    this.flash.clear();
    this.flashWrites.clear();
    this.uicr.fill(ERASED_WORD);
    this.uicrWrites.fill(0);
  }

  /** Busy for tERASEALL from now (or from the end of the current operation). */
  startEraseAllTimer(): void {
    this.busyUntil = Math.max(this.ctx.clock.nowUs, this.busyUntil) + this.ctx.target.timing.eraseAllUs;
  }

  /** A factory-written UICR word: AND semantics and one write counted, as if programmed normally. */
  factoryWriteUicr(address: number, value: number): void {
    const i = (address - this.spec.uicrBase) >>> 2;
    this.uicr[i] = (this.uicr[i]! & value) >>> 0;
    this.uicrWrites[i] = Math.min(255, this.uicrWrites[i]! + 1);
  }

  /** Places bytes in flash as a factory programmer would (pages taken as erased, no NVMC rules). */
  factoryProgramFlash(address: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const a = address + i;
      const page = this.pageOf(a);
      const { words, counts } = this.flashPage(page);
      const w = (a - page) >>> 2;
      const shift = 8 * (a & 3);
      words[w] = ((words[w]! & ~(0xff << shift)) | (data[i]! << shift)) >>> 0;
      counts[w] = 1;
    }
  }

  /** NVMC register read (READY, READYNEXT, CONFIG, ERASEALL), or undefined for any other address. */
  readRegister(address: number): number | undefined {
    const r = this.registers;
    if (address === r.ready || address === r.readyNext) return this.ctx.clock.nowUs >= this.busyUntil ? 1 : 0;
    if (address === r.config) return this.nvmcConfig;
    if (address === r.eraseAll) return 0;
    return undefined;
  }

  /**
   * NVMC register write; false for any other address. ERASEALL in Een mode calls `eraseAll`, which
   * decides about ERASEPROTECT and which cores it erases (and stalls first when it erases).
   */
  writeRegister(address: number, value: number, by: By, eraseAll: () => void): boolean {
    const r = this.registers;
    if (address === r.config) {
      this.stall();
      this.nvmcConfig = value & 7;
      return true;
    }
    if (address === r.ready || address === r.readyNext) return true;
    if (address !== r.eraseAll) return false;
    if (!(value & 1)) return true;
    if ((this.nvmcConfig & 7) !== NVMC_EEN) {
      this.ctx.violate('ERASEALL_WITHOUT_EEN', this.core, address, by, `NVMC ERASEALL written while CONFIG = ${this.nvmcConfig} (not Een): ignored.`, value);
      return true;
    }
    eraseAll();
    return true;
  }

  /** Contiguous runs of non-erased flash, as byte buffers (what an image search looks at). */
  flashRuns(): Buffer[] {
    const pages = [...this.flash.keys()].sort((a, b) => a - b);
    const runs: Buffer[] = [];
    let current: Buffer[] = [];
    let next = -1;
    for (const page of pages) {
      if (page !== next && current.length) {
        runs.push(Buffer.concat(current));
        current = [];
      }
      current.push(wordsToBuffer(this.flash.get(page)!));
      next = page + this.spec.flash.pageSize;
    }
    if (current.length) runs.push(Buffer.concat(current));
    return runs;
  }

  snapshot(): NvmSnapshot {
    return {
      uicr: Uint32Array.from(this.uicr),
      uicrWrites: Uint8Array.from(this.uicrWrites),
      flash: [...this.flash.keys()].sort((a, b) => a - b).map((address) => ({ address, words: Uint32Array.from(this.flash.get(address)!), writes: Uint8Array.from(this.flashWrites.get(address)!) })),
      nvmcConfig: this.nvmcConfig,
      busyUntil: this.busyUntil,
    };
  }

  restore(s: NvmSnapshot): void {
    this.uicr = Uint32Array.from(s.uicr);
    this.uicrWrites = Uint8Array.from(s.uicrWrites);
    this.flash.clear();
    this.flashWrites.clear();
    for (const page of s.flash) {
      this.flash.set(page.address, Uint32Array.from(page.words));
      this.flashWrites.set(page.address, Uint8Array.from(page.writes));
    }
    this.nvmcConfig = s.nvmcConfig;
    this.busyUntil = s.busyUntil;
  }
}

/** Little-endian bytes of a word array. */
export function wordsToBuffer(words: Uint32Array): Buffer {
  const bytes = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => bytes.writeUInt32LE(w, 4 * i));
  return bytes;
}

/** The default torn-write mask: of the bits a write was to clear, only the lower half get cleared. */
function lowerHalfOfSetBits(bits: number): number {
  let count = 0;
  for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) count++;
  let keep = Math.floor(count / 2);
  let mask = 0;
  for (let b = 0; b < 32 && keep > 0; b++) {
    if ((bits >>> b) & 1) {
      mask |= 1 << b;
      keep--;
    }
  }
  return mask >>> 0;
}

/** "Undefined" after too many writes: modelled as some extra bits cleared, deterministically. */
function scramble(address: number, count: number): number {
  const x = Math.imul((address ^ (count * 0x9e3779b9)) >>> 0, 0x85ebca6b) >>> 0;
  return (x ^ (x >>> 13) ^ 0x0f0f0f0f) >>> 0;
}

function ordinal(n: number): string {
  return n === 3 ? 'third' : `${n}th`;
}
