/**
 * What every firmware model shares: its result, the host interface it runs against (the device's
 * bus as the CPU sees it, never the device itself, so models do not import device.ts), the CPU
 * wrapper with Zephyr-style logging, and the nrfx NVMC write helpers (nrfx_nvmc.c, nrfx v3.x).
 *
 * A model is a generator that yields how many microseconds of virtual time to wait before its next
 * step. To add a model: a module beside the others exporting a FirmwareModelSpec (index.ts).
 */
import { NVMC_REN, NVMC_WEN, type Target } from '../../targets';
import type { RandomSource } from '../../random';
import { nvmcRegisters } from '../layout';
import { decodeLifecycle, lifecycleHalfwords } from '../lifecycle';
import type { SimCoreName, SimLifecycleReading, TfmBootResult } from '../types';

export type FirmwareKind = 'provisioning-image' | 'network-image' | 'tfm';

export interface FirmwareResult {
  kind: FirmwareKind;
  ok: boolean;
  message: string;
  tfm?: TfmBootResult;
  /** The firmware ends with a system reset (TF-M after PROVISIONING -> SECURED). */
  resetRequested?: boolean;
}

export type Model = Generator<number, FirmwareResult, void>;

/** A firmware model in progress on one core. */
export interface FirmwareRun {
  kind: FirmwareKind;
  gen: Model;
  wakeAt: number;
  /** Wait left when the core was halted mid-step. */
  remaining?: number;
}

/** The simulated chip as firmware sees it; accesses obey the same rules as the probe's. */
export interface FirmwareHost {
  readonly target: Target;
  /** The firmware's randomness (HUKs, identity key): seeded on simulated devices. */
  readonly random: RandomSource;
  /** FICR DEVICEID as 8 bytes. */
  deviceIdBytes(): Uint8Array;
  readWord(core: SimCoreName, address: number): number;
  writeWord(core: SimCoreName, address: number, value: number): void;
  /** Microseconds until the core's NVMC is READY. */
  nvmcBusyUs(core: SimCoreName): number;
  /** A console line (also to the core's RTT up buffer). */
  print(core: SimCoreName, line: string): void;
  /** Microseconds since the core's last boot. */
  uptimeUs(core: SimCoreName): number;
  /** Places the RTT control block in the core's RAM. */
  rttInit(core: SimCoreName): void;
  /** The CryptoCell key register loaded by a KMU push (a copy the caller zeroes). */
  cryptocellKey(address: number): Uint8Array | undefined;
  /** A core's flash as contiguous non-erased runs (what a boot measurement hashes). */
  flashRuns(core: SimCoreName): readonly Buffer[];
}

/** The CPU's view of the bus on one core. */
export class Cpu {
  readonly nvmc: { config: number };
  constructor(
    readonly host: FirmwareHost,
    readonly core: SimCoreName,
  ) {
    const t = host.target;
    const spec = core === 'network' ? t.network! : t.application;
    this.nvmc = nvmcRegisters(t, spec);
  }
  get target(): Target {
    return this.host.target;
  }
  read(address: number): number {
    return this.host.readWord(this.core, address);
  }
  write(address: number, value: number): void {
    this.host.writeWord(this.core, address, value);
  }
  /** Microseconds until NVMC READY. */
  busy(): number {
    return this.host.nvmcBusyUs(this.core);
  }
  /** Zephyr LOG_INF / LOG_ERR line: `[hh:mm:ss.mmm,uuu] <inf> module: text`. */
  log(module: string, text: string, level: 'inf' | 'err' | 'wrn' = 'inf'): void {
    this.host.print(this.core, `[${zephyrTime(this.host.uptimeUs(this.core))}] <${level}> ${module}: ${text}`);
  }
  /** printk: a bare line. */
  printk(text: string): void {
    this.host.print(this.core, text);
  }
}

function zephyrTime(us: number): string {
  const total = Math.floor(us);
  const micros = total % 1000;
  const millis = Math.floor(total / 1000) % 1000;
  const seconds = Math.floor(total / 1_000_000);
  const p = (n: number, w: number): string => String(n).padStart(w, '0');
  return `${p(Math.floor(seconds / 3600), 2)}:${p(Math.floor(seconds / 60) % 60, 2)}:${p(seconds % 60, 2)}.${p(millis, 3)},${p(micros, 3)}`;
}

/** nrfx_nvmc_words_write: CONFIG = Wen, each word followed by a wait for READY, CONFIG = Ren. */
export function* nvmcWriteWords(cpu: Cpu, words: Array<[number, number]>): Generator<number, void, void> {
  cpu.write(cpu.nvmc.config, NVMC_WEN);
  for (const [address, value] of words) {
    cpu.write(address, value);
    yield cpu.busy();
  }
  cpu.write(cpu.nvmc.config, NVMC_REN);
}

/** nrfx_nvmc_halfword_write: a word write, the other half masked as 0xFFFF. */
export function* halfwordWrite(cpu: Cpu, address: number, value: number): Generator<number, void, void> {
  const word = address & ~3;
  const full = address & 2 ? ((value << 16) | 0xffff) >>> 0 : (0xffff0000 | value) >>> 0;
  yield* nvmcWriteWords(cpu, [[word, full]]);
}

/** bl_storage read_life_cycle_state: word reads of the OTP, three halves decoded. */
export function readLifecycle(cpu: Cpu): SimLifecycleReading {
  const t = cpu.target;
  return decodeLifecycle(lifecycleHalfwords(cpu.read(t.lifecycle.provisioning), cpu.read(t.lifecycle.reserved)));
}

/** Boot: RTT initialised, then the time until main() runs. */
export function* bootDelay(cpu: Cpu, us: number): Generator<number, void, void> {
  cpu.host.rttInit(cpu.core);
  yield us;
}

/** A core's flash as an image search sees it: contiguous non-erased runs. */
export interface FlashImage {
  runs: readonly Buffer[];
  /** Whether any run contains `text` (latin1). */
  has(text: string): boolean;
}

/** One firmware model: which image it stands for and how it starts. Listed in firmware/index.ts. */
export interface FirmwareModelSpec<C = unknown> {
  kind: FirmwareKind;
  core: SimCoreName;
  /** The model's configuration read from the image, or undefined when the flash does not hold it. */
  recognise(image: FlashImage): C | undefined;
  start(host: FirmwareHost, config: C): Model;
}
