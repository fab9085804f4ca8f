/**
 * The probe contract. Every backend (nrfjprog library, J-Link library, simulator) implements exactly
 * this, and nothing above `probe/` knows which one it has. Modelled on serialport's
 * BindingInterface / BindingPortInterface split: a binding lists and opens, a session does transfers.
 *
 * Addresses are the CPU's 32-bit bus addresses of the currently selected core. Values are unsigned
 * 32-bit numbers (0 .. 0xFFFFFFFF). All methods are async and, for one session, run in call order.
 */

export type CoreName = 'application' | 'network' | 'modem';
export type ResetKind = 'system' | 'debug' | 'pin';
export type DeviceFamily = 'NRF53' | 'NRF91' | 'UNKNOWN';
export type BackendName = 'nrfjprog' | 'jlink' | 'sim';

export interface ProbeInfo {
  serialNumber: number;
  /** e.g. "J-Link OB-nRF5340-NordicSemi"; absent when the backend cannot tell. */
  product?: string;
  firmware?: string;
}

export interface DeviceInfo {
  family: DeviceFamily;
  /** The vendor library's device version code (nrfjprog `device_version_t`), when it has one. */
  versionCode?: number;
  /** FICR part number (e.g. 0x5340, 0x9160), when the backend reads it. */
  part?: number;
  /** FICR variant as ASCII, e.g. "QKAA". */
  variant?: string;
}

export interface LibraryInfo {
  backend: BackendName;
  /** Path of the loaded vendor library; absent for the simulator. */
  path?: string;
  /** Version of the loaded vendor library, e.g. "10.24.2" or "V7.94e". */
  version?: string;
  /** True for the simulator and for the test fake vendor library (marker symbol present). */
  simulated: boolean;
}

export interface OpenOptions {
  /** SWD clock in kHz (default 2000 for nrfjprog, 4000 for J-Link). */
  speedKhz?: number;
  /** Family hint; 'UNKNOWN' lets the backend detect it. */
  family?: DeviceFamily;
}

export interface WriteOptions {
  /**
   * true: the backend drives the NVMC of the selected core around the write (CONFIG = Wen, write,
   * wait for READY, CONFIG = Ren), as nrfjprog's `mem_control`. Required for flash and UICR
   * (including KMU key slots). false (default): a plain bus write (registers, RAM).
   */
  nvmc?: boolean;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'critical';
export interface ProbeLogEntry {
  level: LogLevel;
  /** Which part of the backend or vendor library logged it. */
  source: string;
  message: string;
}
export type ProbeLogListener = (entry: ProbeLogEntry) => void;

/**
 * One operation of a batch (ProbeSession.batch): the same probe call as the method of that name.
 * A read may carry `expect` (the batch stops there when the bytes read differ: a read-back that
 * failed, before anything after it is written) and `onlyIf` (it runs only when the 32-bit
 * little-endian word at `offset` of operation `op`'s result, an earlier read, has a bit of `mask`
 * set; otherwise it is skipped and reaches no device).
 */
export type ProbeOperation =
  | { op: 'read'; address: number; length: number; expect?: Uint8Array; onlyIf?: { op: number; offset: number; mask: number } }
  | { op: 'readU32'; address: number; expect?: number }
  | { op: 'write'; address: number; data: Uint8Array; nvmc?: boolean }
  | { op: 'writeU32'; address: number; value: number; nvmc?: boolean }
  | { op: 'selectCore'; core: CoreName }
  | { op: 'halt' };

export interface ProbeBatchResult {
  /** Per operation: the bytes a read returned, the word a readU32 returned, else undefined (also
   *  for operations that did not run or were skipped). Reads may share one buffer: wipe() zeroes it. */
  results: Array<Uint8Array | number | undefined>;
  /** Per operation: true when an `onlyIf` read was skipped. */
  skipped: boolean[];
  /** Index of the operation the batch stopped at: a read that did not match `expect`
   *  (`mismatch`), or a call that failed (`error`, the error that call alone throws). */
  stoppedAt?: number;
  mismatch?: boolean;
  error?: unknown;
  /** Zeroes every byte the batch read (results may hold key words). */
  wipe(): void;
}

export interface ProbeSession {
  readonly serialNumber: number;
  readonly backend: BackendName;
  /** True when the session is on a simulated device (simulator or fake vendor library). Seeded
   *  randomness and the identity-key wrapping model without opt-in are allowed only then. */
  readonly simulated: boolean;
  /**
   * Simulated sessions only: TF-M's first boot run on a copy of the device (lib/sim's boot
   * model). provision() and verify() use it as their default bootModel, so a device provisioned
   * on the simulator is also checked the way TF-M would take it, as the CLI does.
   */
  tfmFirstBoot?(request?: { instanceIdFormula?: '2.1' | '2.2'; challenge?: Uint8Array }): {
    ok: boolean;
    lifecycle: string;
    identityPublicKey?: string;
    instanceId?: string;
    errorCode?: string;
    message?: string;
    /** With request.challenge: the simulated TF-M's answer to one initial attestation request after the boot. */
    attestation?: { ok: boolean; token?: Uint8Array; errorCode?: string; message?: string };
  };

  deviceInfo(): Promise<DeviceInfo>;
  selectCore(core: CoreName): Promise<void>;
  read(address: number, length: number): Promise<Uint8Array>;
  write(address: number, data: Uint8Array, options?: WriteOptions): Promise<void>;
  readU32(address: number): Promise<number>;
  writeU32(address: number, value: number, options?: WriteOptions): Promise<void>;
  /** Erases the flash page that starts at `address` on the selected core. Never UICR. */
  erasePage(address: number): Promise<void>;
  /** Erases flash and UICR of the selected core (NVMC ERASEALL, or CTRL-AP ERASEALL when locked). */
  eraseAll(): Promise<void>;
  /** CTRL-AP erase-all that also reopens debug access. Destroys lifecycle and KMU keys. */
  recover(): Promise<void>;
  readAccessPort(apIndex: number, register: number): Promise<number>;
  writeAccessPort(apIndex: number, register: number, value: number): Promise<void>;
  reset(kind: ResetKind): Promise<void>;
  halt(): Promise<void>;
  go(): Promise<void>;
  /**
   * Optional: runs `operations` in order in one crossing to the probe's thread (the native binding),
   * stopping at the first that fails or whose read-back differs from `expect`. Each operation is the
   * probe call of its name, so it counts (and is faulted) as that call. Resolves with what ran;
   * rejects only when the batch could not start (closed, hung, invalid operation). Callers use
   * lib/device/batch.ts runOperations(), which runs the same operations one by one where a session
   * has no batch().
   */
  batch?(operations: readonly ProbeOperation[]): Promise<ProbeBatchResult>;
  /** Subscribes to backend and vendor-library log lines; returns the unsubscribe function. */
  onLog(listener: ProbeLogListener): () => void;
  /** Closes the probe; idempotent. Calls after close fail with PROBE_CLOSED. */
  close(): Promise<void>;
}

export interface ProbeBinding {
  readonly backend: BackendName;
  /** Serial numbers of connected probes. */
  list(): Promise<ProbeInfo[]>;
  /** Opens a probe by serial number. Unknown serial: PROBE_NOT_FOUND. */
  open(serialNumber: number, options?: OpenOptions): Promise<ProbeSession>;
  libraryInfo(): Promise<LibraryInfo>;
}
