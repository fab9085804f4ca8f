/**
 * What a debugger does through the AHB-AP and the probe library (called by binding.ts, whose
 * sessions add faults and latency): reads and writes with the access checks a locked or forced-off
 * core imposes, nrfjprog-style NVMC-controlled flash writes and erases (nrfjprog_dll.h
 * NRFJPROG_write / erase_page / erase_all; JLINKARM_WriteU32 for plain writes), recover through
 * CTRL-AP, halt and go. The debug port sees the device only through DebugPortHost.
 */
import { ProbeError } from '../errors';
import type { DeviceInfo } from '../probe/types';
import { ERASED_WORD, NVMC_EEN, NVMC_REN, NVMC_WEN, type Target } from '../targets';
import { hex32, readU32LE } from '../bytes';
import type { By } from './context';
import type { SimCore } from './core';
import type { CtrlAp } from './ctrl-ap';
import { writeVolatileBytes } from './rtt';
import type { Scheduler } from './scheduler';
import type { SimCoreName, SimViolationKind } from './types';

/** The device as the debug port reaches it. */
export interface DebugPortHost {
  readonly target: Target;
  readonly cores: { application: SimCore; network?: SimCore };
  readonly clock: Scheduler;
  readonly ctrlAp: CtrlAp;
  readonly networkForcedOff: boolean;
  core(name: SimCoreName): SimCore;
  readonly power: { checkAccess(core: SimCoreName): SimCore };
  readWord(core: SimCoreName, address: number, by: By): number;
  writeWord(core: SimCoreName, address: number, value: number, by: By): void;
  advanceTo(timeUs: number): void;
  eraseProtected(core: SimCore): boolean;
  violate(kind: SimViolationKind, core: SimCoreName, address: number, by: By, message: string, value?: number): void;
}

export class DebugPort {
  constructor(private readonly dev: DebugPortHost) {}

  deviceInfo(): DeviceInfo {
    const t = this.dev.target;
    const app = this.dev.cores.application;
    const info: DeviceInfo = { family: t.family };
    if (app.debugOpen) {
      const partAddress = t.ficr.part ?? t.ficr.sipPartNo;
      if (partAddress !== undefined) info.part = app.ficr.get(partAddress);
      const v = app.ficr.get(t.ficr.variant);
      if (v !== undefined) {
        // nRF91 SIPINFO.VARIANT is uint8_t[4] (memory order); nRF5340 INFO.VARIANT a uint32_t read MSB first.
        const b = Buffer.alloc(4);
        if (t.ficr.variantLayout === 'uint8x4-memory-order') b.writeUInt32LE(v >>> 0);
        else b.writeUInt32BE(v >>> 0);
        info.variant = b.toString('latin1');
      }
    }
    return info;
  }

  read(coreName: SimCoreName, address: number, length: number): Uint8Array {
    this.dev.power.checkAccess(coreName);
    checkRange(address, length);
    const out = new Uint8Array(length);
    const first = address & ~3;
    for (let word = first; word < address + length; word += 4) {
      const value = this.dev.readWord(coreName, word >>> 0, 'probe');
      for (let b = 0; b < 4; b++) {
        const a = word + b;
        if (a >= address && a < address + length) out[a - address] = (value >>> (8 * b)) & 0xff;
      }
    }
    return out;
  }

  readU32(coreName: SimCoreName, address: number): number {
    this.dev.power.checkAccess(coreName);
    checkAligned(address);
    return this.dev.readWord(coreName, address >>> 0, 'probe');
  }

  writeU32(coreName: SimCoreName, address: number, value: number, nvmc: boolean): void {
    const core = this.dev.power.checkAccess(coreName);
    checkAligned(address);
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
      throw new ProbeError('INVALID_PARAMETER', `Value ${String(value)} is not a 32-bit number.`);
    }
    if (nvmc) this.driveNvmc(core, [[address >>> 0, value >>> 0]]);
    else this.dev.writeWord(coreName, address >>> 0, value >>> 0, 'probe');
  }

  write(coreName: SimCoreName, address: number, data: Uint8Array, nvmc: boolean): void {
    const core = this.dev.power.checkAccess(coreName);
    checkRange(address, data.length);
    if (data.length === 0) return;
    const end = address + data.length;
    const touches = (region: ReturnType<SimCore['regionOf']>): boolean => {
      for (let a = address & ~3; a < end; a += 4) if (core.regionOf(a >>> 0) === region) return true;
      return false;
    };
    const aligned = address % 4 === 0 && data.length % 4 === 0;
    if (!aligned) {
      const uicr = touches('uicr');
      if (uicr || (touches('flash') && !nvmc)) {
        this.dev.violate('NON_WORD_ACCESS', core.name, address, 'probe', `${data.length}-byte write at ${hex32(address)} to ${uicr ? 'UICR (32-bit accesses only)' : 'flash without NVMC control'}: ignored.`);
        return;
      }
      if (!touches('flash') && !touches('ficr')) {
        // RAM and registers take byte writes.
        for (let a = address & ~3; a < end; a += 4) {
          if (a >= address && a + 4 <= end) {
            this.dev.writeWord(coreName, a >>> 0, readU32LE(data, a - address), 'probe');
          } else {
            writeVolatileBytes(core.volatile, Math.max(a, address), data.subarray(Math.max(a, address) - address, Math.min(a + 4, end) - address));
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
    else for (const [a, v] of words) this.dev.writeWord(coreName, a, v, 'probe');
  }

  /** nrfjprog-style NVMC control: CONFIG = Wen, each word then wait for READY, CONFIG = Ren. */
  private driveNvmc(core: SimCore, words: Array<[number, number]>): void {
    const nvmc = core.nvm.registers;
    this.dev.writeWord(core.name, nvmc.config, NVMC_WEN, 'probe');
    for (const [address, value] of words) {
      this.dev.writeWord(core.name, address, value, 'probe');
      this.dev.advanceTo(core.nvm.busyUntil);
    }
    this.dev.writeWord(core.name, nvmc.config, NVMC_REN, 'probe');
  }

  erasePage(coreName: SimCoreName, address: number): void {
    const core = this.dev.power.checkAccess(coreName);
    address >>>= 0;
    if (core.nvm.inUicr(address)) {
      this.dev.violate('UICR_PAGE_ERASE', core.name, address, 'probe', `Page erase of UICR ${hex32(address)} requested: UICR is cleared only by an erase-all.`);
      throw new ProbeError('INVALID_PARAMETER', `${hex32(address)} is in UICR, which cannot be page-erased (only an erase-all clears it, destroying lifecycle and keys).`);
    }
    if (!core.nvm.inFlash(address) || address !== core.nvm.pageOf(address)) {
      throw new ProbeError('INVALID_PARAMETER', `${hex32(address)} is not the start of a ${core.name}-core flash page (page size ${core.spec.flash.pageSize}).`);
    }
    const nvmc = core.nvm.registers;
    this.dev.writeWord(coreName, nvmc.config, NVMC_EEN, 'probe');
    this.dev.writeWord(coreName, address, ERASED_WORD, 'probe');
    this.dev.advanceTo(core.nvm.busyUntil);
    this.dev.writeWord(coreName, nvmc.config, NVMC_REN, 'probe');
  }

  /** NVMC ERASEALL of the selected core, or CTRL-AP ERASEALL when its port is locked. */
  eraseAll(coreName: SimCoreName): void {
    const core = this.dev.core(coreName);
    if (core.name === 'network' && this.dev.networkForcedOff) this.dev.power.checkAccess(coreName);
    if (!core.debugOpen) {
      this.dev.ctrlAp.eraseAll(core, 'probe', true);
      return;
    }
    if (this.dev.eraseProtected(core)) {
      this.dev.violate('ERASE_PROTECTED', core.name, core.nvm.registers.eraseAll, 'probe', 'Erase-all refused: UICR.ERASEPROTECT is set.');
      throw new ProbeError('ERASE_PROTECTED', 'ERASEPROTECT is set: the device cannot be erased by NVMC or CTRL-AP ERASEALL (only the firmware-agreed ERASEPROTECT.DISABLE key can).');
    }
    const nvmc = core.nvm.registers;
    this.dev.writeWord(coreName, nvmc.config, NVMC_EEN, 'probe');
    this.dev.writeWord(coreName, nvmc.eraseAll, 1, 'probe');
    this.dev.advanceTo(core.nvm.busyUntil);
    this.dev.writeWord(coreName, nvmc.config, NVMC_REN, 'probe');
  }

  /** CTRL-AP ERASEALL of every core (nRF5340: through the network CTRL-AP, which erases
   *  the application core first); debug open until the next reset. */
  recover(): void {
    const core = this.dev.cores.network ?? this.dev.cores.application;
    this.dev.ctrlAp.eraseAll(core, 'probe', true);
  }

  halt(coreName: SimCoreName): void {
    const core = this.dev.power.checkAccess(coreName);
    core.bootPending = false; // halted before its first instruction: go() starts the firmware
    if (!core.running) return;
    core.running = false;
    this.dev.clock.halt(core);
  }

  go(coreName: SimCoreName): void {
    const core = this.dev.power.checkAccess(coreName);
    if (core.running) return;
    core.running = true;
    if (!core.firmwareStarted) {
      this.dev.clock.startFirmware(core);
    } else {
      this.dev.clock.resume(core);
    }
  }
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
