/**
 * SimBinding: the probe contract (ProbeBinding / ProbeSession) over simulated devices, the
 * counterpart of @serialport/binding-mock. Each serial number has one attached SimulatedDevice; the
 * binding adds what is about the probe rather than the chip: sessions, the operation log, injected
 * faults, and latency on the virtual clock (optionally also in real time, for benchmarks).
 */
import { ProbeError, type ErrorCode, TfmError } from '../errors';
import type { CoreName, DeviceInfo, LibraryInfo, OpenOptions, ProbeBinding, ProbeInfo } from '../probe/types';
import type { ProbeLogEntry, ProbeLogListener, ProbeSession, ResetKind, WriteOptions } from '../probe/types';
import { hex32 } from '../bytes';
import type { SimulatedDevice } from './device';
import { PowerLossSignal } from './nvm';
import type { SimCoreName, SimFault, SimOperation, SimOperationMethod, SimTfmBootRequest } from './types';

export interface SimBindingOptions {
  /** Virtual latency added to every probe operation, in milliseconds (default 1). */
  latencyMs?: number;
  /** Also wait that latency in real time (benchmarks). Default false: tests never sleep. */
  realTime?: boolean;
  /** Called as each probe operation begins (0-based per serial), before it runs: a test hook. */
  onOperation?: (index: number, serialNumber: number, method: string) => void;
  /**
   * Let the event loop run before each operation, as a real probe's call on a worker thread does.
   * Without it a run on the simulator is one chain of microtasks, and a signal or a closed pipe
   * would only be seen once the run is over. Default false (library tests need no macrotasks).
   */
  yieldEachOperation?: boolean;
}

interface SerialEntry {
  device: SimulatedDevice;
  opCount: number;
  faults: SimFault[];
  operations: SimOperation[];
  sessionsOpened: number;
  active?: SimSession;
}

export class SimBinding implements ProbeBinding {
  readonly backend = 'sim' as const;
  private readonly serials = new Map<number, SerialEntry>();
  /** @internal */ readonly latencyUs: number;
  /** @internal */ readonly realTime: boolean;
  /** @internal */ readonly onOperation?: (index: number, serialNumber: number, method: string) => void;
  /** @internal */ readonly yieldEachOperation: boolean;

  constructor(options: SimBindingOptions = {}) {
    const latency = options.latencyMs ?? 1;
    if (!Number.isFinite(latency) || latency < 0) throw new TfmError('INVALID_PARAMETER', 'latencyMs must be a number >= 0.');
    this.latencyUs = latency * 1000;
    this.realTime = options.realTime ?? false;
    this.onOperation = options.onOperation;
    this.yieldEachOperation = options.yieldEachOperation ?? false;
  }

  /** Connects a simulated device to a simulated probe with this serial number. */
  attach(serialNumber: number, device: SimulatedDevice): void {
    checkSerial(serialNumber);
    if (this.serials.has(serialNumber)) throw new TfmError('INVALID_PARAMETER', `A simulated device is already attached to probe ${serialNumber}; detach it first.`);
    this.serials.set(serialNumber, { device, opCount: 0, faults: [], operations: [], sessionsOpened: 0 });
  }

  /** Unplugs the probe: open sessions fail with PROBE_DISCONNECTED from now on. */
  detach(serialNumber: number): void {
    const entry = this.serials.get(serialNumber);
    if (!entry) return;
    entry.active?.markDisconnected('The simulated probe was detached.');
    this.serials.delete(serialNumber);
  }

  device(serialNumber: number): SimulatedDevice | undefined {
    return this.serials.get(serialNumber)?.device;
  }

  /** Schedules a fault at the `atOperation`-th probe operation (0-based, all sessions) on a serial. */
  injectFault(serialNumber: number, fault: SimFault): void {
    const entry = this.entry(serialNumber);
    if (!Number.isInteger(fault.atOperation) || fault.atOperation < 0) throw new TfmError('INVALID_PARAMETER', 'fault.atOperation must be an integer >= 0.');
    if (!['error', 'disconnect', 'power-loss'].includes(fault.kind)) throw new TfmError('INVALID_PARAMETER', `Unknown fault kind "${String(fault.kind)}".`);
    entry.faults.push({ ...fault });
  }

  /** Every probe operation made on a serial since attach, in order (failed ones included). */
  operations(serialNumber: number): SimOperation[] {
    return this.serials.get(serialNumber)?.operations ?? [];
  }

  /** Number of probe operations made on a serial so far (the index the next one gets). */
  operationCount(serialNumber: number): number {
    return this.serials.get(serialNumber)?.opCount ?? 0;
  }

  async list(): Promise<ProbeInfo[]> {
    return [...this.serials.entries()].map(([serialNumber, entry]) => ({
      serialNumber,
      product: `Simulated probe (${entry.device.target.displayName})`,
      firmware: 'tfm-provision simulator',
    }));
  }

  async open(serialNumber: number, _options: OpenOptions = {}): Promise<ProbeSession> {
    const entry = this.serials.get(serialNumber);
    if (!entry) throw new ProbeError('PROBE_NOT_FOUND', `No simulated probe with serial number ${serialNumber} (attached: ${[...this.serials.keys()].join(', ') || 'none'}).`);
    if (entry.active && entry.active.usable) {
      throw new ProbeError('PROBE_BUSY', `Simulated probe ${serialNumber} is already open; close that session first.`);
    }
    entry.sessionsOpened++;
    const session = new SimSession(this, serialNumber, entry.sessionsOpened);
    entry.active = session;
    return session;
  }

  async libraryInfo(): Promise<LibraryInfo> {
    return { backend: 'sim', simulated: true };
  }

  /** @internal */
  entry(serialNumber: number): SerialEntry {
    const entry = this.serials.get(serialNumber);
    if (!entry) throw new ProbeError('PROBE_NOT_FOUND', `No simulated probe with serial number ${serialNumber}.`);
    return entry;
  }

  /** @internal The entry a session talks to, or undefined once its probe was detached or replaced. */
  entryOf(session: SimSession): SerialEntry | undefined {
    const entry = this.serials.get(session.serialNumber);
    return entry && entry.active === session ? entry : undefined;
  }
}

/**
 * The clock the image strategy waits on (structurally lib/image/run.ts RunClock, which sits above
 * the simulator and so is not imported here): milliseconds, and a sleep that costs no real time.
 */
export interface SimRunClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One open simulated probe. Calls run strictly in call order. */
export class SimSession implements ProbeSession {
  readonly backend = 'sim' as const;
  readonly simulated = true;
  private selected: SimCoreName = 'application';
  private closed = false;
  private disconnected?: string;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<ProbeLogListener>();
  private unsubscribe?: () => void;

  constructor(
    private readonly binding: SimBinding,
    readonly serialNumber: number,
    /** Which open() of this serial this is (1 = first). */
    readonly sessionNumber: number,
  ) {
    const device = binding.entry(serialNumber).device;
    this.unsubscribe = device.onViolation((v) =>
      this.emit({ level: 'warning', source: 'sim', message: `violation ${v.kind} on ${v.core} core at ${hex32(v.address)} by ${v.by}: ${v.message}` }),
    );
  }

  /** @internal Open and connected. */
  get usable(): boolean {
    return !this.closed && this.disconnected === undefined;
  }

  /** TF-M's first boot on a copy of the device: the default boot model of provision() and verify(). */
  tfmFirstBoot(request?: SimTfmBootRequest): ReturnType<SimulatedDevice['bootTfm']> {
    return this.binding.entry(this.serialNumber).device.clone().bootTfm(request);
  }

  /** The simulated device behind this session (tests may inspect it; production code never should). */
  get device(): SimulatedDevice {
    return this.binding.entry(this.serialNumber).device;
  }

  /** The core selected with selectCore (initially 'application'). */
  get core(): SimCoreName {
    return this.selected;
  }

  /**
   * The device's virtual clock (VirtualClockSession in lib/image/run.ts): the image strategy picks
   * it up by itself, so waiting for an image lets the firmware model run and a timeout costs no real
   * time. Once the probe is detached it no longer advances (the next probe operation reports that).
   */
  get virtualClock(): SimRunClock {
    const device = (): SimulatedDevice | undefined => this.binding.entryOf(this)?.device;
    let last = 0;
    return {
      now: () => {
        const d = device();
        if (d) last = d.virtualTimeUs / 1000;
        return last;
      },
      sleep: async (ms) => {
        device()?.runFor(Math.max(0, ms) * 1000);
      },
    };
  }

  /** @internal */
  markDisconnected(reason: string): void {
    this.disconnected = reason;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private emit(entry: ProbeLogEntry): void {
    for (const listener of this.listeners) {
      try {
        listener(entry);
      } catch {
        // A listener's failure must not break the probe operation that logged.
      }
    }
  }

  private run<T>(method: SimOperationMethod, details: Partial<SimOperation>, fn: (device: SimulatedDevice) => T): Promise<T> {
    const result = this.queue.then(() => this.execute(method, details, fn));
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async execute<T>(method: SimOperationMethod, details: Partial<SimOperation>, fn: (device: SimulatedDevice) => T): Promise<T> {
    if (this.binding.yieldEachOperation) await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.closed) throw new ProbeError('PROBE_CLOSED', `Simulated probe ${this.serialNumber} session is closed.`);
    const entry = this.binding.entryOf(this);
    if (!entry) {
      throw new ProbeError('PROBE_DISCONNECTED', this.disconnected ?? `Simulated probe ${this.serialNumber} is no longer attached.`);
    }
    const index = entry.opCount++;
    const op: SimOperation = { index, session: this.sessionNumber, method, core: this.selected, ...details };
    entry.operations.push(op);
    this.binding.onOperation?.(index, this.serialNumber, method);
    try {
      if (this.disconnected !== undefined) {
        throw new ProbeError('PROBE_DISCONNECTED', `${this.disconnected} Reopen the probe.`);
      }
      const device = entry.device;
      // A core this probe released from FORCEOFF boots with this transaction unless it halts it.
      device.beforeProbeOperation(method, this.selected);
      if (this.binding.latencyUs > 0) {
        device.advanceTo(device.virtualTimeUs + this.binding.latencyUs);
        if (this.binding.realTime) await sleep(this.binding.latencyUs / 1000);
      }
      const fault = entry.faults.find((f) => f.atOperation === index);
      if (fault) {
        op.fault = fault.kind;
        return this.applyFault(device, fault, index, method, fn);
      }
      return fn(device);
    } catch (error) {
      if (error instanceof TfmError) op.error = error.code;
      throw error;
    }
  }

  private applyFault<T>(device: SimulatedDevice, fault: SimFault, index: number, method: SimOperationMethod, fn: (device: SimulatedDevice) => T): T {
    this.emit({ level: 'error', source: 'sim', message: `injected fault "${fault.kind}" at operation ${index} (${method})` });
    if (fault.kind === 'error') {
      const code: ErrorCode = fault.code ?? 'CANNOT_CONNECT';
      throw new ProbeError(code, `Simulated probe fault at operation ${index} (${method}): ${code}.`, { details: { injected: true, operation: index } });
    }
    if (fault.kind === 'disconnect') {
      this.markDisconnected(`Simulated probe ${this.serialNumber} disconnected at operation ${index} (${method}).`);
      throw new ProbeError('PROBE_DISCONNECTED', `${this.disconnected} Reopen the probe.`, { details: { injected: true, operation: index } });
    }
    // Power loss: a write in flight is torn (earlier words complete, the torn word partly
    // programmed, later words never start); any other operation has no effect. Then the chip
    // power-cycles and boots its firmware, and the probe loses the target.
    if (method === 'write' || method === 'writeU32') {
      device.nvmFaults.tear = { mask: fault.tornBits, wordIndex: fault.tornWord ?? 0, seen: 0 };
      try {
        fn(device);
      } catch (error) {
        if (!(error instanceof PowerLossSignal) && !(error instanceof TfmError)) throw error;
      } finally {
        device.nvmFaults.tear = undefined;
      }
    }
    device.powerCycle();
    this.markDisconnected(`Simulated target power lost at operation ${index} (${method}).`);
    throw new ProbeError('PROBE_DISCONNECTED', `${this.disconnected} Reopen the probe.`, { details: { injected: true, operation: index } });
  }

  deviceInfo(): Promise<DeviceInfo> {
    return this.run('deviceInfo', {}, (d) => d.port.deviceInfo());
  }

  selectCore(core: CoreName): Promise<void> {
    return this.run('selectCore', {}, (d) => {
      if (core !== 'application' && core !== 'network') {
        throw new ProbeError('INVALID_PARAMETER', `The ${d.target.displayName} has no "${String(core)}" core a debugger can select (application${d.target.network ? ', network' : ''}).`);
      }
      if (core === 'network' && !d.target.network) throw new ProbeError('INVALID_PARAMETER', `The ${d.target.displayName} has no network core.`);
      this.selected = core;
    });
  }

  read(address: number, length: number): Promise<Uint8Array> {
    return this.run('read', { address, length }, (d) => d.port.read(this.selected, address, length));
  }

  write(address: number, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const nvmc = options.nvmc === true;
    const copy = Uint8Array.from(data); // the caller may zero its buffer while the call is queued
    return this.run('write', { address, length: data.length, nvmc }, (d) => {
      try {
        d.port.write(this.selected, address, copy, nvmc);
      } finally {
        copy.fill(0);
      }
    });
  }

  readU32(address: number): Promise<number> {
    return this.run('readU32', { address }, (d) => d.port.readU32(this.selected, address));
  }

  writeU32(address: number, value: number, options: WriteOptions = {}): Promise<void> {
    const nvmc = options.nvmc === true;
    // A KMU key word's value is key material: the operation log keeps its address only.
    const keyWord = this.binding.entryOf(this)?.device.isKeyWord(this.selected, address) ?? false;
    return this.run('writeU32', { address, ...(keyWord ? {} : { value: value >>> 0 }), nvmc }, (d) => d.port.writeU32(this.selected, address, value, nvmc));
  }

  erasePage(address: number): Promise<void> {
    return this.run('erasePage', { address }, (d) => d.port.erasePage(this.selected, address));
  }

  eraseAll(): Promise<void> {
    return this.run('eraseAll', {}, (d) => d.port.eraseAll(this.selected));
  }

  recover(): Promise<void> {
    return this.run('recover', {}, (d) => d.port.recover());
  }

  readAccessPort(apIndex: number, register: number): Promise<number> {
    return this.run('readAccessPort', { apIndex, register }, (d) => d.ctrlAp.read(apIndex, register));
  }

  writeAccessPort(apIndex: number, register: number, value: number): Promise<void> {
    return this.run('writeAccessPort', { apIndex, register, value: value >>> 0 }, (d) => d.ctrlAp.write(apIndex, register, value >>> 0));
  }

  reset(_kind: ResetKind = 'system'): Promise<void> {
    return this.run('reset', {}, (d) => d.power.resetFromProbe(d.core(this.selected)));
  }

  halt(): Promise<void> {
    return this.run('halt', {}, (d) => d.port.halt(this.selected));
  }

  go(): Promise<void> {
    return this.run('go', {}, (d) => d.port.go(this.selected));
  }

  onLog(listener: ProbeLogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.listeners.clear();
  }
}

function checkSerial(serialNumber: number): void {
  if (!Number.isInteger(serialNumber) || serialNumber <= 0 || serialNumber > 0xffffffff) {
    throw new TfmError('INVALID_PARAMETER', `Probe serial number ${String(serialNumber)} must be a positive 32-bit integer.`);
  }
}
