/**
 * Public types of the simulator (tfm-provision/testing). The simulator is one more implementation of
 * the probe contract (lib/probe/types.ts); these types describe the simulated silicon behind it.
 */
import type { ErrorCode } from '../errors';
import type { ChipName } from '../targets';
import type { LifecycleState, ValidLifecycleState } from '../targets/lifecycle';

/** PSA lifecycle states, spelled as the library spells them (lib/targets/lifecycle.ts). */
export type SimLifecycle = ValidLifecycleState;
/** A decoded lifecycle: one of the four states, or 'INVALID' for any other halfword pattern. */
export type SimLifecycleReading = LifecycleState;
export type SimCoreName = 'application' | 'network';

/** Initial state of a simulated device (applied as if written at the factory; see docs/simulator.md). */
export interface SimDeviceState {
  /** PSA lifecycle in UICR OTP (bl_storage encoding). Default 'ASSEMBLY'. Only the LCS words: no keys.
   *  The lowercase spelling of earlier versions ('assembly', ...) is still accepted. */
  lifecycle?: SimLifecycle;
  /** Pre-written KMU slots (UICR index n = KMU slot id n+1). Any subset of DEST/PERM/VALUE may be given. */
  kmuSlots?: Array<{ index: number; dest?: number; perm?: number; value?: Uint8Array | string }>;
  /** Application-core UICR.APPROTECT (and SECUREAPPROTECT) = Protected (0): the AHB-AP is locked after reset. */
  approtect?: boolean;
  /** nRF5340: network-core UICR.APPROTECT = Protected (0). */
  networkApprotect?: boolean;
  /** UICR.ERASEPROTECT = Protected (0): NVMC and CTRL-AP ERASEALL do nothing. */
  eraseProtect?: boolean;
  /** nRF5340: RESET.NETWORK.FORCEOFF. Default true, its value after every reset on silicon. */
  networkForcedOff?: boolean;
  /** 32 bytes written at the implementation-ID address (bl_storage_data.implementation_id). */
  implementationId?: Uint8Array | string;
  /** Raw LCS halfwords (override `lifecycle`), to build invalid encodings such as a torn 0x00FF. */
  lifecycleWords?: { provisioning?: number; secure?: number; reserved?: number; decommissioned?: number };
  /** The key firmware wrote to CTRLAPPERI.ERASEPROTECT.DISABLE; a debugger writing the same non-zero
   *  value to CTRL-AP ERASEPROTECT.DISABLE erases the chip despite ERASEPROTECT. Default 0 (none). */
  eraseProtectDisableKey?: number;
}

export type SimViolationKind =
  /** Flash/UICR write while the core's NVMC.CONFIG is not Wen: ignored. */
  | 'WRITE_WITHOUT_WEN'
  /** In erase mode, a write that is not 0xFFFFFFFF to the first word of a flash page: ignored. */
  | 'WRITE_IN_ERASE_MODE'
  /** NVMC ERASEALL written while CONFIG is not Een: ignored. */
  | 'ERASEALL_WITHOUT_EEN'
  /** An erase-all refused because UICR.ERASEPROTECT is set. */
  | 'ERASE_PROTECTED'
  /** UICR addressed by a page erase (UICR is cleared only by an erase-all): ignored. */
  | 'UICR_PAGE_ERASE'
  /** OTP halfword written while not 0xFFFF: whole write ignored, KMU STATUS.BLOCKED set. */
  | 'OTP_HALF_REWRITE'
  /** KMU PERM halfword written while not 0xFFFF: ignored, BLOCKED. */
  | 'PERM_HALF_REWRITE'
  /** KMU slot word accessed while that slot is not selected: read 0xDEADDEAD / write ignored, BLOCKED. */
  | 'KMU_UNSELECTED_ACCESS'
  /** DEST/VALUE written while PERM.WRITE is clear (or the slot is revoked): ignored, BLOCKED. */
  | 'KMU_SLOT_NOT_WRITABLE'
  /** TASKS_PUSH_KEYSLOT on a slot that is not pushable (no PUSH, revoked, bad DEST, none selected). */
  | 'KMU_PUSH_NOT_ALLOWED'
  /** SELECTKEYSLOT beyond the last slot. */
  | 'KMU_INVALID_SLOT'
  /** Third (or later) write to a flash/UICR word since its erase: the word is left undefined. */
  | 'THIRD_WRITE'
  /** Sub-word or unaligned access to UICR (32-bit accesses only), or to flash without NVMC help: ignored. */
  | 'NON_WORD_ACCESS'
  /** Write to FICR (read-only): ignored. */
  | 'FICR_WRITE';

export interface SimViolation {
  kind: SimViolationKind;
  core: SimCoreName;
  address: number;
  value?: number;
  /** Who made the access: the debug probe, or a firmware model running on the simulated CPU. */
  by: 'probe' | 'firmware';
  /** Virtual time of the access in microseconds. */
  timeUs: number;
  message: string;
}

export interface SimKmuSlotDump {
  index: number;
  dest: number;
  perm: number;
  /** Chip-off view of VALUE[0..3] (little-endian words), including unreadable or pushed-only keys. */
  value: Uint8Array;
}

export interface SimRegionDump {
  address: number;
  data: Uint8Array;
}

export interface SimCoreDump {
  ficr: SimRegionDump;
  uicr: SimRegionDump;
  /** Non-erased flash pages (only with `withFlash`). */
  flash?: SimRegionDump[];
}

/** A chip-off view of a simulated device: what a decapped chip would hold, readable or not. */
export interface SimDump {
  chip: ChipName;
  deviceId: string;
  lifecycle: SimLifecycleReading;
  lifecycleWords: { provisioning: number; secure: number; reserved: number; decommissioned: number };
  /** 32 bytes at the implementation-ID address, hex. */
  implementationId: string;
  /** KMU slots whose DEST, PERM or VALUE is not erased. */
  kmuSlots: SimKmuSlotDump[];
  cores: { application: SimCoreDump; network?: SimCoreDump };
}

export interface SimDumpDifference {
  core: SimCoreName;
  region: 'ficr' | 'uicr' | 'flash';
  address: number;
  /** Word value in the first dump (0xFFFFFFFF for an absent flash page). */
  a: number;
  b: number;
}

export interface TfmBootResult {
  ok: boolean;
  /** Lifecycle after the boot (after the provisioning step's reset, on success). */
  lifecycle: SimLifecycleReading;
  /** Simulator-only knowledge (TF-M prints neither): the uncompressed P-256 public key the identity
   *  key in slots 6/7 decrypts to (65 bytes, hex), absent when it does not decrypt. */
  identityPublicKey?: string;
  /** The instance ID TF-M will attest with (hex, 33 bytes), under `instanceIdFormula`. */
  instanceId?: string;
  /** The TF-M version modelled, e.g. '2.2.0'. */
  tfmVersion?: string;
  /** Its instance-ID formula: '2.1' (SHA-256 of the raw key) or '2.2' (SHA-256 of the COSE_Key). */
  instanceIdFormula?: '2.1' | '2.2';
  /** Its ATTEST_TOKEN_PROFILE. */
  tokenProfile?: 'PSA_IOT_1' | 'PSA_2_0_0';
  /** TF-M wrote its own random HUKs on this boot (CONFIG_HW_UNIQUE_KEY_RANDOM, none present). */
  hukWritten?: boolean;
  /** When the boot was asked for one: the answer to an initial attestation request made after it. */
  attestation?: SimAttestationAnswer;
  errorCode?: ErrorCode;
  message: string;
}

/** What bootTfm() is asked: the TF-M build (when no TF-M image is in flash) and an attestation request. */
export interface SimTfmBootRequest {
  /** TF-M version ('2.1', '2.2.0', ...) or instance-ID formula when no TF-M image is in flash;
   *  a TF-M image's own banner version wins. Default 2.2.0. */
  tfmVersion?: string;
  instanceIdFormula?: '2.1' | '2.2';
  /** ATTEST_TOKEN_PROFILE when no TF-M image says otherwise. Default 'PSA_IOT_1' (TF-M's default). */
  tokenProfile?: 'PSA_IOT_1' | 'PSA_2_0_0';
  /** Make one initial attestation request with this challenge after a boot that reached SECURED. */
  challenge?: Uint8Array;
}

/** The simulated TF-M's answer to psa_initial_attest_get_token. */
export interface SimAttestationAnswer {
  ok: boolean;
  /** COSE_Sign1 (tag 18), ES256. */
  token?: Uint8Array;
  errorCode?: ErrorCode;
  message: string;
}

export type SimFaultKind = 'error' | 'disconnect' | 'power-loss';

export interface SimFault {
  /** 0-based index among probe operations on that serial number since attach, across sessions. */
  atOperation: number;
  kind: SimFaultKind;
  /** For 'error': the ProbeError code thrown (default CANNOT_CONNECT). */
  code?: ErrorCode;
  /** For 'power-loss' during a write: mask of the bits to clear that actually get cleared in the torn
   *  word (default: the lower half of the bits that were to be cleared). */
  tornBits?: number;
  /** For 'power-loss' during a multi-word write: index of the word in flight (default 0). Earlier words
   *  are complete, later ones never start. */
  tornWord?: number;
}

export type SimOperationMethod =
  | 'deviceInfo'
  | 'selectCore'
  | 'read'
  | 'write'
  | 'readU32'
  | 'writeU32'
  | 'erasePage'
  | 'eraseAll'
  | 'recover'
  | 'readAccessPort'
  | 'writeAccessPort'
  | 'reset'
  | 'halt'
  | 'go';

export interface SimOperation {
  index: number;
  /** Which open() of this serial number made the call (1 = first). */
  session: number;
  method: SimOperationMethod;
  core: SimCoreName;
  address?: number;
  length?: number;
  value?: number;
  nvmc?: boolean;
  apIndex?: number;
  register?: number;
  /** The fault injected at this operation, if any. */
  fault?: SimFaultKind;
  /** Error code the operation failed with, if it failed. */
  error?: ErrorCode;
}

/** A line printed by a firmware model. */
export interface ConsoleEntry {
  core: SimCoreName;
  timeUs: number;
  line: string;
}
