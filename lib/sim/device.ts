/**
 * A simulated nRF5340 / nRF91 chip: FICR, UICR (OTP lifecycle, KMU key slots, APPROTECT), flash,
 * NVMC, KMU, a modelled CryptoCell key register, CTRL-AP, reset and debug locking, on a virtual
 * clock, with firmware models that run on the simulated CPU through the same rules as the probe.
 *
 * Faithfulness is the point: a provisioning bug that would brick or mis-provision silicon must show
 * up here, as a violation (something the hardware silently ignores or corrupts) or a ProbeError
 * (something a debugger reports). Addresses and values all come from lib/targets.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { ProbeError, TfmError } from '../errors';
import type { DeviceInfo } from '../probe/types';
import { cryptoRandom, seededRandom, type RandomSource } from '../random';
import {
  ERASED_WORD,
  getTarget,
  isChipName,
  kmuDestAddress,
  kmuPermAddress,
  kmuValueAddress,
  KMU_PERM_PUSH,
  KMU_PERM_READ,
  KMU_PERM_STATE,
  KMU_PERM_WRITE,
  KMU_STATUS_BLOCKED,
  KMU_STATUS_SELECTED,
  KMU_UNREACHABLE,
  NVMC_EEN,
  NVMC_REN,
  NVMC_WEN,
  type ChipName,
  type CoreSpec,
  type Target,
} from '../targets';
import { bytesFrom, hex32, readU32LE, toHex, writeU32LE } from './bytes';
import {
  CTRLAPPERI_ERASEPROTECT_DISABLE,
  FICR_SIZE,
  NET_UICR_ERASEPROTECT_OFFSET,
  nvmcRegisters,
  RTT_CB_OFFSET,
  RTT_DOWN_BUFFER_SIZE,
  RTT_ID,
  RTT_UP_BUFFER_SIZE,
  SIM_AHB_AP_IDR,
  SIM_CTRL_AP_IDR,
  SIM_VARIANT,
} from './layout';
import type {
  SimCoreDump,
  SimCoreName,
  SimDeviceState,
  SimDump,
  SimDumpDifference,
  SimKmuSlotDump,
  SimLifecycle,
  SimViolation,
  SimViolationKind,
  TfmBootResult,
} from './types';
import {
  detectFirmware,
  networkImageModel,
  provisioningImageModel,
  runTfmBoot,
  type FirmwareKind,
  type FirmwareResult,
  type ProvisioningImageConfig,
} from './firmware';
import { dumpToIntelHex } from './hex';
import { deviceFromState, deviceToState } from './state-file';

type By = 'probe' | 'firmware';
type Region = 'flash' | 'uicr' | 'ficr' | 'register' | 'volatile';

/** A firmware model in progress on one core: a generator that yields microseconds to wait. */
interface FirmwareRun {
  kind: FirmwareKind;
  gen: Generator<number, FirmwareResult | void, void>;
  wakeAt: number;
  /** Wait left when the core was halted mid-step. */
  remaining?: number;
}

/** Thrown inside a write to stop it after the torn word (power-loss fault). */
export class PowerLossSignal extends Error {
  constructor() {
    super('power lost');
  }
}

/** @internal State of one core (application, or nRF5340 network). */
export class SimCore {
  readonly name: SimCoreName;
  readonly spec: CoreSpec;
  readonly ficr = new Map<number, number>();
  uicr: Uint32Array;
  uicrWrites: Uint8Array;
  /** Flash pages that are not fully erased, by page start address. */
  flash = new Map<number, Uint32Array>();
  flashWrites = new Map<number, Uint8Array>();
  /** RAM and unmodelled registers: word address -> value (lost on reset). */
  volatile = new Map<number, number>();
  nvmcConfig = NVMC_REN;
  busyUntil = 0;
  /** UICR.APPROTECT held the unprotected value at the last reset of this core. */
  approtectOpenAtReset = true;
  /** A CTRL-AP erase-all opened this core's AHB-AP until the next reset. */
  unlockedByEraseAll = false;
  running = false;
  firmwareStarted = false;
  /**
   * Released from RESET.NETWORK.FORCEOFF by the debugger and not booted yet: the core's firmware
   * starts with the debugger's next transaction to the chip, unless that transaction halts the core
   * (or when virtual time passes without the debugger: runFor, runUntilIdle). See setForceOff.
   */
  bootPending = false;
  firmware?: FirmwareRun;
  bootTimeUs = 0;
  ctrlApReset = 0;
  eraseAllBusyUntil = 0;

  constructor(name: SimCoreName, spec: CoreSpec) {
    this.name = name;
    this.spec = spec;
    this.uicr = new Uint32Array(spec.uicrSize / 4).fill(ERASED_WORD);
    this.uicrWrites = new Uint8Array(spec.uicrSize / 4);
  }

  get debugOpen(): boolean {
    return this.unlockedByEraseAll || this.approtectOpenAtReset;
  }

  inFlash(address: number): boolean {
    return address >= this.spec.flash.base && address < this.spec.flash.base + this.spec.flash.size;
  }
  inUicr(address: number): boolean {
    return address >= this.spec.uicrBase && address < this.spec.uicrBase + this.spec.uicrSize;
  }
  inFicr(address: number): boolean {
    return address >= this.spec.ficrBase && address < this.spec.ficrBase + FICR_SIZE;
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
}

export interface SimulatedDeviceOptions {
  chip: ChipName;
  /** 8 bytes (16 hex digits): FICR DEVICEID[0] then [1], each as the little-endian bytes of the word. */
  deviceId?: Uint8Array | string;
  state?: SimDeviceState;
  /** Randomness of the firmware models (HUKs, identity key). Default: seeded from the device ID. */
  random?: RandomSource;
}

export interface ConsoleEntry {
  core: SimCoreName;
  timeUs: number;
  line: string;
}

type ViolationListener = (violation: SimViolation) => void;

const LIFECYCLE_ORDER: SimLifecycle[] = ['assembly', 'provisioning', 'secured', 'decommissioned'];

export class SimulatedDevice {
  readonly chip: ChipName;
  readonly target: Target;
  /** Lowercase hex, 16 digits. */
  readonly deviceId: string;
  readonly violations: SimViolation[] = [];
  /** Lines printed by the firmware models, in order (also written to each core's RTT up buffer). */
  readonly console: string[] = [];
  readonly consoleEntries: ConsoleEntry[] = [];
  /** Outcome of the last TF-M boot model run (by bootTfm() or by a TF-M image started with go()). */
  lastTfmBoot?: TfmBootResult;
  /** Outcome of the last provisioning-image model run. */
  lastFirmwareResult?: FirmwareResult;

  /** @internal */ random: RandomSource;
  /** @internal */ readonly cores: { application: SimCore; network?: SimCore };
  /** @internal */ nowUs = 0;
  /** @internal */ forceOff = false;
  /** @internal */ kmuSelected = 0;
  /** @internal */ kmuBlocked = false;
  /** @internal */ kmuEvents = { pushed: 0, revoked: 0, error: 0 };
  /** @internal CryptoCell key registers loaded by KMU pushes: address -> 4 words. */
  cryptocell = new Map<number, Uint32Array>();
  /** @internal */ eraseProtectDisableKey = 0;
  /** @internal Armed by a power-loss fault: tears the n-th NVM word program. */
  tear?: { mask?: number; wordIndex: number; seen: number };
  private readonly violationListeners = new Set<ViolationListener>();
  private inFirmwareStep = false;

  private constructor(chip: ChipName, deviceIdBytes: Uint8Array, random: RandomSource) {
    this.chip = chip;
    this.target = getTarget(chip);
    this.deviceId = toHex(deviceIdBytes);
    this.random = random;
    this.cores = {
      application: new SimCore('application', this.target.application),
      ...(this.target.network ? { network: new SimCore('network', this.target.network) } : {}),
    };
    for (const core of this.coreList()) this.initFicr(core, deviceIdBytes);
  }

  // ---------------------------------------------------------------------------------------------
  // Creation, presets, persistence

  static create(options: SimulatedDeviceOptions): SimulatedDevice {
    if (!options || !isChipName(options.chip)) {
      throw new TfmError('INVALID_PARAMETER', `Unknown chip "${String(options?.chip)}". Use nrf5340, nrf9160, nrf9161 or nrf9151.`);
    }
    const idBytes =
      options.deviceId !== undefined ? bytesFrom(options.deviceId, 8, 'Device ID') : (options.random ?? cryptoRandom).fill(new Uint8Array(8));
    const random = options.random ?? seededRandom(`tfm-provision-sim:${toHex(idBytes)}`);
    const device = new SimulatedDevice(options.chip, idBytes, random);
    device.applyState(options.state ?? {});
    return device;
  }

  /** @internal Used by fromJSON: a bare device whose NV state the caller fills in. */
  static bare(chip: ChipName, deviceIdHex: string, random: RandomSource): SimulatedDevice {
    return new SimulatedDevice(chip, bytesFrom(deviceIdHex, 8, 'Device ID'), random);
  }

  private initFicr(core: SimCore, id: Uint8Array): void {
    const base = core.spec.ficrBase;
    const t = this.target;
    const rel = (address: number): number => base + (address - t.application.ficrBase);
    core.ficr.set(rel(t.ficr.deviceId0), readU32LE(id, 0));
    core.ficr.set(rel(t.ficr.deviceId1), readU32LE(id, 4));
    const part = t.parts[0]!;
    if (t.ficr.part !== undefined) core.ficr.set(rel(t.ficr.part), part);
    if (t.ficr.sipPartNo !== undefined) core.ficr.set(rel(t.ficr.sipPartNo), part);
    core.ficr.set(rel(t.ficr.variant), SIM_VARIANT[t.name] ?? 0x41414141);
  }

  private applyState(state: SimDeviceState): void {
    const t = this.target;
    const app = this.cores.application;
    const raw = (core: SimCore, address: number, value: number): void => {
      // Factory-written words: AND semantics and one write counted, as if programmed normally.
      const i = (address - core.spec.uicrBase) >>> 2;
      core.uicr[i] = (core.uicr[i]! & value) >>> 0;
      core.uicrWrites[i] = Math.min(255, core.uicrWrites[i]! + 1);
    };
    const lifecycle = state.lifecycle ?? 'assembly';
    if (!LIFECYCLE_ORDER.includes(lifecycle)) {
      throw new TfmError('INVALID_PARAMETER', `Unknown lifecycle "${String(lifecycle)}". Use ${LIFECYCLE_ORDER.join(', ')}.`);
    }
    const step = LIFECYCLE_ORDER.indexOf(lifecycle);
    const base = t.lifecycle.provisioning;
    // The writes a correct sequence would have made: PROVISIONING 0xFFFF0000, SECURED 0x0000FFFF
    // (second write of the same word), DECOMMISSIONED 0x0000FFFF at base + 4.
    if (state.lifecycleWords) {
      const w = state.lifecycleWords;
      const half = (v: number | undefined, name: string): number => {
        if (v === undefined) return 0xffff;
        if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new TfmError('INVALID_PARAMETER', `lifecycleWords.${name} must be a 16-bit value.`);
        return v;
      };
      const w0 = ((half(w.secure, 'secure') << 16) | half(w.provisioning, 'provisioning')) >>> 0;
      const w1 = ((half(w.decommissioned, 'decommissioned') << 16) | half(w.reserved, 'reserved')) >>> 0;
      if (w0 !== ERASED_WORD) raw(app, base, w0);
      if (w1 !== ERASED_WORD) raw(app, base + 4, w1);
    } else {
      if (step >= 1) raw(app, base, 0xffff0000);
      if (step >= 2) raw(app, base, 0x0000ffff);
      if (step >= 3) raw(app, base + 4, 0x0000ffff);
    }
    if (state.implementationId !== undefined) {
      const id = bytesFrom(state.implementationId, 32, 'Implementation ID');
      for (let i = 0; i < 32; i += 4) raw(app, t.implementationId.address + i, readU32LE(id, i));
    }
    for (const slot of state.kmuSlots ?? []) {
      if (!Number.isInteger(slot.index) || slot.index < 0 || slot.index >= t.kmu.slotCount) {
        throw new TfmError('INVALID_PARAMETER', `KMU slot index ${String(slot.index)} is out of range 0..${t.kmu.slotCount - 1}.`);
      }
      if (slot.dest !== undefined) raw(app, kmuDestAddress(t, slot.index), slot.dest >>> 0);
      if (slot.value !== undefined) {
        const v = bytesFrom(slot.value, 16, `KMU slot ${slot.index} value`);
        for (let o = 0; o < 4; o++) raw(app, kmuValueAddress(t, slot.index) + 4 * o, readU32LE(v, 4 * o));
        v.fill(0);
      }
      if (slot.perm !== undefined) raw(app, kmuPermAddress(t, slot.index), slot.perm >>> 0);
    }
    const unprotected = t.uicr.approtectUnprotected;
    // A device "fresh from the factory" here is a dev kit after nrfjprog --recover: debug open.
    raw(app, t.uicr.approtect, state.approtect ? t.uicr.approtectProtected : unprotected);
    raw(app, t.uicr.secureApprotect, state.approtect ? t.uicr.approtectProtected : unprotected);
    if (state.eraseProtect) raw(app, t.uicr.eraseProtect, 0);
    const net = this.cores.network;
    if (net) {
      raw(net, net.spec.approtect, state.networkApprotect ? t.uicr.approtectProtected : unprotected);
      if (state.eraseProtect) raw(net, net.spec.uicrBase + NET_UICR_ERASEPROTECT_OFFSET, 0);
    } else if (state.networkApprotect || state.networkForcedOff) {
      throw new TfmError('INVALID_PARAMETER', `${t.displayName} has no network core.`);
    }
    this.eraseProtectDisableKey = (state.eraseProtectDisableKey ?? 0) >>> 0;
    // Power-on: locks latch from UICR, the application core is held by the attached debugger.
    for (const core of this.coreList()) core.approtectOpenAtReset = this.approtectOpen(core);
    this.forceOff = net ? (state.networkForcedOff ?? true) : false;
    if (net && !this.forceOff) net.running = false;
  }

  /**
   * Deep copy. Refused while a firmware model is mid-run on a running core (call runUntilIdle()
   * first). A model halted by the debugger mid-run is not copied: the copy's core is halted with
   * nothing to resume (a reset, as bootTfm() does, starts its firmware from the beginning anyway).
   */
  clone(): SimulatedDevice {
    const busy = this.coreList().find((c) => c.firmware && c.running);
    if (busy) {
      throw new TfmError('INVALID_OPERATION', `A firmware model (${busy.firmware!.kind}) is running on the ${busy.name} core and cannot be copied; call runUntilIdle() before clone().`);
    }
    const copy = SimulatedDevice.fromJSON(this.toJSON({ settle: false }), { random: seededRandom(`tfm-provision-sim:${this.deviceId}:clone:${this.nowUs}`) });
    for (const core of this.coreList()) copy.core(core.name).volatile = new Map(core.volatile);
    copy.lastTfmBoot = this.lastTfmBoot;
    copy.lastFirmwareResult = this.lastFirmwareResult;
    return copy;
  }

  /**
   * The state-file object (schema version 1). By default runs pending firmware models to their end
   * first, because a chip keeps running while no probe is attached. With { settle: false } it is a
   * snapshot of this instant: a firmware model still running is not part of it (a device loaded
   * from it has that CPU running with nothing left to do).
   */
  toJSON(options: { settle?: boolean } = {}): object {
    if (options.settle !== false) this.runUntilIdle();
    return deviceToState(this);
  }

  /** Rebuilds a device from toJSON() output. Anything else: TfmError SIM_STATE_INVALID. */
  static fromJSON(value: unknown, options: { random?: RandomSource; source?: string } = {}): SimulatedDevice {
    return deviceFromState(value, options.random, (chip, id, random) => SimulatedDevice.bare(chip, id, random), options.source);
  }

  /** Writes the state file (atomically: a crash never leaves a truncated file). */
  save(file: string, options: { overwrite?: boolean } = {}): void {
    const text = JSON.stringify(this.toJSON(), null, 1);
    if (options.overwrite === false && existsSync(file)) {
      throw new TfmError('USAGE', `${file} already exists; choose another name or overwrite it explicitly (--force).`);
    }
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, text + '\n');
      renameSync(temporary, file);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw new TfmError('FILE_ERROR', `Cannot write the simulated device state to ${file}: ${(error as Error).message}`, { cause: error });
    }
  }

  static load(file: string, options: { random?: RandomSource } = {}): SimulatedDevice {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new TfmError('SIM_STATE_INVALID', `Cannot read the simulated device state file ${file}: ${(error as Error).message}. Create one with "tfm-provision sim create".`, { cause: error });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new TfmError('SIM_STATE_INVALID', `${file} is not a simulated device state file (invalid JSON: it may be truncated or corrupted).`, { cause: error });
    }
    return SimulatedDevice.fromJSON(value, { ...options, source: file });
  }

  // ---------------------------------------------------------------------------------------------
  // Observation (chip-off: no rules, no side effects)

  get virtualTimeUs(): number {
    return this.nowUs;
  }

  clearViolations(): void {
    this.violations.length = 0;
  }

  /** @internal Subscribes to violations as they happen (the binding forwards them to onLog). */
  onViolation(listener: ViolationListener): () => void {
    this.violationListeners.add(listener);
    return () => this.violationListeners.delete(listener);
  }

  /** Reads a word as a chip-off view: no KMU, lock or NVMC rules, no side effects. */
  peekU32(address: number, core: SimCoreName = 'application'): number {
    const c = this.core(core);
    address >>>= 0;
    if (c.inFlash(address)) return c.flashWord(address & ~3);
    if (c.inUicr(address)) return c.uicrWord(address & ~3);
    if (c.inFicr(address)) return c.ficr.get(address & ~3) ?? ERASED_WORD;
    return c.volatile.get(address & ~3) ?? 0;
  }

  /** Decoded PSA lifecycle from the OTP words (bl_storage rules; anything else is 'invalid'). */
  get lifecycle(): SimLifecycle | 'invalid' {
    return decodeLifecycle(this.lifecycleWords());
  }

  lifecycleWords(): { provisioning: number; secure: number; reserved: number; decommissioned: number } {
    const t = this.target;
    const w0 = this.peekU32(t.lifecycle.provisioning);
    const w1 = this.peekU32(t.lifecycle.reserved);
    return { provisioning: w0 & 0xffff, secure: w0 >>> 16, reserved: w1 & 0xffff, decommissioned: w1 >>> 16 };
  }

  /** Chip-off view of one KMU slot. */
  kmuSlot(index: number): SimKmuSlotDump {
    const t = this.target;
    const value = new Uint8Array(16);
    for (let o = 0; o < 4; o++) writeU32LE(value, 4 * o, this.peekU32(kmuValueAddress(t, index) + 4 * o));
    return { index, dest: this.peekU32(kmuDestAddress(t, index)), perm: this.peekU32(kmuPermAddress(t, index)), value };
  }

  /** The CryptoCell key register loaded by the last KMU push to `address`, if any. */
  cryptocellKey(address: number): Uint8Array | undefined {
    const words = this.cryptocell.get(address >>> 0);
    if (!words) return undefined;
    const out = new Uint8Array(16);
    words.forEach((w, i) => writeU32LE(out, 4 * i, w));
    return out;
  }

  /** Whether a debugger can reach this core's AHB-AP right now. */
  isDebugOpen(core: SimCoreName = 'application'): boolean {
    return this.core(core).debugOpen;
  }

  /** nRF5340: RESET.NETWORK.FORCEOFF is set (network core held off). Always false on nRF91. */
  get networkForcedOff(): boolean {
    return this.forceOff;
  }

  /** Whether the core's CPU is running (not halted by the debugger, not forced off). */
  isRunning(core: SimCoreName = 'application'): boolean {
    return this.core(core).running;
  }

  /** Name of the firmware model currently running on a core, if any. */
  runningFirmware(core: SimCoreName = 'application'): FirmwareKind | undefined {
    return this.core(core).firmware?.kind;
  }

  dump(options: { withFlash?: boolean } = {}): SimDump {
    const t = this.target;
    const coreDump = (core: SimCore): SimCoreDump => {
      const ficr = new Uint8Array(FICR_SIZE).fill(0xff);
      for (const [address, value] of core.ficr) writeU32LE(ficr, address - core.spec.ficrBase, value);
      const uicr = new Uint8Array(core.spec.uicrSize);
      core.uicr.forEach((w, i) => writeU32LE(uicr, 4 * i, w));
      const result: SimCoreDump = { ficr: { address: core.spec.ficrBase, data: ficr }, uicr: { address: core.spec.uicrBase, data: uicr } };
      if (options.withFlash) {
        result.flash = [...core.flash.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([address, words]) => {
            const data = new Uint8Array(words.length * 4);
            words.forEach((w, i) => writeU32LE(data, 4 * i, w));
            return { address, data };
          });
      }
      return result;
    };
    const kmuSlots: SimKmuSlotDump[] = [];
    for (let i = 0; i < t.kmu.slotCount; i++) {
      const slot = this.kmuSlot(i);
      if (slot.dest !== ERASED_WORD || slot.perm !== ERASED_WORD || slot.value.some((b) => b !== 0xff)) kmuSlots.push(slot);
    }
    const implementationId = new Uint8Array(32);
    for (let i = 0; i < 32; i += 4) writeU32LE(implementationId, i, this.peekU32(t.implementationId.address + i));
    return {
      chip: this.chip,
      deviceId: this.deviceId,
      lifecycle: this.lifecycle,
      lifecycleWords: this.lifecycleWords(),
      implementationId: toHex(implementationId),
      kmuSlots,
      cores: {
        application: coreDump(this.cores.application),
        ...(this.cores.network ? { network: coreDump(this.cores.network) } : {}),
      },
    };
  }

  /** Intel HEX of FICR and UICR of every core (and non-erased flash pages) at their real addresses. */
  dumpHex(options: { withFlash?: boolean } = {}): string {
    return dumpToIntelHex(this.dump(options));
  }

  /** True when `other` holds the same FICR, UICR and (if both have it) flash contents. */
  equalsDump(other: SimDump): boolean {
    const mine = this.dump({ withFlash: other.cores.application.flash !== undefined });
    return diffDumps(mine, other).length === 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Firmware models and time

  /**
   * TF-M's first boot (device-facts section 6) on this device: resets, runs the model to its end
   * (including the reset after PROVISIONING -> SECURED and the second boot), and reports.
   */
  bootTfm(): TfmBootResult {
    this.systemReset({ debuggerHalts: true });
    const result = runTfmBoot(this);
    this.lastTfmBoot = result;
    return result;
  }

  /**
   * Places bytes in a core's flash as a programmer at the factory would (no NVMC rules, no probe
   * operations): pages are taken as erased first. For test setup, e.g. a synthetic image.
   */
  programFlash(core: SimCoreName, address: number, data: Uint8Array): void {
    const c = this.core(core);
    if (!c.inFlash(address) || !c.inFlash(address + data.length - 1)) {
      throw new TfmError('INVALID_PARAMETER', `${hex32(address)} + ${data.length} is outside the ${core} core's flash.`);
    }
    for (let i = 0; i < data.length; i++) {
      const a = address + i;
      const page = c.pageOf(a);
      const { words, counts } = c.flashPage(page);
      const w = (a - page) >>> 2;
      const shift = 8 * (a & 3);
      words[w] = ((words[w]! & ~(0xff << shift)) | (data[i]! << shift)) >>> 0;
      counts[w] = 1;
    }
  }

  /**
   * Runs a firmware model directly, as if its image had been flashed, reset and started, to its end;
   * then resets the chip (so locks it set take effect) with the debugger holding the CPU. Returns
   * the model's outcome. For presets and tests that need "a device the stock sample provisioned".
   */
  runFirmwareModel(kind: 'provisioning-image' | 'network-image', config: ProvisioningImageConfig = {}): FirmwareResult {
    this.systemReset({ debuggerHalts: true });
    let core: SimCore;
    let gen: Generator<number, FirmwareResult | void, void>;
    if (kind === 'network-image') {
      core = this.core('network');
      this.setForceOff(false);
      this.core('network').firmware = undefined;
      gen = networkImageModel(this);
    } else {
      core = this.cores.application;
      gen = provisioningImageModel(this, config);
    }
    core.running = true;
    core.firmwareStarted = true;
    core.bootTimeUs = this.nowUs;
    core.firmware = { kind, gen, wakeAt: this.nowUs };
    this.lastFirmwareResult = undefined;
    this.runUntilIdle();
    const result = this.lastFirmwareResult as FirmwareResult | undefined;
    this.systemReset({ debuggerHalts: true });
    if (!result) throw new TfmError('INTERNAL_ERROR', `The ${kind} model did not finish.`);
    return result;
  }

  /** Advances the virtual clock by `us`, letting running firmware models progress. */
  runFor(us: number): void {
    this.bootPendingCores();
    this.advanceTo(this.nowUs + Math.max(0, us));
  }

  /** Runs every firmware model that is running to its end (bounded by `maxUs` of virtual time).
   *  Returns true when nothing is left running. */
  runUntilIdle(maxUs = 60_000_000): boolean {
    this.bootPendingCores();
    const limit = this.nowUs + maxUs;
    for (;;) {
      const next = this.nextWake();
      if (next === undefined) return true;
      if (next > limit) return false;
      this.advanceTo(next);
    }
  }

  /** @internal Advances the clock to `timeUs`, running due firmware steps in time order. */
  advanceTo(timeUs: number): void {
    if (this.inFirmwareStep) {
      this.nowUs = Math.max(this.nowUs, timeUs);
      return;
    }
    for (;;) {
      let due: SimCore | undefined;
      for (const core of this.coreList()) {
        const run = core.firmware;
        if (!run || !core.running || run.wakeAt > timeUs) continue;
        if (!due || run.wakeAt < due.firmware!.wakeAt) due = core;
      }
      if (!due) break;
      const run = due.firmware!;
      this.nowUs = Math.max(this.nowUs, run.wakeAt);
      this.inFirmwareStep = true;
      let step: IteratorResult<number, FirmwareResult | void>;
      try {
        step = run.gen.next();
      } finally {
        this.inFirmwareStep = false;
      }
      if (due.firmware !== run) continue; // the step reset the core
      if (step.done) {
        due.firmware = undefined;
        this.firmwareFinished(run.kind, step.value ?? undefined);
      } else {
        run.wakeAt = this.nowUs + Math.max(0, step.value);
      }
    }
    this.nowUs = Math.max(this.nowUs, timeUs);
  }

  private nextWake(): number | undefined {
    let next: number | undefined;
    for (const core of this.coreList()) {
      if (core.firmware && core.running && (next === undefined || core.firmware.wakeAt < next)) next = core.firmware.wakeAt;
    }
    return next;
  }

  private firmwareFinished(kind: FirmwareKind, result: FirmwareResult | undefined): void {
    if (!result) return;
    if (kind === 'provisioning-image' || kind === 'network-image') this.lastFirmwareResult = result;
    if (result.tfm) this.lastTfmBoot = result.tfm;
    if (result.resetRequested) {
      // Firmware-initiated system reset (NVIC_SystemReset): nobody holds the CPU, it boots again.
      this.systemReset({ debuggerHalts: false });
    }
  }

  /**
   * @internal Called by the binding before each probe operation (before its latency passes). A core
   * the debugger released from FORCEOFF boots now, unless this operation is the halt that stops it
   * first (selecting a core is the probe library's bookkeeping and reaches no core). So the
   * simulator gives a debugger exactly one transaction to halt a core it released; on silicon the
   * core starts within microseconds and the window is that transaction's latency
   * (docs/provisioning.md).
   */
  beforeProbeOperation(method: string, selected: SimCoreName): void {
    for (const core of this.coreList()) {
      if (!core.bootPending || method === 'selectCore' || (method === 'halt' && selected === core.name)) continue;
      this.bootNow(core);
    }
  }

  private bootPendingCores(): void {
    for (const core of this.coreList()) if (core.bootPending) this.bootNow(core);
  }

  private bootNow(core: SimCore): void {
    core.bootPending = false;
    if (core.running && !core.firmwareStarted) this.startFirmware(core);
  }

  private startFirmware(core: SimCore): void {
    core.firmwareStarted = true;
    core.bootTimeUs = this.nowUs;
    const found = detectFirmware(this, core.name);
    if (!found) return;
    core.firmware = { kind: found.kind, gen: found.start(), wakeAt: this.nowUs };
  }

  /** @internal Prints a line from firmware on a core (console + that core's RTT up buffer). */
  print(core: SimCoreName, line: string): void {
    this.console.push(line);
    this.consoleEntries.push({ core, timeUs: this.nowUs, line });
    this.rttWrite(this.core(core), `${line}\r\n`);
  }

  /** @internal Microseconds since the core's last boot (for log timestamps). */
  uptimeUs(core: SimCoreName): number {
    return this.nowUs - this.core(core).bootTimeUs;
  }

  /** @internal Places the SEGGER RTT control block in the core's RAM (what RTT init does at boot). */
  rttInit(core: SimCore): void {
    const ram = core.spec.ram;
    if (!ram) return;
    const cb = ram.base + RTT_CB_OFFSET;
    const nameAddr = cb + 72;
    const upBuf = cb + 0x100;
    const downBuf = upBuf + RTT_UP_BUFFER_SIZE;
    const w = (a: number, v: number): void => void core.volatile.set(a, v >>> 0);
    w(cb + 16, 1); // MaxNumUpBuffers
    w(cb + 20, 1); // MaxNumDownBuffers
    // aUp[0]: sName, pBuffer, SizeOfBuffer, WrOff, RdOff, Flags
    [nameAddr, upBuf, RTT_UP_BUFFER_SIZE, 0, 0, 0].forEach((v, i) => w(cb + 24 + 4 * i, v));
    [nameAddr, downBuf, RTT_DOWN_BUFFER_SIZE, 0, 0, 0].forEach((v, i) => w(cb + 48 + 4 * i, v));
    this.volatileWriteBytes(core, nameAddr, Buffer.from('Terminal\0', 'latin1'));
    // The id goes last, so a host never finds a half-initialised block.
    const id = new Uint8Array(16);
    id.set(Buffer.from(RTT_ID, 'latin1'));
    this.volatileWriteBytes(core, cb, id);
  }

  private rttWrite(core: SimCore, text: string): void {
    const ram = core.spec.ram;
    if (!ram) return;
    const cb = ram.base + RTT_CB_OFFSET;
    if ((core.volatile.get(cb) ?? 0) !== readU32LE(Buffer.from('SEGG', 'latin1'), 0)) return;
    const up = cb + 24;
    const buffer = core.volatile.get(up + 4) ?? 0;
    const size = core.volatile.get(up + 8) ?? 0;
    let wr = core.volatile.get(up + 12) ?? 0;
    const rd = core.volatile.get(up + 16) ?? 0;
    if (size === 0 || wr >= size || rd >= size) return;
    const bytes = Buffer.from(text, 'latin1');
    const free = (rd + size - wr - 1) % size;
    if (bytes.length > free) return; // SEGGER_RTT_MODE_NO_BLOCK_SKIP: drop what does not fit
    for (const b of bytes) {
      this.volatileWriteBytes(core, buffer + wr, Uint8Array.of(b));
      wr = (wr + 1) % size;
    }
    core.volatile.set(up + 12, wr);
  }

  private volatileWriteBytes(core: SimCore, address: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const a = address + i;
      const word = a & ~3;
      const shift = 8 * (a & 3);
      const old = core.volatile.get(word) ?? 0;
      core.volatile.set(word, ((old & ~(0xff << shift)) | (data[i]! << shift)) >>> 0);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The bus: every access of the probe and of firmware models goes through here.

  /** @internal */
  core(name: SimCoreName): SimCore {
    const core = this.cores[name];
    if (!core) throw new ProbeError('INVALID_PARAMETER', `${this.target.displayName} has no ${name} core.`);
    return core;
  }

  /** @internal */
  coreList(): SimCore[] {
    return this.cores.network ? [this.cores.application, this.cores.network] : [this.cores.application];
  }

  /** @internal Whether a word holds key material (a KMU KEY.VALUE word): never shown in messages or logs. */
  isKeyWord(coreName: SimCoreName, address: number): boolean {
    const end = this.target.application.uicrBase + this.target.application.uicrSize;
    return coreName === 'application' && address >>> 0 >= this.target.kmu.valueBase && address >>> 0 < end;
  }

  private valueText(core: SimCore, address: number, value: number): string {
    return this.isKeyWord(core.name, address) ? 'a key word' : hex32(value);
  }

  private violate(kind: SimViolationKind, core: SimCore, address: number, by: By, message: string, value?: number): void {
    if (this.isKeyWord(core.name, address)) value = undefined; // key material stays out of violations and logs
    const v: SimViolation = { kind, core: core.name, address: address >>> 0, by, timeUs: this.nowUs, message, ...(value !== undefined ? { value: value >>> 0 } : {}) };
    this.violations.push(v);
    for (const listener of this.violationListeners) listener(v);
  }

  private regionOf(core: SimCore, address: number): Region {
    if (core.inFlash(address)) return 'flash';
    if (core.inUicr(address)) return 'uicr';
    if (core.inFicr(address)) return 'ficr';
    return 'volatile';
  }

  private approtectOpen(core: SimCore): boolean {
    return core.uicrWord(core.spec.approtect) === this.target.uicr.approtectUnprotected;
  }

  /** @internal Whether an erase-all of this core is blocked by ERASEPROTECT. */
  eraseProtected(core: SimCore): boolean {
    const app = this.cores.application;
    const appProtected = app.uicrWord(this.target.uicr.eraseProtect) !== this.target.uicr.eraseProtectUnprotected;
    if (core.name === 'application') return appProtected;
    const netProtected = core.uicrWord(core.spec.uicrBase + NET_UICR_ERASEPROTECT_OFFSET) !== ERASED_WORD;
    // A network-core erase-all also erases the application core, so either protection blocks it.
    return appProtected || netProtected;
  }

  private kmuSlotOf(address: number): number | undefined {
    const t = this.target;
    const app = this.cores.application;
    const end = app.spec.uicrBase + app.spec.uicrSize;
    if (address < t.kmu.configBase || address >= end) return undefined;
    if (address < t.kmu.valueBase) return (address - t.kmu.configBase) >>> 3;
    return (address - t.kmu.valueBase) >>> 4;
  }

  private inOtp(address: number): boolean {
    const { base, words } = this.target.otp;
    return address >= base && address < base + 4 * words;
  }

  /** @internal A 32-bit read by the CPU or the debugger (alignment already checked). */
  readWord(coreName: SimCoreName, address: number, by: By): number {
    const core = this.core(coreName);
    address >>>= 0;
    const t = this.target;
    switch (this.regionOf(core, address)) {
      case 'flash':
        return core.flashWord(address);
      case 'ficr':
        return core.ficr.get(address) ?? ERASED_WORD;
      case 'uicr': {
        if (core.name === 'application') {
          const slot = this.kmuSlotOf(address);
          if (slot !== undefined) {
            if (this.kmuSelected !== slot + 1) {
              this.kmuBlocked = true;
              this.violate('KMU_UNSELECTED_ACCESS', core, address, by, `Read of KMU slot ${slot} word ${hex32(address)} while ${this.selectedText()}: returns 0xDEADDEAD.`);
              return KMU_UNREACHABLE;
            }
            if (address >= t.kmu.valueBase) {
              const perm = core.uicrWord(kmuPermAddress(t, slot));
              // Unreadable or revoked key words read as 0xDEADDEAD (PS); normal for firmware, no violation.
              if (!(perm & KMU_PERM_READ) || !(perm & KMU_PERM_STATE)) return KMU_UNREACHABLE;
            }
          }
        }
        return core.uicrWord(address);
      }
      default:
        return this.readRegister(core, address);
    }
  }

  private selectedText(): string {
    return this.kmuSelected === 0 ? 'no slot is selected' : `slot ${this.kmuSelected - 1} (id ${this.kmuSelected}) is selected`;
  }

  private readRegister(core: SimCore, address: number): number {
    const t = this.target;
    const nvmc = nvmcRegisters(t, core.spec);
    if (address === nvmc.ready || address === nvmc.readyNext) return this.nowUs >= core.busyUntil ? 1 : 0;
    if (address === nvmc.config) return core.nvmcConfig;
    if (address === nvmc.eraseAll) return 0;
    if (core.name === 'application') {
      const k = t.kmu;
      if (address === k.status) return (this.kmuSelected ? KMU_STATUS_SELECTED : 0) | (this.kmuBlocked ? KMU_STATUS_BLOCKED : 0);
      if (address === k.selectKeySlot) return this.kmuSelected;
      if (address === k.eventsPushed) return this.kmuEvents.pushed;
      if (address === k.eventsRevoked) return this.kmuEvents.revoked;
      if (address === k.eventsError) return this.kmuEvents.error;
      if (address === k.tasksPushKeyslot) return 0;
      if (t.network && address === t.network.forceOff) return this.forceOff ? 1 : 0;
      // CryptoCell key registers are write-only from the bus.
      if (t.cryptocell.aesKeyAddresses.some((a) => address >= a && address < a + 16)) return 0;
      if (address === CTRLAPPERI_ERASEPROTECT_DISABLE) return 0;
    }
    return core.volatile.get(address & ~3) ?? 0;
  }

  /** @internal A 32-bit write by the CPU or the debugger (alignment already checked). */
  writeWord(coreName: SimCoreName, address: number, value: number, by: By): void {
    const core = this.core(coreName);
    address >>>= 0;
    value >>>= 0;
    switch (this.regionOf(core, address)) {
      case 'ficr':
        this.violate('FICR_WRITE', core, address, by, `Write to FICR ${hex32(address)} (read-only): ignored.`, value);
        return;
      case 'flash':
        this.nvmWrite(core, 'flash', address, value, by);
        return;
      case 'uicr':
        this.uicrWrite(core, address, value, by);
        return;
      default:
        this.writeRegister(core, address, value, by);
    }
  }

  /** Flash/UICR write gate: the NVMC mode decides whether the word is programmed, erases a page, or is ignored. */
  private nvmModeAllows(core: SimCore, region: 'flash' | 'uicr', address: number, value: number, by: By): boolean {
    const mode = core.nvmcConfig & 7;
    if (mode === NVMC_WEN) return true;
    if (mode === NVMC_EEN) {
      if (region === 'flash' && address === core.pageOf(address) && value === ERASED_WORD) {
        this.erasePageNow(core, address);
      } else if (region === 'uicr') {
        this.violate('UICR_PAGE_ERASE', core, address, by, `Erase-mode write to UICR ${hex32(address)}: UICR cannot be page-erased, only erased by an erase-all. Ignored.`, value);
      } else {
        this.violate('WRITE_IN_ERASE_MODE', core, address, by, `Write of ${this.valueText(core, address, value)} to ${hex32(address)} while NVMC.CONFIG = Een: only 0xFFFFFFFF to a page's first word erases it. Ignored.`, value);
      }
      return false;
    }
    this.violate('WRITE_WITHOUT_WEN', core, address, by, `Write of ${this.valueText(core, address, value)} to ${region === 'uicr' ? 'UICR' : 'flash'} ${hex32(address)} while NVMC.CONFIG = ${mode} (not Wen): ignored.`, value);
    return false;
  }

  private nvmWrite(core: SimCore, region: 'flash', address: number, value: number, by: By): void {
    if (!this.nvmModeAllows(core, region, address, value, by)) return;
    this.programWord(core, region, address, value, by);
  }

  private uicrWrite(core: SimCore, address: number, value: number, by: By): void {
    const t = this.target;
    const slot = core.name === 'application' ? this.kmuSlotOf(address) : undefined;
    if (slot !== undefined && this.kmuSelected !== slot + 1) {
      this.kmuBlocked = true;
      this.violate('KMU_UNSELECTED_ACCESS', core, address, by, `Write of ${this.valueText(core, address, value)} to KMU slot ${slot} word ${hex32(address)} while ${this.selectedText()}: ignored.`, value);
      return;
    }
    if (!this.nvmModeAllows(core, 'uicr', address, value, by)) return;
    const old = core.uicrWord(address);
    if (slot !== undefined) {
      const permAddress = kmuPermAddress(t, slot);
      if (address === permAddress) {
        if (rewritesHalf(old, value)) {
          this.kmuBlocked = true;
          this.violate('PERM_HALF_REWRITE', core, address, by, `KMU slot ${slot} PERM ${hex32(old)} <- ${hex32(value)}: a PERM half may be written only while it is 0xFFFF. Ignored.`, value);
          return;
        }
      } else {
        const perm = core.uicrWord(permAddress);
        if (!(perm & KMU_PERM_WRITE) || !(perm & KMU_PERM_STATE)) {
          this.kmuBlocked = true;
          this.violate('KMU_SLOT_NOT_WRITABLE', core, address, by, `Write to KMU slot ${slot} (${hex32(address)}) whose PERM ${hex32(perm)} has WRITE disabled or is revoked: ignored.`, value);
          return;
        }
      }
    } else if (core.name === 'application' && this.inOtp(address)) {
      if (rewritesHalf(old, value)) {
        this.kmuBlocked = true;
        this.violate('OTP_HALF_REWRITE', core, address, by, `OTP ${hex32(address)} ${hex32(old)} <- ${hex32(value)}: a halfword may be written only while it is 0xFFFF (mask the other half as 0xFFFF). Ignored.`, value);
        return;
      }
    }
    this.programWord(core, 'uicr', address, value, by);
    if (slot !== undefined && address === kmuPermAddress(t, slot)) {
      const now = core.uicrWord(address);
      if (old & KMU_PERM_STATE && !(now & KMU_PERM_STATE)) {
        // Revocation zeroises the key (PS); reads then return 0xDEADDEAD.
        for (let o = 0; o < 4; o++) core.uicr[(kmuValueAddress(t, slot) + 4 * o - core.spec.uicrBase) >>> 2] = 0;
        this.kmuEvents.revoked = 1;
      }
    }
  }

  /** Programs one NVM word: AND semantics, two writes per erase, busy for tWRITE. */
  private programWord(core: SimCore, region: 'flash' | 'uicr', address: number, value: number, by: By): void {
    if (this.nowUs < core.busyUntil) this.nowUs = core.busyUntil; // the bus stalls while the NVMC is busy
    let words: Uint32Array;
    let counts: Uint8Array;
    let index: number;
    if (region === 'uicr') {
      words = core.uicr;
      counts = core.uicrWrites;
      index = (address - core.spec.uicrBase) >>> 2;
    } else {
      const page = core.pageOf(address);
      ({ words, counts } = core.flashPage(page));
      index = (address - page) >>> 2;
    }
    const old = words[index]!;
    let next = (old & value) >>> 0;
    let torn = false;
    if (this.tear) {
      if (this.tear.seen === this.tear.wordIndex) {
        const toClear = (old & ~value) >>> 0;
        const mask = this.tear.mask ?? lowerHalfOfSetBits(toClear);
        next = (old & ~(toClear & mask)) >>> 0;
        torn = true;
      }
      this.tear.seen++;
    }
    if (counts[index]! >= 2) {
      this.violate('THIRD_WRITE', core, address, by, `Word ${hex32(address)} written a ${ordinal(counts[index]! + 1)} time since its erase (nWRITE = 2): its value is now undefined.`, value);
      next = (next & scramble(address, counts[index]!)) >>> 0;
    }
    counts[index] = Math.min(255, counts[index]! + 1);
    words[index] = next;
    core.busyUntil = this.nowUs + this.target.timing.wordWriteUs;
    if (torn) throw new PowerLossSignal();
  }

  private erasePageNow(core: SimCore, page: number): void {
    if (this.nowUs < core.busyUntil) this.nowUs = core.busyUntil;
    core.flash.delete(page);
    core.flashWrites.delete(page);
    core.busyUntil = this.nowUs + this.target.timing.pageEraseUs;
  }

  /** @internal Erases flash + UICR of the core (a network-core erase-all erases the application core first). */
  eraseAllNow(core: SimCore, options: { ram: boolean; unlock: boolean }): void {
    const cores = core.name === 'network' ? this.coreList() : [core];
    for (const c of cores) {
      c.flash.clear();
      c.flashWrites.clear();
      c.uicr.fill(ERASED_WORD);
      c.uicrWrites.fill(0);
      if (options.ram) c.volatile.clear();
      if (options.unlock) c.unlockedByEraseAll = true;
    }
    core.busyUntil = Math.max(this.nowUs, core.busyUntil) + this.target.timing.eraseAllUs;
  }

  private writeRegister(core: SimCore, address: number, value: number, by: By): void {
    const t = this.target;
    const nvmc = nvmcRegisters(t, core.spec);
    if (address === nvmc.config) {
      if (this.nowUs < core.busyUntil) this.nowUs = core.busyUntil;
      core.nvmcConfig = value & 7;
      return;
    }
    if (address === nvmc.ready || address === nvmc.readyNext) return;
    if (address === nvmc.eraseAll) {
      if (!(value & 1)) return;
      if ((core.nvmcConfig & 7) !== NVMC_EEN) {
        this.violate('ERASEALL_WITHOUT_EEN', core, address, by, `NVMC ERASEALL written while CONFIG = ${core.nvmcConfig} (not Een): ignored.`, value);
        return;
      }
      if (this.eraseProtected(core)) {
        this.violate('ERASE_PROTECTED', core, address, by, 'NVMC ERASEALL refused: UICR.ERASEPROTECT is set.', value);
        return;
      }
      if (this.nowUs < core.busyUntil) this.nowUs = core.busyUntil;
      this.eraseAllNow(core, { ram: false, unlock: false });
      return;
    }
    if (core.name === 'application') {
      const k = t.kmu;
      if (address === k.selectKeySlot) {
        const id = value & 0xff;
        this.kmuBlocked = false;
        if (id > k.slotCount || value >>> 8) {
          this.kmuSelected = 0;
          this.kmuBlocked = true;
          this.violate('KMU_INVALID_SLOT', core, address, by, `SELECTKEYSLOT = ${value}: slot ids are 1..${k.slotCount} (0 = none).`, value);
          return;
        }
        this.kmuSelected = id;
        return;
      }
      if (address === k.tasksPushKeyslot) {
        if (value & 1) this.pushKeySlot(core, by);
        return;
      }
      if (address === k.eventsPushed) return void (this.kmuEvents.pushed = value & 1);
      if (address === k.eventsRevoked) return void (this.kmuEvents.revoked = value & 1);
      if (address === k.eventsError) return void (this.kmuEvents.error = value & 1);
      if (address === k.status) return;
      if (t.network && address === t.network.forceOff) {
        this.setForceOff((value & 1) === 1, by);
        return;
      }
      if (t.cryptocell.aesKeyAddresses.some((a) => address >= a && address < a + 16)) return;
      if (address === CTRLAPPERI_ERASEPROTECT_DISABLE) {
        this.eraseProtectDisableKey = value;
        return;
      }
    }
    core.volatile.set(address & ~3, value);
  }

  private pushKeySlot(core: SimCore, by: By): void {
    const t = this.target;
    const id = this.kmuSelected;
    const fail = (why: string): void => {
      this.kmuEvents.error = 1;
      this.violate('KMU_PUSH_NOT_ALLOWED', core, t.kmu.tasksPushKeyslot, by, `TASKS_PUSH_KEYSLOT refused: ${why}.`);
    };
    if (id === 0) return fail('no slot is selected');
    const slot = id - 1;
    const perm = core.uicrWord(kmuPermAddress(t, slot));
    const dest = core.uicrWord(kmuDestAddress(t, slot));
    if (!(perm & KMU_PERM_STATE)) return fail(`slot ${slot} is revoked`);
    if (!(perm & KMU_PERM_PUSH)) return fail(`slot ${slot} PERM ${hex32(perm)} has PUSH disabled`);
    if (!t.cryptocell.aesKeyAddresses.includes(dest)) return fail(`slot ${slot} DEST ${hex32(dest)} is not a CryptoCell key register`);
    const words = new Uint32Array(4);
    for (let o = 0; o < 4; o++) words[o] = core.uicrWord(kmuValueAddress(t, slot) + 4 * o);
    this.cryptocell.get(dest)?.fill(0);
    this.cryptocell.set(dest, words);
    this.kmuEvents.pushed = 1;
  }

  private setForceOff(on: boolean, by: By = 'firmware'): void {
    const net = this.cores.network;
    if (!net || on === this.forceOff) return;
    this.forceOff = on;
    if (on) {
      // Network core powered down: CPU, RAM, NVMC state gone; locks re-latch at the next release.
      net.running = false;
      net.bootPending = false;
      net.firmware = undefined;
      net.volatile.clear();
      net.nvmcConfig = NVMC_REN;
      net.unlockedByEraseAll = false;
    } else {
      // Released: the network core boots on its own (nobody holds it) and latches its lock. Released
      // by the debugger, its firmware starts with the debugger's next transaction, which can be the
      // halt that stops it first (beforeProbeOperation).
      this.resetCore(net, false, by === 'probe');
    }
  }

  /** @internal Resets one core: volatile state lost, lock latched from UICR, CPU halted if the
   *  debugger can hold it (debuggerHalts) or booting its firmware otherwise. */
  resetCore(core: SimCore, debuggerHalts: boolean, deferBoot = false): void {
    core.firmware = undefined;
    core.firmwareStarted = false;
    core.bootPending = false;
    core.volatile.clear();
    core.nvmcConfig = NVMC_REN;
    core.unlockedByEraseAll = false;
    core.ctrlApReset = 0;
    core.approtectOpenAtReset = this.approtectOpen(core);
    core.running = !(debuggerHalts && core.debugOpen);
    if (core.running && deferBoot) core.bootPending = true;
    else if (core.running) this.startFirmware(core);
  }

  /** @internal System reset: both cores, KMU, CryptoCell; nRF5340 network core forced off again. */
  systemReset(options: { debuggerHalts: boolean }): void {
    this.kmuSelected = 0;
    this.kmuBlocked = false;
    this.kmuEvents = { pushed: 0, revoked: 0, error: 0 };
    for (const words of this.cryptocell.values()) words.fill(0);
    this.cryptocell.clear();
    const net = this.cores.network;
    if (net) {
      this.forceOff = false; // so setForceOff(true) below powers the network core down
      this.setForceOff(true);
      net.approtectOpenAtReset = this.approtectOpen(net);
    }
    this.resetCore(this.cores.application, options.debuggerHalts);
  }

  /** @internal Power cycle: reset with nothing attached; the firmware boots. */
  powerCycle(): void {
    this.tear = undefined;
    for (const core of this.coreList()) core.busyUntil = 0;
    this.systemReset({ debuggerHalts: false });
  }

  // ---------------------------------------------------------------------------------------------
  // What the probe does (called by SimBinding sessions; faults and latency are handled there)

  /** @internal Throws what a debugger gets when the core's AHB-AP cannot be used. */
  checkAccess(coreName: SimCoreName): SimCore {
    const core = this.core(coreName);
    if (core.name === 'network' && this.forceOff) {
      throw new ProbeError('NETWORK_CORE_FORCED_OFF', 'The nRF5340 network core is held off (RESET.NETWORK.FORCEOFF = 1); write 0 to it from the application core first.', {
        details: { forceOff: this.target.network!.forceOff },
      });
    }
    if (!core.debugOpen) {
      throw new ProbeError('DEVICE_PROTECTED', `The ${core.name} core's access port is locked (APPROTECT). Only an erase-all (recover) reopens it, and that destroys lifecycle and keys.`, {
        details: { core: core.name },
      });
    }
    return core;
  }

  /** @internal */
  probeDeviceInfo(): DeviceInfo {
    const t = this.target;
    const app = this.cores.application;
    const info: DeviceInfo = { family: t.family };
    if (app.debugOpen) {
      const partAddress = t.ficr.part ?? t.ficr.sipPartNo;
      if (partAddress !== undefined) info.part = app.ficr.get(partAddress);
      const v = app.ficr.get(t.ficr.variant);
      if (v !== undefined) info.variant = Buffer.from([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]).toString('latin1');
    }
    return info;
  }

  /** @internal */
  probeRead(coreName: SimCoreName, address: number, length: number): Uint8Array {
    this.checkAccess(coreName);
    checkRange(address, length);
    const out = new Uint8Array(length);
    const first = address & ~3;
    for (let word = first; word < address + length; word += 4) {
      const value = this.readWord(coreName, word >>> 0, 'probe');
      for (let b = 0; b < 4; b++) {
        const a = word + b;
        if (a >= address && a < address + length) out[a - address] = (value >>> (8 * b)) & 0xff;
      }
    }
    return out;
  }

  /** @internal */
  probeReadU32(coreName: SimCoreName, address: number): number {
    this.checkAccess(coreName);
    checkAligned(address);
    return this.readWord(coreName, address >>> 0, 'probe');
  }

  /** @internal */
  probeWriteU32(coreName: SimCoreName, address: number, value: number, nvmc: boolean): void {
    const core = this.checkAccess(coreName);
    checkAligned(address);
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
      throw new ProbeError('INVALID_PARAMETER', `Value ${String(value)} is not a 32-bit number.`);
    }
    if (nvmc) this.driveNvmc(core, [[address >>> 0, value >>> 0]]);
    else this.writeWord(coreName, address >>> 0, value >>> 0, 'probe');
  }

  /** @internal */
  probeWrite(coreName: SimCoreName, address: number, data: Uint8Array, nvmc: boolean): void {
    const core = this.checkAccess(coreName);
    checkRange(address, data.length);
    if (data.length === 0) return;
    const end = address + data.length;
    const touches = (region: Region): boolean => {
      for (let a = address & ~3; a < end; a += 4) if (this.regionOf(core, a >>> 0) === region) return true;
      return false;
    };
    const aligned = address % 4 === 0 && data.length % 4 === 0;
    if (!aligned) {
      const uicr = touches('uicr');
      if (uicr || (touches('flash') && !nvmc)) {
        this.violate('NON_WORD_ACCESS', core, address, 'probe', `${data.length}-byte write at ${hex32(address)} to ${uicr ? 'UICR (32-bit accesses only)' : 'flash without NVMC control'}: ignored.`);
        return;
      }
      if (!touches('flash') && !touches('ficr')) {
        // RAM and registers take byte writes.
        for (let a = address & ~3; a < end; a += 4) {
          if (a >= address && a + 4 <= end) {
            this.writeWord(coreName, a >>> 0, readU32LE(data, a - address), 'probe');
          } else {
            this.volatileWriteBytes(core, Math.max(a, address), data.subarray(Math.max(a, address) - address, Math.min(a + 4, end) - address));
          }
        }
        return;
      }
    }
    // Whole words; a flash write under NVMC control pads partial words with 0xFF, as nrfjprog does.
    const words: Array<[number, number]> = [];
    for (let a = address & ~3; a < end; a += 4) {
      let value = 0;
      for (let b = 0; b < 4; b++) {
        const i = a + b - address;
        const byte = i >= 0 && i < data.length ? data[i]! : 0xff;
        value |= byte << (8 * b);
      }
      words.push([a >>> 0, value >>> 0]);
    }
    if (nvmc) this.driveNvmc(core, words);
    else for (const [a, v] of words) this.writeWord(coreName, a, v, 'probe');
  }

  /** nrfjprog-style NVMC control: CONFIG = Wen, each word then wait for READY, CONFIG = Ren. */
  private driveNvmc(core: SimCore, words: Array<[number, number]>): void {
    const nvmc = nvmcRegisters(this.target, core.spec);
    this.writeWord(core.name, nvmc.config, NVMC_WEN, 'probe');
    for (const [address, value] of words) {
      this.writeWord(core.name, address, value, 'probe');
      this.advanceTo(core.busyUntil);
    }
    this.writeWord(core.name, nvmc.config, NVMC_REN, 'probe');
  }

  /** @internal */
  probeErasePage(coreName: SimCoreName, address: number): void {
    const core = this.checkAccess(coreName);
    address >>>= 0;
    if (core.inUicr(address)) {
      this.violate('UICR_PAGE_ERASE', core, address, 'probe', `Page erase of UICR ${hex32(address)} requested: UICR is cleared only by an erase-all.`);
      throw new ProbeError('INVALID_PARAMETER', `${hex32(address)} is in UICR, which cannot be page-erased (only an erase-all clears it, destroying lifecycle and keys).`);
    }
    if (!core.inFlash(address) || address !== core.pageOf(address)) {
      throw new ProbeError('INVALID_PARAMETER', `${hex32(address)} is not the start of a ${core.name}-core flash page (page size ${core.spec.flash.pageSize}).`);
    }
    const nvmc = nvmcRegisters(this.target, core.spec);
    this.writeWord(coreName, nvmc.config, NVMC_EEN, 'probe');
    this.writeWord(coreName, address, ERASED_WORD, 'probe');
    this.advanceTo(core.busyUntil);
    this.writeWord(coreName, nvmc.config, NVMC_REN, 'probe');
  }

  /** @internal NVMC ERASEALL of the selected core, or CTRL-AP ERASEALL when its port is locked. */
  probeEraseAll(coreName: SimCoreName): void {
    const core = this.core(coreName);
    if (core.name === 'network' && this.forceOff) this.checkAccess(coreName);
    if (!core.debugOpen) {
      this.ctrlApEraseAll(core, 'probe', true);
      return;
    }
    if (this.eraseProtected(core)) {
      this.violate('ERASE_PROTECTED', core, nvmcRegisters(this.target, core.spec).eraseAll, 'probe', 'Erase-all refused: UICR.ERASEPROTECT is set.');
      throw new ProbeError('ERASE_PROTECTED', 'ERASEPROTECT is set: the device cannot be erased by NVMC or CTRL-AP ERASEALL (only the firmware-agreed ERASEPROTECT.DISABLE key can).');
    }
    const nvmc = nvmcRegisters(this.target, core.spec);
    this.writeWord(coreName, nvmc.config, NVMC_EEN, 'probe');
    this.writeWord(coreName, nvmc.eraseAll, 1, 'probe');
    this.advanceTo(core.busyUntil);
    this.writeWord(coreName, nvmc.config, NVMC_REN, 'probe');
  }

  /** @internal CTRL-AP ERASEALL of every core (nRF5340: through the network CTRL-AP, which erases
   *  the application core first); debug open until the next reset. */
  probeRecover(): void {
    const core = this.cores.network ?? this.cores.application;
    this.ctrlApEraseAll(core, 'probe', true);
  }

  private ctrlApEraseAll(core: SimCore, by: By, throwIfProtected: boolean): boolean {
    if (this.eraseProtected(core)) {
      this.violate('ERASE_PROTECTED', core, core.spec.ctrlAp, by, `CTRL-AP ${core.spec.ctrlAp} ERASEALL refused: ERASEPROTECT is set.`);
      if (throwIfProtected) {
        throw new ProbeError('ERASE_PROTECTED', 'ERASEPROTECT is set: CTRL-AP ERASEALL does nothing (only the firmware-agreed ERASEPROTECT.DISABLE key erases the device).');
      }
      return false;
    }
    this.eraseAllAndUnlock(core);
    if (throwIfProtected) this.advanceTo(core.eraseAllBusyUntil);
    return true;
  }

  private eraseAllAndUnlock(core: SimCore): void {
    // CTRL-AP ERASEALL stops the CPU and erases flash, UICR and RAM.
    for (const c of core.name === 'network' ? this.coreList() : [core]) {
      c.firmware = undefined;
      c.running = false;
      c.bootPending = false;
    }
    this.eraseAllNow(core, { ram: true, unlock: true });
    core.eraseAllBusyUntil = this.nowUs + this.target.timing.eraseAllUs;
  }

  private ctrlApCore(apIndex: number): SimCore | undefined {
    return this.coreList().find((c) => c.spec.ctrlAp === apIndex);
  }

  /** @internal */
  probeReadAccessPort(apIndex: number, register: number): number {
    const core = this.ctrlApCore(apIndex);
    if (!core) {
      const ahb = this.coreList().find((c) => c.spec.ahbAp === apIndex);
      if (!ahb) throw new ProbeError('INVALID_PARAMETER', `${this.target.displayName} has no access port ${apIndex}.`);
      return register === 0xfc ? SIM_AHB_AP_IDR : 0;
    }
    const r = this.target.ctrlAp;
    switch (register) {
      case r.reset:
        return core.ctrlApReset;
      case r.eraseAll:
        return 0;
      case r.eraseAllStatus:
        return this.nowUs < core.eraseAllBusyUntil ? 1 : 0;
      case r.approtectStatus:
        return core.debugOpen ? 1 : 0;
      case 0xfc:
        return SIM_CTRL_AP_IDR;
      default:
        if (r.eraseProtectStatus !== undefined && register === r.eraseProtectStatus) return this.eraseProtected(core) ? 0 : 1;
        return 0;
    }
  }

  /** @internal */
  probeWriteAccessPort(apIndex: number, register: number, value: number): void {
    const core = this.ctrlApCore(apIndex);
    if (!core) {
      if (!this.coreList().some((c) => c.spec.ahbAp === apIndex)) throw new ProbeError('INVALID_PARAMETER', `${this.target.displayName} has no access port ${apIndex}.`);
      return;
    }
    const r = this.target.ctrlAp;
    if (register === r.reset) {
      const was = core.ctrlApReset;
      core.ctrlApReset = value & 1;
      if (was === 1 && core.ctrlApReset === 0) this.resetFromProbe(core);
      return;
    }
    if (register === r.eraseAll) {
      if (value & 1) this.ctrlApEraseAll(core, 'probe', false);
      return;
    }
    if (r.eraseProtectDisable !== undefined && register === r.eraseProtectDisable) {
      if (value !== 0 && value >>> 0 === this.eraseProtectDisableKey) this.eraseAllAndUnlock(core);
      return;
    }
    // APPROTECT.DISABLE / SECUREAPPROTECT.DISABLE keys and the mailbox are not modelled: ignored.
  }

  /** @internal A reset requested through the probe (CTRL-AP RESET or the reset call). */
  resetFromProbe(core: SimCore): void {
    if (core.name === 'network') {
      if (this.forceOff) this.checkAccess('network');
      this.resetCore(core, true);
    } else {
      this.systemReset({ debuggerHalts: true });
    }
  }

  /** @internal */
  probeHalt(coreName: SimCoreName): void {
    const core = this.checkAccess(coreName);
    core.bootPending = false; // halted before its first instruction: go() starts the firmware
    if (!core.running) return;
    core.running = false;
    if (core.firmware) core.firmware.remaining = Math.max(0, core.firmware.wakeAt - this.nowUs);
  }

  /** @internal */
  probeGo(coreName: SimCoreName): void {
    const core = this.checkAccess(coreName);
    if (core.running) return;
    core.running = true;
    if (!core.firmwareStarted) {
      this.startFirmware(core);
    } else if (core.firmware) {
      core.firmware.wakeAt = this.nowUs + (core.firmware.remaining ?? 0);
      core.firmware.remaining = undefined;
    }
  }
}

// -----------------------------------------------------------------------------------------------

/** bl_storage.h read rules: the three LCS halfwords (reserved is ignored). */
export function decodeLifecycle(w: { provisioning: number; secure: number; decommissioned: number }): SimLifecycle | 'invalid' {
  const key = [w.provisioning, w.secure, w.decommissioned].map((h) => (h === 0xffff ? 'F' : h === 0 ? '0' : 'x')).join('');
  switch (key) {
    case 'FFF':
      return 'assembly';
    case '0FF':
      return 'provisioning';
    case '00F':
      return 'secured';
    case '000':
      return 'decommissioned';
    default:
      return 'invalid';
  }
}

/** Word-level differences between two dumps (FICR, UICR, and flash when both dumps have it). */
export function diffDumps(a: SimDump, b: SimDump): SimDumpDifference[] {
  const out: SimDumpDifference[] = [];
  const names: SimCoreName[] = ['application', 'network'];
  for (const name of names) {
    const ca = a.cores[name];
    const cb = b.cores[name];
    if (!ca && !cb) continue;
    for (const region of ['ficr', 'uicr'] as const) {
      const ra = ca?.[region];
      const rb = cb?.[region];
      const base = (ra ?? rb)!.address;
      const length = Math.max(ra?.data.length ?? 0, rb?.data.length ?? 0);
      for (let o = 0; o < length; o += 4) {
        const va = ra && o < ra.data.length ? readU32LE(ra.data, o) : ERASED_WORD;
        const vb = rb && o < rb.data.length ? readU32LE(rb.data, o) : ERASED_WORD;
        if (va !== vb) out.push({ core: name, region, address: base + o, a: va, b: vb });
      }
    }
    if (ca?.flash && cb?.flash) {
      const pages = new Map<number, [Uint8Array | undefined, Uint8Array | undefined]>();
      for (const p of ca.flash) pages.set(p.address, [p.data, undefined]);
      for (const p of cb.flash) pages.set(p.address, [pages.get(p.address)?.[0], p.data]);
      for (const [address, [da, db]] of [...pages.entries()].sort((x, y) => x[0] - y[0])) {
        const length = Math.max(da?.length ?? 0, db?.length ?? 0);
        for (let o = 0; o < length; o += 4) {
          const va = da ? readU32LE(da, o) : ERASED_WORD;
          const vb = db ? readU32LE(db, o) : ERASED_WORD;
          if (va !== vb) out.push({ core: name, region: 'flash', address: address + o, a: va, b: vb });
        }
      }
    }
  }
  return out;
}

/** True when writing `value` over `old` would write a halfword that is no longer 0xFFFF. */
function rewritesHalf(old: number, value: number): boolean {
  for (const shift of [0, 16]) {
    const half = (value >>> shift) & 0xffff;
    if (half !== 0xffff && ((old >>> shift) & 0xffff) !== 0xffff) return true;
  }
  return false;
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

function checkAligned(address: number): void {
  if (!Number.isInteger(address) || address < 0 || address > 0xffffffff || address % 4 !== 0) {
    throw new ProbeError('INVALID_PARAMETER', `Address ${String(address)} is not a word-aligned 32-bit address.`);
  }
}

function checkRange(address: number, length: number): void {
  if (!Number.isInteger(address) || address < 0 || !Number.isInteger(length) || length < 0 || address + length > 0x100000000) {
    throw new ProbeError('INVALID_PARAMETER', `Range ${String(address)} + ${String(length)} is not a valid 32-bit address range.`);
  }
}
