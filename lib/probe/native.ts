/**
 * The native probe binding: `ProbeBinding` over the C++ addon (native/), which drives Nordic's
 * nrfjprog library or SEGGER's J-Link library. See docs/native.md for how the vendor library is
 * found and how threads are used.
 *
 *   const binding = new NativeBinding();              // loads the addon and the vendor library
 *   const [probe] = await binding.list();
 *   const session = await binding.open(probe.serialNumber);
 *   const part = await session.readU32(0x00ff020c);
 *   await session.close();
 *
 * The addon is loaded with node-gyp-build from the package root (a prebuild when one matches, else
 * build/Release). `nativeAddon` replaces it: a path to a `.node` file, or an object implementing
 * `NativeAddon` (the better-sqlite3 `nativeBinding` seam).
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ProbeError, isErrorCode } from '../errors';
import { runOneByOne } from './batch';
import type {
  BackendName,
  CoreName,
  DeviceFamily,
  DeviceInfo,
  LibraryInfo,
  LogLevel,
  OpenOptions,
  ProbeBatchResult,
  ProbeBinding,
  ProbeInfo,
  ProbeOperation,
  ProbeLogEntry,
  ProbeLogListener,
  ProbeSession,
  ResetKind,
  WriteOptions,
} from './types';

export type NativeBackendName = Exclude<BackendName, 'sim'>;

/** The addon's JavaScript surface (native/addon.cc, library.cc, session.cc). */
export interface NativeAddon {
  readonly abiVersion: number;
  Library: new (backend: NativeBackendName, path?: string) => NativeLibraryHandle;
  Session: new (library: NativeLibraryHandle) => NativeSessionHandle;
  /** Probe threads not yet finished, for leak tests. */
  liveWorkers(): number;
  /** Synchronously closes every open probe (pending calls are dropped); for process exit. */
  shutdown(): void;
}

export interface NativeLibraryHandle {
  info(): { backend: NativeBackendName; path: string; version: string; simulated: boolean };
  list(): Promise<ProbeInfo[]>;
}

export interface NativeSessionHandle {
  /** Called for every vendor log line; installed by NativeProbeSession. */
  onlog?: (level: string, source: string, message: string) => void;
  open(serialNumber: number, speedKhz: number, family: DeviceFamily): Promise<void>;
  /** Gives up on a hung call: pending calls no longer keep the process alive. */
  abandon?(): void;
  deviceInfo(): Promise<{ family: string; versionCode?: number }>;
  selectCore(core: CoreName): Promise<void>;
  read(address: number, length: number): Promise<Uint8Array>;
  write(address: number, data: Uint8Array, nvmc: boolean): Promise<void>;
  readU32(address: number): Promise<number>;
  writeU32(address: number, value: number, nvmc: boolean): Promise<void>;
  erasePage(address: number): Promise<void>;
  eraseAll(): Promise<void>;
  recover(): Promise<void>;
  readAccessPort(apIndex: number, register: number): Promise<number>;
  writeAccessPort(apIndex: number, register: number, value: number): Promise<void>;
  reset(kind: ResetKind): Promise<void>;
  halt(): Promise<void>;
  go(): Promise<void>;
  close(): Promise<void>;
  /** ABI 2: the operations encoded by encodeBatch(), in one crossing (native/session.cc Batch). */
  batch?(program: Uint32Array, data: Uint8Array): Promise<NativeBatchResult>;
  /** ABI 2: whether anyone listens to vendor log lines (unheard lines are dropped in C++). */
  setLogListening?(listening: boolean): void;
}

/**
 * Completions of probe calls, handed to their callers one per event-loop turn.
 *
 * Why: the addon's completions of many probes arrive together (the devices of a station run in
 * lockstep), and Node runs every queued completion, with the whole promise chain each one starts,
 * in a single turn: 64 probes made turns of 15-25 ms in which no timer, no I/O callback and no
 * Ctrl-C handler could run. Here each completion runs in a macrotask of its own, and the next one
 * is scheduled from it (setImmediate from within the check phase runs in the next turn), so timers
 * and I/O get a turn between two devices' continuations. A session's calls are sequential, so the
 * FIFO keeps each session's order; the watchdog has already settled the call (its timer is not
 * held up by the queue).
 */
const completions: Array<() => void> = [];
let draining = false;

function deliver(complete: () => void): void {
  completions.push(complete);
  if (!draining) {
    draining = true;
    setImmediate(drainOne);
  }
}

function drainOne(): void {
  const next = completions.shift();
  if (completions.length > 0) setImmediate(drainOne);
  else draining = false;
  next?.();
}

/** What the addon's batch() resolves with: one state byte per operation, then the reads' bytes. */
export interface NativeBatchResult {
  bytes: Uint8Array;
  /** -1 when every operation ran. */
  stoppedAt: number;
  mismatch: boolean;
  error?: unknown;
}

export interface NativeBindingOptions {
  /** 'auto' (default): nrfjprog when its library is found and usable, else J-Link. */
  backend?: NativeBackendName | 'auto';
  /** Path of the vendor library; overrides TFM_PROVISION_NRFJPROG_LIBRARY and the standard locations. */
  library?: string;
  /** Replaces the addon: a path to a `.node` file or an object with the addon's surface (tests). */
  nativeAddon?: string | NativeAddon;
  /**
   * How long one vendor call may take before it fails with PROBE_TIMEOUT (default 120000 ms: a
   * recover on real hardware takes ~30 s). The session is then unusable: later calls fail with
   * PROBE_TIMEOUT at once and close() resolves without waiting for the hung call.
   */
  callTimeoutMs?: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 120_000;
/** How much earlier than its deadline the watchdog counts a call as hung (timer granularity, see #onWatchdog). */
const WATCHDOG_SLACK_MS = 2;

/** Bumped together with `abiVersion` in native/addon.cc when the addon's surface changes. */
const ADDON_ABI_VERSION = 2;
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..'); // lib/probe or dist/probe -> package root

let defaultAddon: NativeAddon | undefined;

/** Loads the addon (cached) or returns the injected one; NATIVE_ADDON_UNAVAILABLE when it cannot load. */
export function loadNativeAddon(nativeAddon?: string | NativeAddon): NativeAddon {
  if (nativeAddon !== undefined && typeof nativeAddon !== 'string') return nativeAddon;
  if (nativeAddon === undefined && defaultAddon) return defaultAddon;
  let addon: NativeAddon;
  try {
    // TFM_PROVISION_NATIVE_ADDON: another build of the addon, e.g. the AddressSanitizer one that
    // `npm run test:asan` builds in build-asan/ (docs/native.md).
    const chosen = nativeAddon ?? (process.env.TFM_PROVISION_NATIVE_ADDON || undefined);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = (chosen === undefined ? require('node-gyp-build')(PACKAGE_ROOT) : require(path.resolve(chosen))) as NativeAddon;
  } catch (error) {
    throw new ProbeError(
      'NATIVE_ADDON_UNAVAILABLE',
      `The tfm-provision native addon could not be loaded (${error instanceof Error ? error.message.split('\n')[0] : String(error)}). ` +
        'Prebuilt addons ship for linux-x64 (glibc); elsewhere it is compiled at install time. Install python3, make and a ' +
        'C++17 compiler, then run `npm rebuild tfm-provision`. The simulator (--sim, tfm-provision/testing) works without it.',
      { cause: error },
    );
  }
  if (addon.abiVersion !== ADDON_ABI_VERSION || typeof addon.Library !== 'function' || typeof addon.Session !== 'function') {
    throw new ProbeError(
      'NATIVE_ADDON_UNAVAILABLE',
      `The tfm-provision native addon does not match this version of the package (addon ABI ${String(addon.abiVersion)}, ` +
        `expected ${ADDON_ABI_VERSION}). Rebuild it with \`npm rebuild tfm-provision\`.`,
    );
  }
  closeProbesOnExit(addon);
  if (nativeAddon === undefined) defaultAddon = addon;
  return addon;
}

const EXIT_HOOK = Symbol.for('tfm-provision.closeProbesOnExit');

/**
 * Node runs the addon's environment cleanup (which closes open probes, ending nrfjprog's worker
 * processes) when the event loop ends, but not on process.exit(); the 'exit' event covers that.
 * Marked on the addon object, which is shared by every loader of the same .node file.
 */
function closeProbesOnExit(addon: NativeAddon): void {
  const marked = addon as NativeAddon & { [EXIT_HOOK]?: boolean };
  if (marked[EXIT_HOOK] || typeof addon.shutdown !== 'function') return;
  marked[EXIT_HOOK] = true;
  process.once('exit', () => addon.shutdown());
}

/** Turns what the addon threw or rejected with into a ProbeError (codes are set in C++). */
export function toProbeError(error: unknown): ProbeError {
  if (error instanceof ProbeError) return error;
  // Not `instanceof Error`: the addon's errors come from the realm it was loaded in, which under
  // Jest (vm contexts) is not the caller's.
  if (typeof error !== 'object' || error === null || typeof (error as { message?: unknown }).message !== 'string') {
    return new ProbeError('INTERNAL_ERROR', String(error));
  }
  const fields = error as { message: string; code?: unknown; vendorCode?: unknown; operation?: unknown };
  const known = isErrorCode(fields.code);
  return new ProbeError(known ? (fields.code as never) : 'INTERNAL_ERROR', fields.message, {
    vendorCode: typeof fields.vendorCode === 'number' ? fields.vendorCode : undefined,
    operation: typeof fields.operation === 'string' ? fields.operation : undefined,
    details: known || fields.code === undefined ? undefined : { nativeCode: String(fields.code) },
  });
}

function u32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ProbeError('INVALID_PARAMETER', `${name} must be an integer from 0 to 0xFFFFFFFF, got ${String(value)}.`);
  }
  return value;
}

function byte(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new ProbeError('INVALID_PARAMETER', `${name} must be an integer from 0 to 255, got ${String(value)}.`);
  }
  return value;
}

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warning', 'error', 'critical'];
const CORES: readonly CoreName[] = ['application', 'network', 'modem'];
const RESETS: readonly ResetKind[] = ['system', 'debug', 'pin'];
const FAMILIES: readonly DeviceFamily[] = ['NRF53', 'NRF91', 'UNKNOWN'];

const BATCH_WORDS = 8;
const BATCH_KIND = { read: 1, readU32: 2, write: 3, writeU32: 4, selectCore: 5, halt: 6 } as const;
const BATCH_NVMC = 1;
const BATCH_EXPECT = 2;
const BATCH_ONLY_IF = 4;
const BATCH_SKIPPED = 2;

interface EncodedBatch {
  program: Uint32Array;
  data: Uint8Array;
  /** Per operation: where its result starts in the result bytes (-1: none). */
  outOffsets: number[];
}

/** The program and data native/session.cc Batch() takes; validates like the single calls do. */
function encodeBatch(operations: readonly ProbeOperation[]): EncodedBatch {
  const program = new Uint32Array(operations.length * BATCH_WORDS);
  let dataBytes = 0;
  for (const op of operations) {
    if (op.op === 'write') dataBytes += op.data.length;
    else if (op.op === 'read' && op.expect !== undefined) dataBytes += op.length;
    else if (op.op === 'readU32' && op.expect !== undefined) dataBytes += 4;
  }
  const data = new Uint8Array(dataBytes);
  const outOffsets: number[] = [];
  let dataOffset = 0;
  let outOffset = operations.length;
  operations.forEach((op, i) => {
    const w = i * BATCH_WORDS;
    outOffsets.push(-1);
    switch (op.op) {
      case 'read': {
        program[w] = BATCH_KIND.read;
        program[w + 2] = u32(op.address, 'address');
        program[w + 3] = u32(op.length, 'length');
        if (op.expect !== undefined) {
          if (op.expect.length !== op.length) throw new ProbeError('INVALID_PARAMETER', `batch operation ${i}: expect must be ${op.length} bytes.`);
          program[w + 1]! |= BATCH_EXPECT;
          program[w + 4] = dataOffset;
          data.set(op.expect, dataOffset);
          dataOffset += op.length;
        }
        if (op.onlyIf !== undefined) {
          program[w + 1]! |= BATCH_ONLY_IF;
          program[w + 5] = u32(op.onlyIf.op, 'onlyIf.op');
          program[w + 6] = u32(op.onlyIf.offset, 'onlyIf.offset');
          program[w + 7] = u32(op.onlyIf.mask, 'onlyIf.mask');
        }
        outOffsets[i] = outOffset;
        outOffset += op.length;
        break;
      }
      case 'readU32':
        program[w] = BATCH_KIND.readU32;
        program[w + 2] = u32(op.address, 'address');
        if (op.expect !== undefined) {
          program[w + 1] = BATCH_EXPECT;
          program[w + 4] = dataOffset;
          new DataView(data.buffer).setUint32(dataOffset, u32(op.expect, 'expect'), true);
          dataOffset += 4;
        }
        outOffsets[i] = outOffset;
        outOffset += 4;
        break;
      case 'write':
        if (!(op.data instanceof Uint8Array) && Object.prototype.toString.call(op.data) !== '[object Uint8Array]') {
          throw new ProbeError('INVALID_PARAMETER', 'data must be a Uint8Array.');
        }
        program[w] = BATCH_KIND.write;
        program[w + 1] = op.nvmc === true ? BATCH_NVMC : 0;
        program[w + 2] = u32(op.address, 'address');
        program[w + 3] = op.data.length;
        program[w + 4] = dataOffset;
        data.set(op.data, dataOffset);
        dataOffset += op.data.length;
        break;
      case 'writeU32':
        program[w] = BATCH_KIND.writeU32;
        program[w + 1] = op.nvmc === true ? BATCH_NVMC : 0;
        program[w + 2] = u32(op.address, 'address');
        program[w + 3] = u32(op.value, 'value');
        break;
      case 'selectCore':
        if (!CORES.includes(op.core)) throw new ProbeError('INVALID_PARAMETER', `Unknown core '${String(op.core)}'.`);
        program[w] = BATCH_KIND.selectCore;
        program[w + 3] = CORES.indexOf(op.core);
        break;
      case 'halt':
        program[w] = BATCH_KIND.halt;
        break;
      default:
        throw new ProbeError('INVALID_PARAMETER', `batch operation ${i}: unknown operation '${String((op as { op?: unknown }).op)}'.`);
    }
  });
  return { program, data, outOffsets };
}

/** The addon's batch result as the ProbeBatchResult callers read (views into one buffer). */
function decodeBatch(operations: readonly ProbeOperation[], encoded: EncodedBatch, native: NativeBatchResult): ProbeBatchResult {
  const raw = native.bytes;
  const bytes = raw instanceof Uint8Array ? raw : new Uint8Array((raw as ArrayBufferView).buffer, (raw as ArrayBufferView).byteOffset, (raw as ArrayBufferView).byteLength);
  const results: Array<Uint8Array | number | undefined> = new Array(operations.length).fill(undefined);
  const skipped: boolean[] = new Array(operations.length).fill(false);
  const ran = native.stoppedAt < 0 ? operations.length : native.stoppedAt + (native.mismatch ? 1 : 0);
  for (let i = 0; i < ran; i++) {
    const op = operations[i]!;
    if (bytes[i] === BATCH_SKIPPED) {
      skipped[i] = true;
      continue;
    }
    const at = encoded.outOffsets[i]!;
    if (op.op === 'read') results[i] = bytes.subarray(at, at + op.length);
    else if (op.op === 'readU32') results[i] = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
  }
  const result: ProbeBatchResult = { results, skipped, wipe: () => bytes.fill(0) };
  if (native.stoppedAt >= 0) {
    result.stoppedAt = native.stoppedAt;
    if (native.mismatch) result.mismatch = true;
    else result.error = toProbeError(native.error);
  }
  return result;
}

export class NativeBinding implements ProbeBinding {
  readonly backend: NativeBackendName;
  readonly #addon: NativeAddon;
  readonly #library: NativeLibraryHandle;
  readonly #info: LibraryInfo;
  readonly #callTimeoutMs: number;

  /** Loads the addon and the vendor library; throws a ProbeError (VENDOR_LIBRARY_NOT_FOUND, ...) at once. */
  constructor(options: NativeBindingOptions = {}) {
    this.#addon = loadNativeAddon(options.nativeAddon);
    const choice = options.backend ?? 'auto';
    if (choice !== 'auto' && choice !== 'nrfjprog' && choice !== 'jlink') {
      throw new ProbeError('INVALID_PARAMETER', `backend must be 'nrfjprog', 'jlink' or 'auto', not '${String(choice)}'.`);
    }
    const timeout = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (!Number.isInteger(timeout) || timeout <= 0) {
      throw new ProbeError('INVALID_PARAMETER', `callTimeoutMs must be a positive integer, got ${String(timeout)}.`);
    }
    this.#callTimeoutMs = timeout;
    this.#library = choice === 'auto' ? this.#loadFirstUsable(options.library) : this.#load(choice, options.library);
    const info = this.#library.info();
    this.backend = info.backend;
    this.#info = { backend: info.backend, path: info.path, version: info.version, simulated: info.simulated };
  }

  async list(): Promise<ProbeInfo[]> {
    try {
      return await this.#library.list();
    } catch (error) {
      throw toProbeError(error);
    }
  }

  async open(serialNumber: number, options: OpenOptions = {}): Promise<ProbeSession> {
    u32(serialNumber, 'serialNumber');
    const family = options.family ?? 'UNKNOWN';
    if (!FAMILIES.includes(family)) throw new ProbeError('INVALID_PARAMETER', `Unknown device family '${String(family)}'.`);
    const speedKhz = options.speedKhz ?? 0; // 0: the backend's default
    if (!Number.isInteger(speedKhz) || speedKhz < 0 || speedKhz > 100_000) {
      throw new ProbeError('INVALID_PARAMETER', `speedKhz must be an integer from 1 to 100000, got ${String(speedKhz)}.`);
    }
    const native = new this.#addon.Session(this.#library);
    const session = new NativeProbeSession(native, serialNumber, this.backend, this.#library, this.#callTimeoutMs);
    try {
      await native.open(serialNumber, speedKhz, family);
    } catch (error) {
      await session.close().catch(() => undefined); // releases a half-opened vendor instance
      throw toProbeError(error);
    }
    return session;
  }

  async libraryInfo(): Promise<LibraryInfo> {
    return { ...this.#info };
  }

  #load(backend: NativeBackendName, library: string | undefined): NativeLibraryHandle {
    try {
      return new this.#addon.Library(backend, library);
    } catch (error) {
      throw toProbeError(error);
    }
  }

  #loadFirstUsable(library: string | undefined): NativeLibraryHandle {
    const failures: ProbeError[] = [];
    for (const backend of ['nrfjprog', 'jlink'] as const) {
      try {
        return this.#load(backend, library);
      } catch (error) {
        const failure = toProbeError(error);
        if (failure.code !== 'VENDOR_LIBRARY_NOT_FOUND' && failure.code !== 'VENDOR_LIBRARY_UNSUPPORTED') throw failure;
        failures.push(failure);
      }
    }
    const unsupported = failures.some((f) => f.code === 'VENDOR_LIBRARY_UNSUPPORTED');
    throw new ProbeError(
      unsupported ? 'VENDOR_LIBRARY_UNSUPPORTED' : 'VENDOR_LIBRARY_NOT_FOUND',
      `No usable probe library (nrfjprog or J-Link) was found.\nnrfjprog: ${failures[0].message}\nJ-Link: ${failures[1].message}`,
      { details: { attempts: failures.map((f) => ({ code: f.code, message: f.message })) } },
    );
  }
}

/** Loads the addon and a vendor library; the same as `new NativeBinding(options)`, as a promise. */
export async function openBinding(options: NativeBindingOptions = {}): Promise<NativeBinding> {
  return new NativeBinding(options);
}

interface InFlightCall {
  started: number;
  reject: (error: unknown) => void;
}

class NativeProbeSession implements ProbeSession {
  readonly serialNumber: number;
  readonly backend: NativeBackendName;
  readonly #simulated: boolean;
  #native: NativeSessionHandle | undefined;
  #closing: Promise<void> | undefined;
  readonly #callTimeoutMs: number;
  /** Set when a vendor call hung past the timeout: the probe needs a power cycle. */
  #hung: ProbeError | undefined;
  /** A close() waiting behind a call: told when that call times out. */
  readonly #onHung = new Set<() => void>();
  readonly #listeners = new Set<ProbeLogListener>();
  /** Calls sent to the probe's thread and not returned yet, oldest first. */
  readonly #inFlight: InFlightCall[] = [];
  #watchdog: NodeJS.Timeout | undefined;
  /** The addon drops vendor log lines (no listener since the first call); onLog() turns it back on. */
  #logOff = false;

  constructor(native: NativeSessionHandle, serialNumber: number, backend: NativeBackendName, library: NativeLibraryHandle, callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS) {
    this.#native = native;
    this.#callTimeoutMs = callTimeoutMs;
    this.serialNumber = serialNumber;
    this.backend = backend;
    // Only the addon decides: true when the loaded vendor library exports the fake's marker symbol.
    // Seeded (reproducible) keys are allowed on simulated sessions only, so this must not be a
    // property anyone can assign.
    this.#simulated = library.info().simulated === true;
    // A property of the native object, not a persistent reference held by C++: a session dropped
    // without close() stays collectable, and its finalizer closes the probe.
    native.onlog = (level, source, message) => this.#emit(level, source, message);
  }

  /** Whether the vendor library is the test fake (its marker symbol); read-only. */
  get simulated(): boolean {
    return this.#simulated;
  }

  async deviceInfo(): Promise<DeviceInfo> {
    const info = await this.#call((n) => n.deviceInfo());
    const family: DeviceFamily = info.family === 'NRF53' || info.family === 'NRF91' ? info.family : 'UNKNOWN';
    return info.versionCode === undefined ? { family } : { family, versionCode: info.versionCode };
  }

  selectCore(core: CoreName): Promise<void> {
    if (!CORES.includes(core)) return Promise.reject(new ProbeError('INVALID_PARAMETER', `Unknown core '${String(core)}'.`));
    return this.#call((n) => n.selectCore(core));
  }

  async read(address: number, length: number): Promise<Uint8Array> {
    const bytes: ArrayBufferView = await this.#call((n) => n.read(u32(address, 'address'), u32(length, 'length')));
    // Same bytes, no copy; a Uint8Array of the caller's realm when the addon lives in another (Jest).
    return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  write(address: number, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    return this.#call((n) => {
      if (!(data instanceof Uint8Array) && Object.prototype.toString.call(data) !== '[object Uint8Array]') {
        throw new ProbeError('INVALID_PARAMETER', 'data must be a Uint8Array.');
      }
      return n.write(u32(address, 'address'), data, options.nvmc === true);
    });
  }

  readU32(address: number): Promise<number> {
    return this.#call((n) => n.readU32(u32(address, 'address')));
  }

  writeU32(address: number, value: number, options: WriteOptions = {}): Promise<void> {
    return this.#call((n) => n.writeU32(u32(address, 'address'), u32(value, 'value'), options.nvmc === true));
  }

  erasePage(address: number): Promise<void> {
    return this.#call((n) => n.erasePage(u32(address, 'address')));
  }

  eraseAll(): Promise<void> {
    return this.#call((n) => n.eraseAll());
  }

  recover(): Promise<void> {
    return this.#call((n) => n.recover());
  }

  readAccessPort(apIndex: number, register: number): Promise<number> {
    return this.#call((n) => n.readAccessPort(byte(apIndex, 'apIndex'), byte(register, 'register')));
  }

  writeAccessPort(apIndex: number, register: number, value: number): Promise<void> {
    return this.#call((n) => n.writeAccessPort(byte(apIndex, 'apIndex'), byte(register, 'register'), u32(value, 'value')));
  }

  reset(kind: ResetKind): Promise<void> {
    if (!RESETS.includes(kind)) return Promise.reject(new ProbeError('INVALID_PARAMETER', `Unknown reset kind '${String(kind)}'.`));
    return this.#call((n) => n.reset(kind));
  }

  halt(): Promise<void> {
    return this.#call((n) => n.halt());
  }

  go(): Promise<void> {
    return this.#call((n) => n.go());
  }

  onLog(listener: ProbeLogListener): () => void {
    this.#listeners.add(listener);
    if (this.#logOff) {
      this.#logOff = false;
      this.#native?.setLogListening?.(true);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && !this.#logOff) {
        this.#logOff = true;
        this.#native?.setLogListening?.(false);
      }
    };
  }

  close(): Promise<void> {
    if (!this.#closing) {
      const native = this.#native;
      this.#native = undefined; // later calls fail with PROBE_CLOSED; queued ones still run first
      if (native && this.#hung) {
        // Queued behind the hung call, it would never settle: the close is still queued (it runs
        // if the vendor call ever returns) but not awaited.
        native.close().catch(() => undefined);
        native.abandon?.();
        this.#closing = Promise.resolve();
        return this.#closing;
      }
      this.#closing = native ? this.#closeWithin(native) : Promise.resolve();
    }
    return this.#closing;
  }

  /** The close, unless a call before it or the close itself hangs past the timeout. */
  async #closeWithin(native: NativeSessionHandle): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let gaveUp: (() => void) | undefined;
    let closeHung = false;
    const stop = new Promise<void>((resolve) => {
      gaveUp = resolve;
      timer = setTimeout(() => {
        closeHung = true;
        resolve();
      }, this.#callTimeoutMs);
    });
    this.#onHung.add(gaveUp!);
    try {
      await Promise.race([
        native.close().then(
          () => undefined,
          (error: unknown) => {
            throw toProbeError(error);
          },
        ),
        stop,
      ]);
    } finally {
      clearTimeout(timer);
      this.#onHung.delete(gaveUp!);
    }
    if (closeHung) {
      native.abandon?.();
      throw (this.#hung ??= this.#timeoutError('close'));
    }
  }

  #timeoutError(what: string): ProbeError {
    return new ProbeError(
      'PROBE_TIMEOUT',
      `A ${this.backend} ${what} on probe ${this.serialNumber} did not return within ${this.#callTimeoutMs} ms: the probe or its ` +
        'vendor library hangs. Power-cycle the probe (unplug it and plug it back in) and the target, then start again.',
    );
  }

  /**
   * One call on the probe's thread. Calls there run in order, so the oldest call in flight is the
   * first that can hang: one watchdog timer per session (not one timer per call) fires at its
   * deadline and fails every call older than callTimeoutMs with PROBE_TIMEOUT.
   */
  #call<T>(run: (native: NativeSessionHandle) => Promise<T>): Promise<T> {
    const native = this.#native;
    if (!native) return Promise.reject(new ProbeError('PROBE_CLOSED', `Probe ${this.serialNumber} is closed.`));
    if (this.#hung) return Promise.reject(this.#hung);
    // Lines that arrive once calls are under way while nobody listens are dropped in the addon.
    if (!this.#logOff && this.#listeners.size === 0) {
      this.#logOff = true;
      native.setLogListening?.(false);
    }
    let pending: Promise<T>;
    try {
      pending = run(native);
    } catch (error) {
      return Promise.reject(toProbeError(error));
    }
    return new Promise<T>((resolve, reject) => {
      const entry: InFlightCall = { started: performance.now(), reject };
      this.#inFlight.push(entry);
      this.#watch();
      pending.then(
        (value) => {
          if (this.#settle(entry)) deliver(() => resolve(value));
        },
        (error: unknown) => {
          if (this.#settle(entry)) deliver(() => reject(toProbeError(error)));
        },
      );
    });
  }

  /** Removes a call that returned; false when the watchdog already failed it. */
  #settle(entry: InFlightCall): boolean {
    const queue = this.#inFlight;
    const at = queue[0] === entry ? 0 : queue.indexOf(entry);
    if (at < 0) return false;
    if (at === 0) queue.shift();
    else queue.splice(at, 1);
    // An idle session holds no timer: it would keep the process alive and the session from
    // being collected (a dropped session's finalizer closes its probe).
    if (queue.length === 0 && this.#watchdog !== undefined) {
      clearTimeout(this.#watchdog);
      this.#watchdog = undefined;
    }
    return true;
  }

  #watch(): void {
    if (this.#watchdog === undefined) this.#watchdog = setTimeout(() => this.#onWatchdog(), this.#callTimeoutMs);
  }

  #onWatchdog(): void {
    this.#watchdog = undefined;
    const now = performance.now();
    const queue = this.#inFlight;
    // libuv timers are whole milliseconds counted from the loop's cached clock, so a timer due after
    // callTimeoutMs can run when performance.now() shows a fraction less. Without the slack the
    // watchdog would put itself off by 1 ms, and a close queued behind the hung call (its own timer
    // set a moment later) would time out first and report the close as the call that hung.
    const due = this.#callTimeoutMs - WATCHDOG_SLACK_MS;
    while (queue.length > 0 && now - queue[0]!.started >= due) {
      const entry = queue.shift()!;
      if (this.#hung === undefined) {
        this.#hung = this.#timeoutError('call');
        this.#native?.abandon?.();
        for (const waiting of [...this.#onHung]) waiting();
      }
      entry.reject(this.#hung);
    }
    if (queue.length > 0) this.#watchdog = setTimeout(() => this.#onWatchdog(), Math.max(1, Math.ceil(queue[0]!.started + this.#callTimeoutMs - now)));
  }

  batch(operations: readonly ProbeOperation[]): Promise<ProbeBatchResult> {
    let encoded: EncodedBatch;
    try {
      if (!Array.isArray(operations) || operations.length === 0) throw new ProbeError('INVALID_PARAMETER', 'A batch takes at least one operation.');
      encoded = encodeBatch(operations);
    } catch (error) {
      return Promise.reject(toProbeError(error));
    }
    try {
      return this.#call((n) => {
        if (typeof n.batch !== 'function') return runOneByOne(this, operations);
        return n.batch(encoded.program, encoded.data).then((result) => decodeBatch(operations, encoded, result));
      });
    } finally {
      // The addon copied it synchronously (or the call never started); it may hold key words.
      encoded.data.fill(0);
    }
  }

  #emit(level: string, source: string, message: string): void {
    const entry: ProbeLogEntry = {
      level: (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : 'info',
      source,
      message,
    };
    for (const listener of [...this.#listeners]) {
      try {
        listener(entry);
      } catch (error) {
        process.emitWarning(`a probe log listener threw: ${error instanceof Error ? error.message : String(error)}`, 'TfmProvisionWarning');
      }
    }
  }
}
