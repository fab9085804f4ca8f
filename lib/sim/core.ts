/**
 * One simulated core (application, or nRF5340 network): its non-volatile memory, its RAM and
 * unmodelled registers, its reset and debug-lock latches and the firmware model running on it.
 */
import { NVMC_REN, type CoreSpec } from '../targets';
import type { PartContext } from './context';
import type { FirmwareRun } from './firmware/model';
import { FICR_SIZE } from './layout';
import { CoreNvm, type NvmFaults, type NvmSnapshot } from './nvm';
import type { SimCoreName } from './types';

export interface CoreSnapshot {
  nvm: NvmSnapshot;
  approtectOpenAtReset: boolean;
  unlockedByEraseAll: boolean;
  running: boolean;
  firmwareStarted: boolean;
  bootTimeUs: number;
}

export class SimCore {
  readonly ficr = new Map<number, number>();
  readonly nvm: CoreNvm;
  /** RAM and unmodelled registers: word address -> value (lost on reset). */
  volatile = new Map<number, number>();
  /** UICR.APPROTECT held the unprotected value at the last reset of this core. */
  approtectOpenAtReset = true;
  /** A CTRL-AP erase-all opened this core's AHB-AP until the next reset. */
  unlockedByEraseAll = false;
  running = false;
  firmwareStarted = false;
  /**
   * Released from RESET.NETWORK.FORCEOFF by the debugger and not booted yet: the core's firmware
   * starts with the debugger's next transaction to the chip, unless that transaction halts the core
   * (or when virtual time passes without the debugger: runFor, runUntilIdle).
   */
  bootPending = false;
  firmware?: FirmwareRun;
  bootTimeUs = 0;
  ctrlApReset = 0;
  eraseAllBusyUntil = 0;

  constructor(
    readonly name: SimCoreName,
    readonly spec: CoreSpec,
    ctx: PartContext,
    faults: NvmFaults,
  ) {
    this.nvm = new CoreNvm(name, spec, ctx, faults);
  }

  get debugOpen(): boolean {
    return this.unlockedByEraseAll || this.approtectOpenAtReset;
  }

  inFicr(address: number): boolean {
    return address >= this.spec.ficrBase && address < this.spec.ficrBase + FICR_SIZE;
  }

  /** Which memory an address is in, for the bus dispatch. */
  regionOf(address: number): 'flash' | 'uicr' | 'ficr' | 'volatile' {
    if (this.nvm.inFlash(address)) return 'flash';
    if (this.nvm.inUicr(address)) return 'uicr';
    if (this.inFicr(address)) return 'ficr';
    return 'volatile';
  }

  /** Power down / reset: CPU stopped, RAM and NVMC mode lost, the erase-all unlock gone. */
  clearVolatile(): void {
    this.firmware = undefined;
    this.bootPending = false;
    this.volatile.clear();
    this.nvm.nvmcConfig = NVMC_REN;
    this.unlockedByEraseAll = false;
  }

  snapshot(): CoreSnapshot {
    return {
      nvm: this.nvm.snapshot(),
      approtectOpenAtReset: this.approtectOpenAtReset,
      unlockedByEraseAll: this.unlockedByEraseAll,
      running: this.running,
      firmwareStarted: this.firmwareStarted,
      bootTimeUs: this.bootTimeUs,
    };
  }

  restore(s: CoreSnapshot): void {
    this.nvm.restore(s.nvm);
    this.approtectOpenAtReset = s.approtectOpenAtReset;
    this.unlockedByEraseAll = s.unlockedByEraseAll;
    this.running = s.running;
    this.firmwareStarted = s.firmwareStarted;
    this.bootTimeUs = s.bootTimeUs;
  }
}
