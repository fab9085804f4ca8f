/**
 * The virtual clock and the firmware scheduling on it: each core may run a firmware model (a
 * generator yielding microseconds to wait); advancing the clock runs the due steps in time order,
 * so a host polling through the probe sees firmware progress and can race it. Nothing sleeps.
 */
import type { Clock } from './context';
import type { SimCore } from './core';
import { defaultTfmConfig, detectFirmware, networkImageModel, provisioningImageModel, tfmBootModel, tfmConfigInFlash, type ProvisioningImageConfig, type TfmBuildConfig } from './firmware';
import type { FirmwareHost, FirmwareKind, FirmwareResult, Model } from './firmware/model';
import type { SimCoreName, SimTfmBootRequest, TfmBootResult } from './types';

/** What scheduling reaches on the device. */
export interface SchedulerHost {
  coreList(): SimCore[];
  core(name: SimCoreName): SimCore;
  /** The chip as firmware sees it. */
  readonly firmwareHost: FirmwareHost;
  readonly power: { systemReset(options: { debuggerHalts: boolean }): void; setForceOff(on: boolean): void };
  /** Called when a model returns (not when a reset abandons it). */
  firmwareFinished(kind: FirmwareKind, result: FirmwareResult | undefined): void;
}

export class Scheduler implements Clock {
  nowUs = 0;
  private inStep = false;
  private readonly cores: () => SimCore[];

  constructor(private readonly device: SchedulerHost) {
    this.cores = () => device.coreList();
  }

  /** The core's CPU starts: the model its flash holds (if any) begins now. */
  startFirmware(core: SimCore): void {
    core.firmwareStarted = true;
    core.bootTimeUs = this.nowUs;
    const found = detectFirmware(this.device.firmwareHost, core.name, core.nvm.flashRuns());
    if (found) this.start(core, found.kind, found.start());
  }

  /**
   * Before each probe operation: a core the debugger released from FORCEOFF boots now, unless this
   * operation is the halt that stops it first (selecting a core reaches no core).
   */
  beforeProbeOperation(method: string, selected: SimCoreName): void {
    for (const core of this.cores()) {
      if (!core.bootPending || method === 'selectCore' || (method === 'halt' && selected === core.name)) continue;
      this.bootNow(core);
    }
  }

  /** Virtual time passes without the debugger: every pending core boots. */
  bootPendingCores(): void {
    for (const core of this.cores()) if (core.bootPending) this.bootNow(core);
  }

  private bootNow(core: SimCore): void {
    core.bootPending = false;
    if (core.running && !core.firmwareStarted) this.startFirmware(core);
  }

  /** The TF-M build bootTfm() runs: the one in application flash, else the request's, else the defaults. */
  tfmConfig(request: SimTfmBootRequest = {}): TfmBuildConfig {
    const inFlash = tfmConfigInFlash(this.device.core('application').nvm.flashRuns());
    if (inFlash) return inFlash;
    const version = request.tfmVersion ?? (request.instanceIdFormula === '2.1' ? '2.1.2' : request.instanceIdFormula === '2.2' ? '2.2.0' : undefined);
    const normalised = version === undefined ? undefined : /^\d+\.\d+$/.test(version) ? `${version}.0` : version.replace(/^v/, '');
    return defaultTfmConfig({ ...(normalised ? { version: normalised } : {}), ...(request.tokenProfile ? { tokenProfile: request.tokenProfile } : {}) });
  }

  /** TF-M's first boot, synchronously: reset, model to its end, and the second boot after the
   *  provisioning step's reset. */
  bootTfm(config: TfmBuildConfig): TfmBootResult {
    this.device.power.systemReset({ debuggerHalts: true });
    const app = this.device.core('application');
    const drain = (): FirmwareResult => {
      app.bootTimeUs = this.nowUs;
      return this.drain(tfmBootModel(this.device.firmwareHost, config));
    };
    const first = drain();
    let result = first.tfm!;
    if (first.resetRequested) {
      this.device.power.systemReset({ debuggerHalts: true });
      const second = drain().tfm!;
      result = second.ok ? { ...second, hukWritten: first.tfm!.hukWritten === true || second.hukWritten === true, message: `${first.message} ${second.message}` } : second;
    }
    // TF-M keeps running; a later go() must not start anything else.
    app.running = true;
    app.firmwareStarted = true;
    return result;
  }

  /** Starts a model as if its image had been flashed, reset and started (runFirmwareModel). */
  startModel(kind: 'provisioning-image' | 'network-image', config: ProvisioningImageConfig): void {
    this.device.power.systemReset({ debuggerHalts: true });
    let core: SimCore;
    let gen: Model;
    if (kind === 'network-image') {
      core = this.device.core('network');
      this.device.power.setForceOff(false);
      core.firmware = undefined;
      gen = networkImageModel(this.device.firmwareHost);
    } else {
      core = this.device.core('application');
      gen = provisioningImageModel(this.device.firmwareHost, config);
    }
    core.running = true;
    core.firmwareStarted = true;
    core.bootTimeUs = this.nowUs;
    this.start(core, kind, gen);
  }

  /** Starts `gen` on `core` now (the core is taken as running). */
  start(core: SimCore, kind: FirmwareKind, gen: Model): void {
    core.firmware = { kind, gen, wakeAt: this.nowUs };
  }

  /** Advances the clock to `timeUs`, running due firmware steps in time order. A step that itself
   *  advances time (an NVMC stall) only moves the clock: steps never nest. */
  advanceTo(timeUs: number): void {
    if (this.inStep) {
      this.nowUs = Math.max(this.nowUs, timeUs);
      return;
    }
    for (;;) {
      let due: SimCore | undefined;
      for (const core of this.cores()) {
        const run = core.firmware;
        if (!run || !core.running || run.wakeAt > timeUs) continue;
        if (!due || run.wakeAt < due.firmware!.wakeAt) due = core;
      }
      if (!due) break;
      const run = due.firmware!;
      this.nowUs = Math.max(this.nowUs, run.wakeAt);
      this.inStep = true;
      let step: IteratorResult<number, FirmwareResult | void>;
      try {
        step = run.gen.next();
      } finally {
        this.inStep = false;
      }
      if (due.firmware !== run) continue; // the step reset the core
      if (step.done) {
        due.firmware = undefined;
        this.device.firmwareFinished(run.kind, step.value ?? undefined);
      } else {
        run.wakeAt = this.nowUs + Math.max(0, step.value);
      }
    }
    this.nowUs = Math.max(this.nowUs, timeUs);
  }

  /** When the next firmware step is due, or undefined when nothing runs. */
  nextWake(): number | undefined {
    let next: number | undefined;
    for (const core of this.cores()) {
      if (core.firmware && core.running && (next === undefined || core.firmware.wakeAt < next)) next = core.firmware.wakeAt;
    }
    return next;
  }

  /** Runs until nothing is left running or `maxUs` passed; true when idle. */
  runUntilIdle(maxUs: number): boolean {
    this.bootPendingCores();
    const limit = this.nowUs + maxUs;
    for (;;) {
      const next = this.nextWake();
      if (next === undefined) return true;
      if (next > limit) return false;
      this.advanceTo(next);
    }
  }

  /** Runs one model to its end synchronously, alone (bootTfm: nothing else gets a step meanwhile). */
  private drain(gen: Model): FirmwareResult {
    for (;;) {
      const step = gen.next();
      if (step.done) return step.value as FirmwareResult;
      this.nowUs += Math.max(0, step.value);
    }
  }

  /** Halted mid-step: keep the wait left. */
  halt(core: SimCore): void {
    if (core.firmware) core.firmware.remaining = Math.max(0, core.firmware.wakeAt - this.nowUs);
  }

  /** Resumed: the wait left runs from now. */
  resume(core: SimCore): void {
    if (!core.firmware) return;
    core.firmware.wakeAt = this.nowUs + (core.firmware.remaining ?? 0);
    core.firmware.remaining = undefined;
  }
}
