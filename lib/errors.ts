/**
 * One error type for the whole package. Users branch on `code`, never on the message text.
 *
 * Codes are grouped by where they arise, each with its category (which picks the exit code). Add a
 * code here (with its category) rather than inventing strings at a throw site, and give it a row in
 * docs/errors.md (test/package/error-codes-doc.test.ts fails until it has one). The operator-facing
 * text is the message at the throw site; the code has no default hint.
 */

export const ERROR_CODES = {
  // probe / vendor library
  VENDOR_LIBRARY_NOT_FOUND: 'environment',
  VENDOR_LIBRARY_UNSUPPORTED: 'environment',
  VENDOR_LIBRARY_ERROR: 'environment',
  /** The library file is damaged (truncated): refused before it is loaded. */
  VENDOR_LIBRARY_INVALID: 'environment',
  NATIVE_ADDON_UNAVAILABLE: 'environment',
  PROBE_NOT_FOUND: 'environment',
  NO_PROBES: 'environment',
  PROBE_BUSY: 'environment',
  /** Another process has the same simulator state file open (--sim FILE): one run per file. */
  SIM_STATE_BUSY: 'environment',
  PROBE_CLOSED: 'environment',
  PROBE_DISCONNECTED: 'environment',
  CANNOT_CONNECT: 'environment',
  LOW_VOLTAGE: 'environment',
  WRONG_FAMILY: 'refused',
  UNKNOWN_DEVICE: 'refused',
  DEVICE_PROTECTED: 'refused',
  ERASE_PROTECTED: 'refused',
  NOT_AVAILABLE_BECAUSE_MPU_CONFIG: 'refused',
  COPROCESSOR_DISABLED: 'refused',
  NOT_AVAILABLE_BECAUSE_TRUST_ZONE: 'refused',
  NOT_AVAILABLE_BECAUSE_BPROT: 'refused',
  NETWORK_CORE_FORCED_OFF: 'refused',
  NVMC_ERROR: 'device',
  NVMC_TIMEOUT: 'device',
  RECOVER_FAILED: 'device',
  VENDOR_TIMEOUT: 'environment',
  /** A vendor call did not return in time: the probe (or its worker) hangs and must be power-cycled. */
  PROBE_TIMEOUT: 'environment',
  VENDOR_VERIFY_ERROR: 'device',
  RAM_IS_OFF: 'device',
  INVALID_OPERATION: 'internal',
  INVALID_PARAMETER: 'usage',
  OUT_OF_MEMORY: 'internal',
  INVALID_SESSION: 'internal',
  SERIAL_PORT_ERROR: 'environment',
  FILE_ERROR: 'environment',
  NOT_IMPLEMENTED: 'internal',
  INTERNAL_ERROR: 'internal',
  // device state, found by preflight (nothing written)
  CHIP_MISMATCH: 'refused',
  LIFECYCLE_NOT_ASSEMBLY: 'refused',
  LIFECYCLE_INVALID: 'refused',
  LIFECYCLE_SECURED: 'refused',
  LIFECYCLE_DECOMMISSIONED: 'refused',
  KMU_SLOT_NOT_EMPTY: 'refused',
  PARTIALLY_PROVISIONED: 'refused',
  IMPLEMENTATION_ID_CONFLICT: 'refused',
  // sequence / policy
  IDENTITY_WRAPPER_UNVERIFIED: 'refused',
  SEEDED_RANDOM_REFUSED: 'refused',
  CONFIRMATION_REQUIRED: 'refused',
  CONFIRMATION_MISMATCH: 'refused',
  WRITE_FAILED: 'device',
  VERIFY_FAILED: 'device',
  KMU_BLOCKED: 'device',
  INTERRUPTED: 'device',
  // image strategy
  IMAGE_INVALID: 'usage',
  IMAGE_OUT_OF_RANGE: 'refused',
  IMAGE_TIMEOUT: 'device',
  IMAGE_FAILED: 'device',
  // the provisioning sample's own failure lines (lib/targets/provisioning-sample.ts SAMPLE_FAILURE_CODES)
  IMAGE_LIFECYCLE_READ_FAILED: 'device',
  IMAGE_LIFECYCLE_NOT_ASSEMBLY: 'device',
  IMAGE_LIFECYCLE_UPDATE_FAILED: 'device',
  IMAGE_LIFECYCLE_NOT_PROVISIONING: 'device',
  IMAGE_HUK_WRITE_FAILED: 'device',
  IMAGE_IDENTITY_KEY_SLOT_WRITTEN: 'device',
  IMAGE_IDENTITY_KEY_WRITE_FAILED: 'device',
  IMAGE_IDENTITY_KEY_NOT_WRITTEN: 'device',
  IMAGE_IMPLEMENTATION_ID_WRITE_FAILED: 'device',
  IMAGE_NETWORK_APPROTECT_FAILED: 'device',
  /** The image strategy must reset the chip, and a UICR protection word would lock the debug port then. */
  DEBUG_LOCK_AT_RESET: 'refused',
  // files, records, simulator state
  SIM_STATE_INVALID: 'usage',
  /** A state file named with --sim FILE (or to `sim show`...) does not exist; nothing was created. */
  SIM_STATE_NOT_FOUND: 'usage',
  RECORDS_INVALID: 'usage',
  RECORDS_CHAIN_BROKEN: 'device',
  /** A record file with no complete record: nothing to vouch for, so not "intact". */
  RECORDS_EMPTY: 'usage',
  /** A record without a valid station signature, or signed by another key (records verify --public-key). */
  RECORDS_SIGNATURE_INVALID: 'device',
  /** Records that chain and verify but say impossible things (off-curve key, wrong instance ID, a result with no intent, ...). */
  RECORDS_INCONSISTENT: 'device',
  /** The station key file cannot be used (wrong type, wrong permissions, not an Ed25519 private key). */
  STATION_KEY_INVALID: 'usage',
  /** Two paths of one run (outputs, or an input and an output) name the same file. */
  FILE_CONFLICT: 'usage',
  // device registry (lib/registry, docs/registry.md): all found before the first write
  /** The lot has no unit of quota left: nothing was written to the device. */
  QUOTA_EXHAUSTED: 'refused',
  /** No lot of that name in the registry (create it with `registry lot create`). */
  LOT_NOT_FOUND: 'refused',
  /** The device ID (or its public key) is already registered: provisioned, or reserved by another station or lot. */
  DEVICE_ALREADY_REGISTERED: 'refused',
  /** The registry server cannot be reached (or went away) before the first write: nothing was written. */
  REGISTRY_UNAVAILABLE: 'environment',
  /** The registry database has no (or an older) schema: run `tfm-provision registry migrate`. */
  REGISTRY_NOT_MIGRATED: 'environment',
  /** The registry refused the operation to this database role (SQLSTATE 42501). */
  REGISTRY_PERMISSION_DENIED: 'environment',
  /** Any other error the registry server reported. */
  REGISTRY_ERROR: 'environment',
  /** `registry lot create` for a name that exists. */
  LOT_EXISTS: 'usage',
  // command line
  USAGE: 'usage',
  PROBE_SELECTION_REQUIRED: 'usage',
  // simulated TF-M first boot (TfmBootResult.errorCode)
  TFM_LIFECYCLE_REFUSED: 'device',
  HUK_MISSING: 'device',
  IDENTITY_KEY_MISSING: 'device',
  IDENTITY_KEY_INVALID: 'device',
  TFM_PROVISIONING_FAILED: 'device',
  /** The simulated TF-M booted but gave no valid attestation token (its identity key does not unwrap, or the token failed a check). */
  TFM_ATTESTATION_FAILED: 'device',
  // nrfjprog library codes without an equivalent above (native/nrfjprog_errors.cc)
  INVALID_DEVICE_FOR_OPERATION: 'refused',
  JLINK_LIBRARY_NOT_FOUND: 'environment',
  JLINK_LIBRARY_ERROR: 'environment',
  JLINK_LIBRARY_TOO_OLD: 'environment',
  PROBE_TRANSFER_ERROR: 'environment',
  VENDOR_WORKER_NOT_FOUND: 'environment',
  VENDOR_CONFIG_ERROR: 'environment',
  VENDOR_INTERNAL_ERROR: 'environment',
  UNKNOWN_MEMORY: 'usage',
  /** A RandomSource on a real device that is neither cryptoRandom nor vouched for (trustedRandomSource). */
  RANDOM_SOURCE_UNTRUSTED: 'refused',
  // attestation token verification (lib/attest): a check the token failed
  ATTEST_MALFORMED: 'refused',
  ATTEST_TAG_UNSUPPORTED: 'refused',
  ATTEST_ALGORITHM_UNSUPPORTED: 'refused',
  ATTEST_PROFILE_UNSUPPORTED: 'refused',
  ATTEST_CLAIM_MISSING: 'refused',
  ATTEST_CLAIM_INVALID: 'refused',
  ATTEST_UNKNOWN_INSTANCE: 'refused',
  ATTEST_SIGNATURE_INVALID: 'refused',
  ATTEST_INSTANCE_ID_MISMATCH: 'refused',
  ATTEST_NONCE_MISMATCH: 'refused',
  ATTEST_IMPLEMENTATION_ID_MISMATCH: 'refused',
  ATTEST_LIFECYCLE_NOT_SECURED: 'refused',
  ATTEST_BOOT_SEED_MISSING: 'refused',
  ATTEST_SW_COMPONENTS_INVALID: 'refused',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
/** environment: could not reach or drive the probe; refused: nothing written because a check failed;
 *  device: a write or verification went wrong; usage: bad input; internal: a bug. */
export type ErrorCategory = (typeof ERROR_CODES)[ErrorCode];

export interface TfmErrorOptions {
  /** The vendor library's numeric code (nrfjprog `nrfjprogdll_err_t`, J-Link return value). */
  vendorCode?: number;
  /** The vendor function that failed, e.g. `NRFJPROG_read_u32_inst`. */
  operation?: string;
  /** Whether anything irreversible had been written to the device before this error. */
  afterWrite?: boolean;
  /** Structured, key-free facts for programs (addresses, states, slot numbers). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class TfmError extends Error {
  readonly code: ErrorCode;
  readonly vendorCode?: number;
  readonly operation?: string;
  afterWrite: boolean;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: TfmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TfmError';
    this.code = code;
    this.vendorCode = options.vendorCode;
    this.operation = options.operation;
    this.afterWrite = options.afterWrite ?? false;
    this.details = options.details;
  }

  get category(): ErrorCategory {
    return ERROR_CODES[this.code] ?? 'internal';
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      category: this.category,
      ...(this.vendorCode !== undefined ? { vendorCode: this.vendorCode } : {}),
      ...(this.operation !== undefined ? { operation: this.operation } : {}),
      afterWrite: this.afterWrite,
      ...(this.details !== undefined ? { details: this.details } : {}),
    };
  }
}

/** Errors that come from a probe backend. Same shape and codes; a separate name for `instanceof`. */
export class ProbeError extends TfmError {
  constructor(code: ErrorCode, message: string, options: TfmErrorOptions = {}) {
    super(code, message, options);
    this.name = 'ProbeError';
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** Wraps anything thrown into a TfmError, keeping a TfmError as it is. */
export function asTfmError(error: unknown, fallback: ErrorCode = 'INTERNAL_ERROR'): TfmError {
  if (error instanceof TfmError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TfmError(fallback, message, { cause: error });
}
