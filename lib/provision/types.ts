/** Public types of the provisioning sequence (library API; the station and CLI build on them). */
import type { ErrorCategory, ErrorCode } from '../errors';
import type { LifecycleState } from '../device/lifecycle';
import type { InstanceIdFormula } from '../keys/instance-id';
import type { IdentityKeyWrapper } from '../keys/wrapper';
import type { RandomSource } from '../random';
import type { ChipName } from '../targets';
import type { ProvisionEvent, ProvisionEvents } from './events';
import type { ComponentName, ComponentState, PlannedWrite, StepName } from './vocabulary';
import type { ImageStrategyOptions } from '../image/inputs';

// The run's vocabulary (step, component and plan names) has its own module so that events.ts can
// use it without importing this file, which imports events.ts.
export type { StepName, ComponentName, ComponentState, PlannedWrite } from './vocabulary';

export interface StepReport {
  name: StepName;
  startedAt: string;
  durationMs: number;
  operations: number;
  ok: boolean;
  skipped?: boolean;
  detail?: string;
}

/** The simulator's TF-M first-boot model outcome (lib/sim TfmBootResult), run on a copy of the device. */
export interface TfmBootOutcome {
  ok: boolean;
  /** The lifecycle TF-M leaves, in the library's one spelling. */
  lifecycle: LifecycleState;
  identityPublicKey?: string;
  instanceId?: string;
  /** Why TF-M refused the device (HUK_MISSING, IDENTITY_KEY_MISSING, TFM_LIFECYCLE_REFUSED, ...). */
  errorCode?: ErrorCode;
  message?: string;
  /** After a boot to SECURED: the simulated TF-M's answer to one initial attestation request. */
  attestation?: { ok: boolean; token?: Uint8Array; errorCode?: string; message?: string };
}
/** What the run asks of the boot model: the TF-M it targets, and the challenge of the attestation
 *  request it makes after the boot (psa_initial_attest_get_token). */
export interface BootModelRequest {
  instanceIdFormula?: InstanceIdFormula;
  challenge?: Uint8Array;
}
export type BootModel = (request?: BootModelRequest) => TfmBootOutcome | Promise<TfmBootOutcome>;

/** Handed to beforeIrreversible: everything known before the first irreversible write, no secrets. */
export interface IrreversibleContext {
  chip: ChipName;
  deviceId: string;
  lifecycle: LifecycleState;
  plan: PlannedWrite[];
  identityPublicKey?: { hex: string; pem: string };
  instanceId?: string;
  /** The TF-M formula instanceId follows ('2.1' or '2.2'; keys/instance-id.ts). */
  instanceIdFormula?: InstanceIdFormula;
  implementationId: string;
}

/** 'host': the host generates and writes the keys. 'image': the stock provisioning image does it on
 *  the chip, driven over the probe (lib/image, docs/image-strategy.md). */
export type ProvisionStrategy = 'host' | 'image';

/** Options of the image strategy (strategy: 'image'): image, netImage, app, console, imageTimeoutMs, ... */
export interface ProvisionOptions extends ImageStrategyOptions {
  /** Refuse (CHIP_MISMATCH) unless FICR identifies this chip. Default: whatever FICR says. */
  chip?: ChipName;
  /** Source of MKEK, MEXT and the identity key. Default: the OS CSPRNG. Seeded sources only on simulated sessions. */
  random?: RandomSource;
  /** 'skip' provisions everything but the identity key. Default 'generate'. */
  identityKey?: 'generate' | 'skip';
  /** How the identity key is encrypted for slots 6/7. Default: the wrapping model (simulator truth). */
  identityWrapper?: IdentityKeyWrapper;
  /** Accept a model wrapper on a non-simulated session (experiments on a dev kit: TF-M cannot decrypt it). */
  allowModelWrapper?: boolean;
  /** Provision a device with UICR.ERASEPROTECT set. Refused (ERASE_PROTECTED) otherwise: erase-all,
   *  the only recovery from an interrupted run, is blocked on such a device. */
  allowEraseProtected?: boolean;
  /** 32 bytes; default the sample's AA..DD pattern. */
  implementationId?: Uint8Array;
  /** Preflight and plan only; nothing is written. */
  dryRun?: boolean;
  events?: ProvisionEvents;
  onEvent?: (event: ProvisionEvent) => void;
  /** Honoured until the first irreversible write; after it the sequence runs to the end (see docs). */
  signal?: AbortSignal;
  /** Simulator only: TF-M first boot on a copy of the device, run as the last verification. */
  bootModel?: BootModel;
  /**
   * The TF-M version the device will boot, which decides the instance ID reported (results, records):
   * '2.1' (TF-M up to 2.1.x, NCS up to v3.1: 0x01 || SHA-256(public key)) or '2.2' (TF-M 2.2.0 and
   * later, NCS v3.2 and later: 0x01 || SHA-256(COSE_Key)); any 2.x version such as '2.1.2' or '2.3'
   * is accepted and mapped. Default '2.2'.
   */
  tfmVersion?: string;
  /** Called after keys are generated and before the first irreversible write (audit record, typed
   *  confirmation). Throwing (or rejecting) stops the run with nothing written. */
  beforeIrreversible?: (context: IrreversibleContext) => void | Promise<void>;
  strategy?: ProvisionStrategy;
}

export interface TfmErrorJson {
  code: ErrorCode;
  message: string;
  category: ErrorCategory;
  afterWrite: boolean;
  details?: Record<string, unknown>;
  [key: string]: unknown;
}

export type ProvisionOutcome = 'provisioned' | 'alreadyProvisioned' | 'dryRun' | 'refused' | 'failed';

/**
 * What the operator does next, typed so scripts need not parse messages:
 * - 'none': nothing (it worked), or nothing a re-run would change (fix the cause named by the error);
 * - 'rerun': run provision again (nothing was written, or what was written a re-run finishes);
 * - 'recover-then-rerun': `tfm-provision recover` (an erase-all), then provision again.
 */
export type Recovery = 'none' | 'rerun' | 'recover-then-rerun';

/** Fields every ProvisionResult has, whatever its outcome. */
export interface ProvisionResultCommon {
  strategy: ProvisionStrategy;
  implementationId: string;
  identityWrapper?: string;
  simulated: boolean;
  steps: StepReport[];
  operations: number;
  /** Non-volatile writes (through the NVMC: UICR, OTP, KMU); 0 on a dry run or a re-run of a provisioned
   *  device. Register writes that reading needs (KMU slot selection, FORCEOFF) are not counted. */
  writes: number;
  durationMs: number;
  warnings: string[];
}

/** The device as the preflight read it: set on every outcome once the preflight ran. */
export interface PreflightFacts {
  chip: ChipName;
  deviceId: string;
  lifecycleBefore: LifecycleState;
  /** The diagnosis of the preflight's readings. */
  components: Partial<Record<ComponentName, ComponentState>>;
  present: ComponentName[];
  missing: ComponentName[];
}

/** The identity key this run generated (or the boot model reported), and the ID TF-M attests with. */
export interface IdentityFacts {
  /** Absent when the identity key was skipped (identityKey: 'skip') and no boot model reported one. */
  identityPublicKey?: { hex: string; pem: string };
  instanceId?: string;
  /** Which TF-M's instance-ID formula instanceId follows: '2.1' or '2.2' (the tfmVersion option). */
  instanceIdFormula?: InstanceIdFormula;
}

/** Provisioned and verified by read-back (and by the boot model when there is one). */
export interface ProvisionedResult extends ProvisionResultCommon, PreflightFacts, IdentityFacts {
  ok: true;
  outcome: 'provisioned';
  lifecycleAfter: LifecycleState;
  plan: PlannedWrite[];
  verification: VerifiedResult;
  afterWrite: true;
  recovery: 'none';
}

/** Found complete and verified from what is on the chip; nothing was written. */
export interface AlreadyProvisionedResult extends ProvisionResultCommon, PreflightFacts, IdentityFacts {
  ok: true;
  outcome: 'alreadyProvisioned';
  lifecycleAfter: LifecycleState;
  verification: VerifiedResult;
  afterWrite: false;
  recovery: 'none';
}

/** A dry run: the preflight and the plan; nothing was written and no key was generated. */
export interface DryRunResult extends ProvisionResultCommon, PreflightFacts {
  ok: true;
  outcome: 'dryRun';
  lifecycleAfter: LifecycleState;
  plan: PlannedWrite[];
  afterWrite: false;
  recovery: 'none';
}

/** Fields of a result that did not succeed. */
interface FailureFacts {
  ok: false;
  errorCode: ErrorCode;
  error: TfmErrorJson;
  /** What to do next (see Recovery). */
  recovery: Recovery;
}

/**
 * Stopped before anything irreversible was written: the device is as it was found (no key reached
 * it, so no identity fields). The preflight's facts are there when it ran before the stop.
 */
interface StoppedBeforeWrite extends ProvisionResultCommon, Partial<PreflightFacts>, FailureFacts {
  afterWrite: false;
  lifecycleAfter?: LifecycleState;
  plan?: PlannedWrite[];
  verification?: VerifyResult;
  /** 'preflight' when present/missing are the preflight's readings (absent when it did not run). */
  componentsFrom?: 'preflight';
}

/** A check failed before anything was written (a device state, a policy, an option): device unchanged. */
export interface RefusedResult extends StoppedBeforeWrite {
  outcome: 'refused';
}

/** A probe or verification error before anything was written: device unchanged. */
export interface FailedBeforeWriteResult extends StoppedBeforeWrite {
  outcome: 'failed';
}

/**
 * A failure that followed the first irreversible write: the device may be partly provisioned.
 * present/missing are read from the device again ('device'), or absent when it could not be read
 * ('unreadable'); recovery says whether a re-run finishes it or an erase-all must come first.
 */
export interface FailedAfterWriteResult extends ProvisionResultCommon, Omit<PreflightFacts, 'present' | 'missing'>, IdentityFacts, Omit<FailureFacts, 'recovery'> {
  outcome: 'failed';
  afterWrite: true;
  /** Known when a read after the writes got as far as the lifecycle. */
  lifecycleAfter?: LifecycleState;
  plan: PlannedWrite[];
  verification?: VerifyResult;
  componentsFrom: 'device' | 'unreadable';
  present?: ComponentName[];
  missing?: ComponentName[];
  recovery: Exclude<Recovery, 'none'>;
}

export type FailedResult = FailedBeforeWriteResult | FailedAfterWriteResult;

/**
 * provision() resolves with this for every outcome; it does not throw for device states, policy
 * refusals or probe failures (use provisionOrThrow() for a throwing variant). A discriminated union
 * on `outcome` (and on `ok`, and for 'failed' on `afterWrite`): narrow before reading the fields
 * only some outcomes have.
 * - ok (true): 'provisioned' (verified), 'alreadyProvisioned' (verified from what is on the chip),
 *   'dryRun' (a plan).
 * - 'refused': a check failed before anything was written (afterWrite false; device unchanged).
 * - 'failed': a probe or verification error; afterWrite tells whether anything irreversible was
 *   written, and only then are recovery 'recover-then-rerun' and the identity fields possible.
 */
export type ProvisionResult = ProvisionedResult | AlreadyProvisionedResult | DryRunResult | RefusedResult | FailedResult;

/**
 * Every field of any outcome, optional where some outcome lacks it. Each ProvisionResult is
 * assignable to it, for code that reads a result without branching on its outcome (a log line, a
 * record): `const fields: ProvisionResultFields = result`. It cannot be assigned back.
 */
export interface ProvisionResultFields extends ProvisionResultCommon, Partial<PreflightFacts>, IdentityFacts {
  ok: boolean;
  outcome: ProvisionOutcome;
  lifecycleAfter?: LifecycleState;
  plan?: PlannedWrite[];
  verification?: VerifyResult;
  afterWrite: boolean;
  recovery: Recovery;
  componentsFrom?: 'preflight' | 'device' | 'unreadable';
  errorCode?: ErrorCode;
  error?: TfmErrorJson;
}

/** The results that succeeded (ok true). */
export type SuccessfulProvisionResult = ProvisionedResult | AlreadyProvisionedResult | DryRunResult;

export interface VerifyOptions {
  chip?: ChipName;
  /** Expect the identity key slots ('generate', default) or not ('skip'). */
  identityKey?: 'generate' | 'skip';
  /** Expected implementation ID (default the sample's AA..DD). */
  implementationId?: Uint8Array;
  /** Accepted lifecycle states. Default PROVISIONING or SECURED (TF-M's first boot moves it on). */
  lifecycle?: LifecycleState[];
  /** The 32 bytes written to slots 6/7: checked exactly (provision() passes them). Not modified. */
  identityBlob?: Uint8Array;
  /** How the identity key slots are judged: 'contents' (default: DEST/PERM and VALUE written, or equal
   *  to identityBlob) or 'perm' (PERM only, as identity_key_is_written() did: the image strategy,
   *  where the chip encrypted the key and its contents are unknown to the host). */
  identityKeyCheck?: 'contents' | 'perm';
  /** The public key that the boot model must attest with (uncompressed hex). */
  identityPublicKey?: string;
  bootModel?: BootModel;
  /** The TF-M version the device boots (as ProvisionOptions.tfmVersion); decides the instance ID. */
  tfmVersion?: string;
  onEvent?: (event: ProvisionEvent) => void;
}

export interface VerifyCheck {
  name: string;
  ok: boolean;
  expected: string;
  actual: string;
}

/** Fields of every verify() result. */
export interface VerifyResultCommon {
  checks: VerifyCheck[];
  boot?: Omit<TfmBootOutcome, 'attestation'> & { identityMatches?: boolean };
  /** The simulated TF-M's attestation token checked after the boot (lib/attest): ok, the failed
   *  checks' codes, the token (hex) and the challenge it answered. */
  attestation?: { ok: boolean; errorCodes: string[]; token?: string; challenge?: string; profile?: string; message: string };
  identityPublicKey?: { hex: string; pem: string };
  instanceId?: string;
  instanceIdFormula?: InstanceIdFormula;
  operations: number;
  durationMs: number;
}

/** Every check passed: the device was identified and its lifecycle read. */
export interface VerifiedResult extends VerifyResultCommon {
  ok: true;
  chip: ChipName;
  deviceId: string;
  lifecycle: LifecycleState;
}

/** A check failed (VERIFY_FAILED, with the failed checks) or the device could not be read (a probe
 *  error): what was read before that is there. */
export interface NotVerifiedResult extends VerifyResultCommon {
  ok: false;
  chip?: ChipName;
  deviceId?: string;
  lifecycle?: LifecycleState;
  errorCode: ErrorCode;
  error: TfmErrorJson;
}

/** verify() resolves with this for every outcome: a discriminated union on `ok`. */
export type VerifyResult = VerifiedResult | NotVerifiedResult;
