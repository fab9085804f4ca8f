/**
 * The station's options, events, outcomes and summary: the types a caller of runStation() and the
 * CLI's station command share, apart from the worker code in station.ts.
 */
import type { ErrorCategory, ErrorCode } from '../errors';
import type { LifecycleState } from '../targets/lifecycle';
import type { ProbeBinding, ProbeSession } from '../probe/types';
import type { ProvisionEvent } from '../provision/events';
import type { ProvisionOptions, ProvisionResult, Recovery } from '../provision/types';
import type { RandomSource } from '../random';
import type { RecordWriter, StationKey } from '../records';
import type { Registry } from '../registry/types';
import type { ChipName } from '../targets';

export type DeviceOutcomeKind = 'provisioned' | 'alreadyProvisioned' | 'refused' | 'failed' | 'interrupted' | 'dryRun';

/** Fields every device outcome has. */
interface DeviceOutcomeCommon {
  attempt: string;
  probeSerial: number;
  durationMs: number;
  startedAt: string;
  /** With a registry: the lot's quota left after this attempt (as the registry last said). */
  quotaLeft?: number;
  /** With a registry: whether it took the result ('completed') or the result waits in the local records for `registry sync` ('deferred'). */
  registry?: 'completed' | 'deferred';
}

/** The device as its preflight identified it. */
interface IdentifiedDevice {
  chip: ChipName;
  deviceId: string;
  lifecycleBefore: LifecycleState;
}

/** Provisioned (identity fields set unless the identity key was skipped), already provisioned, or a dry run. */
export interface DevicePassed extends DeviceOutcomeCommon, IdentifiedDevice {
  outcome: 'provisioned' | 'alreadyProvisioned' | 'dryRun';
  ok: true;
  started: true;
  lifecycleAfter: LifecycleState;
  /** Uncompressed hex (not on a dry run). */
  identityPublicKey?: string;
  instanceId?: string;
  /** True for 'provisioned' only. */
  afterWrite: boolean;
}

/** Fields of an outcome that did not pass. */
interface DeviceNotPassed extends DeviceOutcomeCommon, Partial<IdentifiedDevice> {
  ok: false;
  lifecycleAfter?: LifecycleState;
  errorCode: ErrorCode;
  error: string;
  /** Error category of errorCode (usage, refused, environment, device, internal). */
  category: ErrorCategory;
  /** What to do next, as ProvisionResult.recovery. */
  recovery: Recovery;
}

/** A check failed before anything was written: the device is as it was found. */
export interface DeviceRefused extends DeviceNotPassed {
  outcome: 'refused';
  started: true;
  afterWrite: false;
}

/** A probe, connection or verification error; afterWrite tells whether the device may be partly
 *  provisioned (then the identity fields of the key written are there when known). */
export interface DeviceFailed extends DeviceNotPassed {
  outcome: 'failed';
  started: true;
  afterWrite: boolean;
  identityPublicKey?: string;
  instanceId?: string;
}

/** Stopped by the station's signal before anything was written (started false: never begun, no record). */
export interface DeviceInterrupted extends DeviceNotPassed {
  outcome: 'interrupted';
  /** False for a probe the station never started on (stopped first): no attempt, no record. */
  started: boolean;
  errorCode: 'INTERRUPTED';
  afterWrite: false;
}

/** One device's outcome: a discriminated union on `outcome` (and on `ok`). */
export type DeviceOutcome = DevicePassed | DeviceRefused | DeviceFailed | DeviceInterrupted;

export interface StationSummary {
  ok: boolean;
  /** The run was stopped by its signal (Ctrl-C) before everything was done. */
  interrupted: boolean;
  counts: { passed: number; alreadyProvisioned: number; refused: number; failed: number; interrupted: number };
  devices: DeviceOutcome[];
  durationMs: number;
  /** Devices that passed or were found provisioned, per minute of station time. */
  devicesPerMinute: number;
  records?: string;
  /** Record appends that failed (the device outcome stands; the audit trail is incomplete). */
  recordErrors: string[];
  /** With a registry: the lot's quota as last seen. */
  quota?: { lot: string; quota: number; used: number; reserved: number; left: number };
  /** With a registry: attempts whose result it did not take (they wait in the records for `registry sync`). */
  registryDeferred?: number;
}

export type StationEvent =
  | { type: 'stationStart'; probes: number[]; parallel: number; watch: boolean; records?: string }
  | { type: 'deviceStart'; probe: number; attempt: string }
  | { type: 'deviceIdentified'; probe: number; attempt: string; chip: ChipName; deviceId: string }
  | { type: 'provision'; probe: number; attempt: string; event: ProvisionEvent }
  | { type: 'intentRecorded'; probe: number; attempt: string }
  | { type: 'deviceEnd'; probe: number; device: DeviceOutcome }
  | { type: 'waitingForDevice'; probe: number }
  | { type: 'waitingForRemoval'; probe: number; deviceId: string }
  | { type: 'stopping'; reason: 'signal' | 'maxDevices' | 'duration' }
  | { type: 'notice'; probe?: number; message: string; code?: string }
  /** The registry lot's quota, at the start and after each attempt that changed it. */
  | { type: 'quota'; lot: string; quota: number; used: number; reserved: number; left: number; probe?: number };

export type ProvisionFunction = (session: ProbeSession, options: ProvisionOptions) => Promise<ProvisionResult>;

export interface WatchOptions {
  /** Stop after this many devices have been started (in-flight ones finish). */
  maxDevices?: number;
  /** Stop waiting for new devices after this long (in-flight ones finish). */
  durationMs?: number;
  /** How often an idle probe looks for a device (default 500 ms). */
  pollMs?: number;
}

export interface StationOptions {
  binding: ProbeBinding;
  /** Probes to work on (already selected: see selectProbes). Default: every listed probe. */
  serialNumbers?: number[];
  /** Workers at a time (default: one per probe). */
  parallel?: number;
  /** Record file path or writer; false for none (library use only: the CLI always records). */
  records?: string | RecordWriter | false;
  /** Signs the records of a `records` path (a RecordWriter passed in brings its own). */
  stationKey?: StationKey;
  /** Options for every device's provision() (signal, hooks and events are the station's). */
  provision?: Omit<ProvisionOptions, 'signal' | 'beforeIrreversible' | 'onEvent' | 'events' | 'random'>;
  /** Random source per device (e.g. a seeded source per simulated device). Default: OS CSPRNG. */
  randomFor?: (probeSerial: number) => RandomSource | undefined;
  /** Extra options per device (e.g. the simulator's TF-M boot model for that device). */
  deviceOptions?: (probeSerial: number) => Partial<ProvisionOptions> | undefined;
  /** Stops the station: no new devices; runs that have begun writing finish. */
  signal?: AbortSignal;
  watch?: WatchOptions | false;
  /** Take the per-probe lock (default true). */
  lockProbes?: boolean;
  /** Lock namespace within the backend (simulated devices in a shared state directory). */
  lockScope?: string;
  /** Environment for the lock directory (TFM_PROVISION_LOCK_DIR). */
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: StationEvent) => void;
  toolVersion?: string;
  /**
   * The device registry: a postgresql:// URL (a pooled PgRegistry, closed at the end) or a Registry
   * object. Each device reserves one unit of `lot`'s quota before its first write (docs/registry.md).
   */
  registry?: string | Registry;
  /** The registry lot the devices count against (required with `registry`). */
  lot?: string;
  /** The provisioning sequence; injectable for tests of the station itself. */
  provisionFn?: ProvisionFunction;
}
