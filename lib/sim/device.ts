/**
 * A simulated nRF5340 / nRF91 chip: the bus dispatch and the public API over its parts (one concern
 * each, in the manner of espefuse's base emulator plus per-chip parts):
 *   core.ts + nvm.ts   per-core memory: flash and UICR behind the NVMC (AND writes, nWRITE, tearing)
 *   kmu.ts             KMU key slots, OTP rules, CryptoCell key registers
 *   ctrl-ap.ts         CTRL-AP: reset, erase-all, ERASEPROTECT
 *   scheduler.ts       the virtual clock and the firmware models' steps on it
 *   rtt.ts, dump.ts    SEGGER RTT in RAM; chip-off dumps and their Intel HEX
 *   firmware/          the firmware models (sample, network-core image, TF-M first boot)
 *   debug-port.ts      what the probe does through the AHB-AP (called by binding.ts)
 *   factory.ts         the initial state, as if written at the factory
 *
 * Faithfulness is the point: a provisioning bug that would brick or mis-provision silicon must show
 * up here, as a violation (something the hardware silently ignores or corrupts) or a ProbeError
 * (something a debugger reports). Addresses and values all come from lib/targets.
 */
import { ProbeError, TfmError } from '../errors';
import { cryptoRandom, seededRandom, type RandomSource } from '../random';
import { ERASED_WORD, getTarget, isChipName, type ChipName, type Target } from '../targets';
import { bytesFrom, hex32, toHex, writeU32LE } from '../bytes';
import type { By, PartContext } from './context';
import { SimCore } from './core';
import { CtrlAp, eraseProtected } from './ctrl-ap';
import { deviceDump, diffDumps, dumpToIntelHex } from './dump';
import { applyFactoryState, initFicr } from './factory';
import { DebugPort } from './debug-port';
import { attestationToken, defaultTfmConfig, type FirmwareHost, type FirmwareKind, type FirmwareResult, type ProvisioningImageConfig, type TfmBuildConfig } from './firmware';
import { Cpu } from './firmware/model';
import { Kmu } from './kmu';
import { Power } from './power';
import { decodeLifecycle, lifecycleHalfwords, type LifecycleHalfwords } from './lifecycle';
import type { NvmFaults } from './nvm';
import { rttInit, rttWrite } from './rtt';
import { Scheduler } from './scheduler';
import { readStateFile, snapshotToState, stateToSnapshot, writeStateFile, type DeviceSnapshot } from './state-file';
import type { ConsoleEntry, SimAttestationAnswer, SimCoreName, SimDeviceState, SimDump, SimKmuSlotDump, SimLifecycleReading, SimTfmBootRequest, SimViolation, SimViolationKind, TfmBootResult } from './types';

export interface SimulatedDeviceOptions {
  chip: ChipName;
  /** 8 bytes (16 hex digits): FICR DEVICEID[0] then [1], each as the little-endian bytes of the word. */
  deviceId?: Uint8Array | string;
  state?: SimDeviceState;
  /** Randomness of the firmware models (HUKs, identity key). Default: seeded from the device ID. */
  random?: RandomSource;
}

type ViolationListener = (violation: SimViolation) => void;

export class SimulatedDevice implements PartContext {
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
  /** The TF-M that booted to SECURED and answers attestation requests, with this boot's seed. */
  private runningTfm?: { config: TfmBuildConfig; bootSeed: Uint8Array };
  /** Outcome of the last provisioning-image model run. */
  lastFirmwareResult?: FirmwareResult;

  /** @internal */ readonly cores: { application: SimCore; network?: SimCore };
  /** @internal The virtual clock and the firmware runs on it. */ readonly clock: Scheduler;
  /** @internal What the probe does (binding.ts). */ readonly port: DebugPort;
  /** @internal Resets, power and FORCEOFF. */ readonly power: Power;
  /** @internal */ readonly kmu: Kmu;
  /** @internal */ readonly ctrlAp: CtrlAp;
  /** @internal A power-loss fault armed by the binding for the operation in flight. */ readonly nvmFaults: NvmFaults = {};
  private readonly random: RandomSource;
  private readonly idBytes: Uint8Array;
  private readonly violationListeners = new Set<ViolationListener>();
  /** @internal The chip as its firmware models see it. */
  readonly firmwareHost: FirmwareHost;

  private constructor(chip: ChipName, deviceIdBytes: Uint8Array, random: RandomSource) {
    this.chip = chip;
    this.target = getTarget(chip);
    this.idBytes = Uint8Array.from(deviceIdBytes);
    this.deviceId = toHex(deviceIdBytes);
    this.random = random;
    this.clock = new Scheduler(this);
    this.power = new Power(this);
    this.port = new DebugPort(this);
    this.cores = {
      application: new SimCore('application', this.target.application, this, this.nvmFaults),
      ...(this.target.network ? { network: new SimCore('network', this.target.network, this, this.nvmFaults) } : {}),
    };
    this.kmu = new Kmu(this, this.cores.application.nvm);
    this.ctrlAp = new CtrlAp(this);
    this.firmwareHost = {
      target: this.target,
      random,
      deviceIdBytes: () => Uint8Array.from(this.idBytes),
      readWord: (core, address) => this.readWord(core, address, 'firmware'),
      writeWord: (core, address, value) => this.writeWord(core, address, value, 'firmware'),
      nvmcBusyUs: (core) => this.core(core).nvm.busyUs(),
      print: (core, line) => this.print(core, line),
      uptimeUs: (core) => this.clock.nowUs - this.core(core).bootTimeUs,
      rttInit: (core) => rttInit(this.core(core).volatile, this.core(core).spec.ram),
      cryptocellKey: (address) => this.kmu.cryptocellKey(address),
      flashRuns: (core) => this.core(core).nvm.flashRuns(),
    };
    for (const core of this.coreList()) initFicr(this.target, core, deviceIdBytes);
  }

  // ---------------------------------------------------------------------------------------------
  // Creation and persistence

  static create(options: SimulatedDeviceOptions): SimulatedDevice {
    if (!options || !isChipName(options.chip)) {
      throw new TfmError('INVALID_PARAMETER', `Unknown chip "${String(options?.chip)}". Use nrf5340, nrf9160, nrf9161 or nrf9151.`);
    }
    const idBytes =
      options.deviceId !== undefined ? bytesFrom(options.deviceId, 8, 'Device ID') : (options.random ?? cryptoRandom).fill(new Uint8Array(8));
    const random = options.random ?? seededRandom(`tfm-provision-sim:${toHex(idBytes)}`);
    const device = new SimulatedDevice(options.chip, idBytes, random);
    const { eraseProtectDisableKey } = applyFactoryState(device.target, device.cores, options.state ?? {});
    device.ctrlAp.eraseProtectDisableKey = eraseProtectDisableKey;
    // Power-on: locks latch from UICR, the application core is held by the attached debugger.
    device.power.powerOn(options.state?.networkForcedOff ?? true);
    return device;
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
    const copy = SimulatedDevice.fromSnapshot(this.snapshot(), seededRandom(`tfm-provision-sim:${this.deviceId}:clone:${this.clock.nowUs}`));
    for (const core of this.coreList()) copy.core(core.name).volatile = new Map(core.volatile);
    copy.lastTfmBoot = this.lastTfmBoot;
    copy.lastFirmwareResult = this.lastFirmwareResult;
    return copy;
  }

  /** @internal Every part's state (what the state file and clone() carry). */
  snapshot(): DeviceSnapshot {
    return {
      chip: this.chip,
      deviceId: this.deviceId,
      nowUs: this.clock.nowUs,
      forceOff: this.power.forceOff,
      kmu: this.kmu.snapshot(),
      ctrlAp: this.ctrlAp.snapshot(),
      cores: { application: this.cores.application.snapshot(), ...(this.cores.network ? { network: this.cores.network.snapshot() } : {}) },
      console: this.consoleEntries.map((e) => ({ ...e })),
    };
  }

  private static fromSnapshot(s: DeviceSnapshot, random: RandomSource): SimulatedDevice {
    const dev = new SimulatedDevice(s.chip, bytesFrom(s.deviceId, 8, 'Device ID'), random);
    dev.clock.nowUs = s.nowUs;
    dev.power.forceOff = s.forceOff;
    dev.kmu.restore(s.kmu);
    dev.ctrlAp.restore(s.ctrlAp);
    dev.cores.application.restore(s.cores.application);
    if (dev.cores.network && s.cores.network) dev.cores.network.restore(s.cores.network);
    for (const entry of s.console) {
      dev.consoleEntries.push({ ...entry });
      dev.console.push(entry.line);
    }
    return dev;
  }

  /**
   * The state-file object (schema version 1). By default runs pending firmware models to their end
   * first, because a chip keeps running while no probe is attached. With { settle: false } it is a
   * snapshot of this instant: a firmware model still running is not part of it (a device loaded
   * from it has that CPU running with nothing left to do).
   */
  toJSON(options: { settle?: boolean } = {}): object {
    if (options.settle !== false) this.runUntilIdle();
    return snapshotToState(this.snapshot());
  }

  /** Rebuilds a device from toJSON() output. Anything else: TfmError SIM_STATE_INVALID. */
  static fromJSON(value: unknown, options: { random?: RandomSource; source?: string } = {}): SimulatedDevice {
    const s = stateToSnapshot(value, options.source);
    return SimulatedDevice.fromSnapshot(s, options.random ?? seededRandom(`tfm-provision-sim:${s.deviceId}:${s.nowUs}`));
  }

  /** Writes the state file (atomically: a crash never leaves a truncated file). */
  save(file: string, options: { overwrite?: boolean } = {}): void {
    writeStateFile(file, this.toJSON(), options);
  }

  static load(file: string, options: { random?: RandomSource } = {}): SimulatedDevice {
    return SimulatedDevice.fromJSON(readStateFile(file), { ...options, source: file });
  }

  // ---------------------------------------------------------------------------------------------
  // Observation (chip-off: no rules, no side effects)

  get virtualTimeUs(): number {
    return this.clock.nowUs;
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
    address = (address >>> 0) & ~3;
    switch (c.regionOf(address)) {
      case 'flash':
        return c.nvm.flashWord(address);
      case 'uicr':
        return c.nvm.uicrWord(address);
      case 'ficr':
        return c.ficr.get(address) ?? ERASED_WORD;
      default:
        return c.volatile.get(address) ?? 0;
    }
  }

  /** Decoded PSA lifecycle from the OTP words (bl_storage rules; anything else is 'INVALID'). */
  get lifecycle(): SimLifecycleReading {
    return decodeLifecycle(this.lifecycleWords());
  }

  lifecycleWords(): LifecycleHalfwords {
    return lifecycleHalfwords(this.peekU32(this.target.lifecycle.provisioning), this.peekU32(this.target.lifecycle.reserved));
  }

  /** Chip-off view of one KMU slot. */
  kmuSlot(index: number): SimKmuSlotDump {
    return this.kmu.slotDump(index);
  }

  /** The CryptoCell key register loaded by the last KMU push to `address`, if any. */
  cryptocellKey(address: number): Uint8Array | undefined {
    return this.kmu.cryptocellKey(address);
  }

  /** Whether a debugger can reach this core's AHB-AP right now. */
  isDebugOpen(core: SimCoreName = 'application'): boolean {
    return this.core(core).debugOpen;
  }

  /** nRF5340: RESET.NETWORK.FORCEOFF is set (network core held off). Always false on nRF91. */
  get networkForcedOff(): boolean {
    return this.power.forceOff;
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
    return deviceDump(this, options.withFlash === true);
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
   * TF-M's boot on this device (firmware/tfm-boot.ts: the order of tfm_hal_platform_init and
   * nrf_provisioning.c): resets, runs the model to its end (including the reset after PROVISIONING ->
   * SECURED and the second boot), and reports. The TF-M build is the one in application flash, else
   * the request's version and token profile. With `request.challenge`, a boot that reached SECURED is
   * followed by one initial attestation request, answered in `attestation`.
   */
  bootTfm(request: SimTfmBootRequest = {}): TfmBootResult {
    const config = this.clock.tfmConfig(request);
    const result = this.clock.bootTfm(config);
    this.tfmBooted(result);
    if (request.challenge !== undefined && this.runningTfm) result.attestation = this.requestAttestationToken({ challenge: request.challenge });
    this.lastTfmBoot = result;
    return result;
  }

  /**
   * One initial attestation request (psa_initial_attest_get_token) to the TF-M that last booted on
   * this device to SECURED: a COSE_Sign1 PSA token signed with the identity key TF-M unwraps from
   * KMU slots 6/7 now (firmware/tfm-attest.ts). Fails (ok false, errorCode) when TF-M is not running
   * or the identity key does not decrypt.
   */
  requestAttestationToken(request: { challenge: Uint8Array; clientId?: number }): SimAttestationAnswer {
    const running = this.runningTfm;
    if (!running) return { ok: false, errorCode: 'INVALID_OPERATION', message: 'TF-M is not running on this device in SECURED: boot it first (bootTfm()).' };
    return attestationToken(new Cpu(this.firmwareHost, 'application'), running.config, running.bootSeed, request);
  }

  /** TF-M runs after a boot that reached SECURED, with a boot seed fresh for this boot. */
  private tfmBooted(result: TfmBootResult): void {
    this.runningTfm = undefined;
    if (!result.ok || result.lifecycle !== 'SECURED') return;
    const config = defaultTfmConfig({ ...(result.tfmVersion ? { version: result.tfmVersion } : {}), ...(result.tokenProfile ? { tokenProfile: result.tokenProfile } : {}) });
    this.runningTfm = { config, bootSeed: this.firmwareHost.random.fill(new Uint8Array(32)) };
  }

  /**
   * Places bytes in a core's flash as a programmer at the factory would (no NVMC rules, no probe
   * operations): pages are taken as erased first. For test setup, e.g. a synthetic image.
   */
  programFlash(core: SimCoreName, address: number, data: Uint8Array): void {
    const c = this.core(core);
    if (!c.nvm.inFlash(address) || !c.nvm.inFlash(address + data.length - 1)) {
      throw new TfmError('INVALID_PARAMETER', `${hex32(address)} + ${data.length} is outside the ${core} core's flash.`);
    }
    c.nvm.factoryProgramFlash(address, data);
  }

  /**
   * Runs a firmware model directly, as if its image had been flashed, reset and started, to its end;
   * then resets the chip (so locks it set take effect) with the debugger holding the CPU. Returns
   * the model's outcome. For presets and tests that need "a device the stock sample provisioned".
   */
  runFirmwareModel(kind: 'provisioning-image' | 'network-image', config: ProvisioningImageConfig = {}): FirmwareResult {
    this.clock.startModel(kind, config);
    this.lastFirmwareResult = undefined;
    this.runUntilIdle();
    const result = this.lastFirmwareResult as FirmwareResult | undefined;
    this.power.systemReset({ debuggerHalts: true });
    if (!result) throw new TfmError('INTERNAL_ERROR', `The ${kind} model did not finish.`);
    return result;
  }

  /** Advances the virtual clock by `us`, letting running firmware models progress. */
  runFor(us: number): void {
    this.clock.bootPendingCores();
    this.advanceTo(this.clock.nowUs + Math.max(0, us));
  }

  /** Runs every firmware model that is running to its end (bounded by `maxUs` of virtual time).
   *  Returns true when nothing is left running. */
  runUntilIdle(maxUs = 60_000_000): boolean {
    return this.clock.runUntilIdle(maxUs);
  }

  /** @internal Advances the clock to `timeUs`, running due firmware steps in time order. */
  advanceTo(timeUs: number): void {
    this.clock.advanceTo(timeUs);
  }

  /** @internal A model returned (scheduler.ts). */
  firmwareFinished(kind: FirmwareKind, result: FirmwareResult | undefined): void {
    if (!result) return;
    if (kind === 'provisioning-image' || kind === 'network-image') this.lastFirmwareResult = result;
    if (result.tfm) {
      this.lastTfmBoot = result.tfm;
      if (!result.resetRequested) this.tfmBooted(result.tfm);
    }
    if (result.resetRequested) {
      // Firmware-initiated system reset (NVIC_SystemReset): nobody holds the CPU, it boots again.
      this.power.systemReset({ debuggerHalts: false });
    }
  }

  /**
   * @internal Called by the binding before each probe operation (before its latency passes). A core
   * the debugger released from FORCEOFF boots now, unless this operation is the halt that stops it
   * first. So the simulator gives a debugger exactly one transaction to halt a core it released; on
   * silicon the core starts within microseconds and the window is that transaction's latency
   * (docs/provisioning.md).
   */
  beforeProbeOperation(method: string, selected: SimCoreName): void {
    this.clock.beforeProbeOperation(method, selected);
  }

  private print(core: SimCoreName, line: string): void {
    this.console.push(line);
    this.consoleEntries.push({ core, timeUs: this.clock.nowUs, line });
    const c = this.core(core);
    rttWrite(c.volatile, c.spec.ram, `${line}\r\n`);
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

  /** @internal */
  violate(kind: SimViolationKind, core: SimCoreName, address: number, by: By, message: string, value?: number): void {
    if (this.isKeyWord(core, address)) value = undefined; // key material stays out of violations and logs
    const v: SimViolation = { kind, core, address: address >>> 0, by, timeUs: this.clock.nowUs, message, ...(value !== undefined ? { value: value >>> 0 } : {}) };
    this.violations.push(v);
    for (const listener of this.violationListeners) listener(v);
  }

  /** @internal Whether an erase-all of this core is blocked by ERASEPROTECT. */
  eraseProtected(core: SimCore): boolean {
    return eraseProtected(this, core);
  }

  /** @internal A 32-bit read by the CPU or the debugger (alignment already checked). */
  readWord(coreName: SimCoreName, address: number, by: By): number {
    const core = this.core(coreName);
    address >>>= 0;
    switch (core.regionOf(address)) {
      case 'flash':
        return core.nvm.flashWord(address);
      case 'ficr':
        return core.ficr.get(address) ?? ERASED_WORD;
      case 'uicr':
        return core.name === 'application' ? this.kmu.readUicr(address, by) : core.nvm.uicrWord(address);
      default:
        return this.readRegister(core, address);
    }
  }

  private readRegister(core: SimCore, address: number): number {
    const nvmc = core.nvm.readRegister(address);
    if (nvmc !== undefined) return nvmc;
    if (core.name === 'application') {
      const t = this.target;
      if (t.network && address === t.network.forceOff) return this.power.forceOff ? 1 : 0;
      const value = this.kmu.readRegister(address) ?? this.ctrlAp.readRegister(address);
      if (value !== undefined) return value;
    }
    return core.volatile.get(address & ~3) ?? 0;
  }

  /** @internal A 32-bit write by the CPU or the debugger (alignment already checked). */
  writeWord(coreName: SimCoreName, address: number, value: number, by: By): void {
    const core = this.core(coreName);
    address >>>= 0;
    value >>>= 0;
    switch (core.regionOf(address)) {
      case 'ficr':
        this.violate('FICR_WRITE', core.name, address, by, `Write to FICR ${hex32(address)} (read-only): ignored.`, value);
        return;
      case 'flash':
        core.nvm.writeFlash(address, value, by);
        return;
      case 'uicr':
        if (core.name === 'application') this.kmu.writeUicr(address, value, by);
        else if (core.nvm.modeAllows('uicr', address, value, by)) core.nvm.program('uicr', address, value, by);
        return;
      default:
        this.writeRegister(core, address, value, by);
    }
  }

  private writeRegister(core: SimCore, address: number, value: number, by: By): void {
    if (core.nvm.writeRegister(address, value, by, () => this.nvmcEraseAll(core, address, value, by))) return;
    if (core.name === 'application') {
      const t = this.target;
      if (t.network && address === t.network.forceOff) return this.power.setForceOff((value & 1) === 1, by);
      if (this.kmu.writeRegister(address, value, by) || this.ctrlAp.writeRegister(address, value)) return;
    }
    core.volatile.set(address & ~3, value);
  }

  /** NVMC ERASEALL in Een mode: refused under ERASEPROTECT, else flash and UICR erased. */
  private nvmcEraseAll(core: SimCore, address: number, value: number, by: By): void {
    if (this.eraseProtected(core)) {
      this.violate('ERASE_PROTECTED', core.name, address, by, 'NVMC ERASEALL refused: UICR.ERASEPROTECT is set.', value);
      return;
    }
    core.nvm.stall();
    this.eraseAllNow(core, { ram: false, unlock: false });
  }

  /** @internal Erases flash + UICR of the core (a network-core erase-all erases the application core first). */
  eraseAllNow(core: SimCore, options: { ram: boolean; unlock: boolean }): void {
    for (const c of core.name === 'network' ? this.coreList() : [core]) {
      c.nvm.eraseAll();
      if (options.ram) c.volatile.clear();
      if (options.unlock) c.unlockedByEraseAll = true;
    }
    core.nvm.startEraseAllTimer();
  }

  /** @internal Power cycle: reset with nothing attached; the firmware boots. */
  powerCycle(): void {
    this.power.powerCycle();
  }
}

export { diffDumps, decodeLifecycle };
