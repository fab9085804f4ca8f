/**
 * Resets and power (nRF5340 PS RESET chapter, nRF9160 PS POWER/RESET; device-facts 5.5): system
 * reset (both cores, KMU, CryptoCell; the nRF5340 network core forced off again), one core's reset
 * (RAM lost, APPROTECT latched from UICR, CPU held if a debugger can hold it), power cycles,
 * RESET.NETWORK.FORCEOFF, and the access check a debugger meets on a locked or forced-off core.
 */
import { ProbeError } from '../errors';
import type { Target } from '../targets';
import type { By } from './context';
import type { SimCore } from './core';
import type { NvmFaults } from './nvm';
import type { SimCoreName } from './types';

/** What resets reach on the device. */
export interface PowerHost {
  readonly target: Target;
  readonly cores: { application: SimCore; network?: SimCore };
  readonly nvmFaults: NvmFaults;
  readonly kmu: { reset(): void };
  readonly clock: { startFirmware(core: SimCore): void };
  core(name: SimCoreName): SimCore;
  coreList(): SimCore[];
}

export class Power {
  /** nRF5340 RESET.NETWORK.FORCEOFF (always false on nRF91). */
  forceOff = false;

  constructor(private readonly dev: PowerHost) {}

  /** Power-on: locks latch from UICR, the application core is held by the attached debugger. */
  powerOn(networkForcedOff: boolean): void {
    for (const core of this.dev.coreList()) core.approtectOpenAtReset = this.approtectOpen(core);
    const net = this.dev.cores.network;
    this.forceOff = net ? networkForcedOff : false;
    if (net && !this.forceOff) net.running = false;
  }

  private approtectOpen(core: SimCore): boolean {
    return core.nvm.uicrWord(core.spec.approtect) === this.dev.target.uicr.approtectUnprotected;
  }

  /** RESET.NETWORK.FORCEOFF. */
  setForceOff(on: boolean, by: By = 'firmware'): void {
    const net = this.dev.cores.network;
    if (!net || on === this.forceOff) return;
    this.forceOff = on;
    if (on) {
      // Network core powered down: CPU, RAM, NVMC state gone; locks re-latch at the next release.
      net.running = false;
      net.clearVolatile();
    } else {
      // Released: the network core boots on its own (nobody holds it) and latches its lock. Released
      // by the debugger, its firmware starts with the debugger's next transaction, which can be the
      // halt that stops it first (beforeProbeOperation).
      this.resetCore(net, false, by === 'probe');
    }
  }

  /** Resets one core: volatile state lost, lock latched from UICR, CPU halted if the
   *  debugger can hold it (debuggerHalts) or booting its firmware otherwise. */
  resetCore(core: SimCore, debuggerHalts: boolean, deferBoot = false): void {
    core.clearVolatile();
    core.firmwareStarted = false;
    core.ctrlApReset = 0;
    core.approtectOpenAtReset = this.approtectOpen(core);
    core.running = !(debuggerHalts && core.debugOpen);
    if (core.running && deferBoot) core.bootPending = true;
    else if (core.running) this.dev.clock.startFirmware(core);
  }

  /** System reset: both cores, KMU, CryptoCell; nRF5340 network core forced off again. */
  systemReset(options: { debuggerHalts: boolean }): void {
    this.dev.kmu.reset();
    const net = this.dev.cores.network;
    if (net) {
      this.forceOff = false; // so setForceOff(true) below powers the network core down
      this.setForceOff(true);
      net.approtectOpenAtReset = this.approtectOpen(net);
    }
    this.resetCore(this.dev.cores.application, options.debuggerHalts);
  }

  /** Power cycle: reset with nothing attached; the firmware boots. */
  powerCycle(): void {
    this.dev.nvmFaults.tear = undefined;
    for (const core of this.dev.coreList()) core.nvm.busyUntil = 0;
    this.systemReset({ debuggerHalts: false });
  }

  /** A reset requested through the probe (CTRL-AP RESET or the reset call). */
  resetFromProbe(core: SimCore): void {
    if (core.name === 'network') {
      if (this.forceOff) this.checkAccess('network');
      this.resetCore(core, true);
    } else {
      this.systemReset({ debuggerHalts: true });
    }
  }

  /** Throws what a debugger gets when the core's AHB-AP cannot be used. */
  checkAccess(coreName: SimCoreName): SimCore {
    const core = this.dev.core(coreName);
    if (core.name === 'network' && this.forceOff) {
      throw new ProbeError('NETWORK_CORE_FORCED_OFF', 'The nRF5340 network core is held off (RESET.NETWORK.FORCEOFF = 1); write 0 to it from the application core first.', {
        details: { forceOff: this.dev.target.network!.forceOff },
      });
    }
    if (!core.debugOpen) {
      throw new ProbeError('DEVICE_PROTECTED', `The ${core.name} core's access port is locked (APPROTECT). Only an erase-all (recover) reopens it, and that destroys lifecycle and keys.`, {
        details: { core: core.name },
      });
    }
    return core;
  }
}
