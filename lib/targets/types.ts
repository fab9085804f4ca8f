/**
 * Per-chip facts as data. A new chip is a new object, not a new `if` in the layers above.
 * Sources: shared reference device-facts.md (sections 2, 3, 5); UNVERIFIED facts are marked.
 */
import type { DeviceFamily } from '../probe/types';

export type ChipName = 'nrf5340' | 'nrf9160' | 'nrf9161' | 'nrf9151';

export interface FlashRegion {
  base: number;
  size: number;
  pageSize: number;
}

export interface KmuSlotSpec {
  /** UICR KEYSLOT index n; the KMU selects it as slot id n + 1. */
  index: number;
  /** Push destination written to KEYSLOT.CONFIG[n].DEST; undefined = left erased. */
  dest?: number;
  perm: number;
}

/**
 * How a debugger tells that a core's debug port is locked (APPROTECT), per chip: what the chip has.
 * - 'ahbApCswDeviceEn': the core's AHB-AP CSW.DeviceEn (bit 6) is clear (nRF5340; probe-rs
 *   vendor/nordicsemi/sequences/nrf53.rs is_core_unlocked).
 * - 'ctrlApApprotectStatus': the core's CTRL-AP APPROTECTSTATUS (`register`) reads 0 (nRF91;
 *   probe-rs nrf91.rs is_core_unlocked). The nRF5340 CTRL-AP has no register there (PS CTRL-AP map).
 */
export type DebugLockCheck = { kind: 'ahbApCswDeviceEn' } | { kind: 'ctrlApApprotectStatus'; register: number };

export interface CoreSpec {
  name: 'application' | 'network';
  /** AHB-AP index of this core on the SWD port. */
  ahbAp: number;
  /** CTRL-AP index of this core. */
  ctrlAp: number;
  flash: FlashRegion;
  /** Data RAM of this core (where a debugger looks for the SEGGER RTT control block). */
  ram?: { base: number; size: number };
  ficrBase: number;
  uicrBase: number;
  uicrSize: number;
  nvmcBase: number;
  /** UICR.APPROTECT address of this core. */
  approtect: number;
  /** How a debugger reads whether this core's debug port is locked. */
  debugLock: DebugLockCheck;
}

export interface Target {
  name: ChipName;
  displayName: string;
  family: DeviceFamily;
  /** FICR part numbers that identify this target. */
  parts: number[];
  ficr: {
    deviceId0: number;
    deviceId1: number;
    /** INFO.PART (nRF5340, nRF91x1); absent on nRF9160. */
    part?: number;
    /** INFO.VARIANT or SIPINFO.VARIANT (ASCII). */
    variant: number;
    /**
     * How the variant's four ASCII characters sit in the word a 32-bit read returns:
     * - 'uint32-msb-first': FICR_INFO_Type `uint32_t VARIANT`, first character in the most
     *   significant byte ('QKAA' = 0x514B4141; nrfx mdk/nrf5340_application.h, device-facts 5.4);
     * - 'uint8x4-memory-order': FICR_SIPINFO_Type `uint8_t VARIANT[4]`, first character at the lowest
     *   address, so the little-endian word of "SICA" is 0x41434953 (nrfx mdk/nrf9160.h; OpenOCD
     *   src/flash/nor/nrf5.c nrf5_info_variant_to_str decodes nRF91 in memory order).
     */
    variantLayout: 'uint32-msb-first' | 'uint8x4-memory-order';
    /** A variant this chip ships with (its ordering code), for simulated devices and examples. */
    typicalVariant: string;
    /** SIPINFO.PARTNO (nRF9160 only). */
    sipPartNo?: number;
  };
  application: CoreSpec;
  /** Cores a full recover erases through CTRL-AP, in the order the hardware needs (device-facts 5.5). */
  recoveryOrder: readonly CoreSpec['name'][];
  network?: CoreSpec & {
    /** RESET.NETWORK.FORCEOFF (secure alias): 1 holds the network core off, 0 releases it. */
    forceOff: number;
    /** The same register through RESET's non-secure alias, used when firmware made RESET
     *  non-secure (probe-rs nrf.rs set_network_core_running; PS: the wrong alias bus-faults). */
    forceOffNonSecure: number;
    /** SPU PERIPHID[5].PERM (RESET): SECATTR (bit 4) picks the alias; PRESENT is bit 31. */
    resetPeriphPerm: number;
    /** nRF5340 erratum 161 (FORCEOFF release): the FICR words that tell affected silicon
     *  (affected: VAR1 = 7 and VAR2 not 2..4; probe-rs nrf.rs erratum_161_present after nrfx
     *  nrf53_erratas.h) and the workaround register (FORCEOFF + 4). */
    erratum161: { ficrVar1: number; ficrVar2: number; workaroundOffset: number };
    /** Network-core UICR.ERASEPROTECT (UICR base + 0x004; nRF5340 PS network UICR, device-facts 5.5):
     *  Protected 0, Unprotected 0xFFFFFFFF. */
    uicrEraseProtect: number;
    /** How long a just-released network core may take to answer (AHB-AP CSW.DeviceEn) before it
     *  counts as locked: probe-rs nrf.rs NETWORK_CORE_ACCESS_TIMEOUT, a host-side deadline, not a
     *  Nordic figure. */
    accessTimeoutMs: number;
  };
  uicr: {
    approtect: number;
    secureApprotect: number;
    eraseProtect: number;
    /** Value of APPROTECT/SECUREAPPROTECT that leaves debug access open after reset. */
    approtectUnprotected: number;
    approtectProtected: number;
    eraseProtectUnprotected: number;
  };
  otp: {
    /** Start of UICR.OTP = PM_PROVISION_ADDRESS = struct bl_storage_data (UNVERIFIED: assumes the
     *  `provision` partition is first in the `otp` region, as the partition manager places it). */
    base: number;
    words: number;
  };
  /** bl_storage_data offsets from otp.base. */
  lifecycle: {
    provisioning: number; // u16 at +0
    secure: number; // u16 at +2
    reserved: number; // u16 at +4
    decommissioned: number; // u16 at +6
  };
  implementationId: { address: number; length: 32 };
  nvmc: {
    ready: number;
    readyNext: number;
    config: number;
    eraseAll: number;
  };
  kmu: {
    base: number;
    tasksPushKeyslot: number;
    eventsPushed: number;
    eventsRevoked: number;
    eventsError: number;
    status: number;
    selectKeySlot: number;
    /** UICR KEYSLOT.CONFIG[0].DEST; slot n at + 8n (DEST) and + 8n + 4 (PERM). */
    configBase: number;
    /** UICR KEYSLOT.KEY[0].VALUE[0]; slot n at + 16n. */
    valueBase: number;
    slotCount: number;
  };
  cryptocell: {
    base: number;
    /** KMU push targets for AES keys (CryptoCell key registers). */
    aesKeyAddresses: number[];
  };
  huk: {
    /** HUK size in bytes: 32 (CC312, nRF5340) or 16 (CC310, nRF91). */
    size: 16 | 32;
    mkek: KmuSlotSpec[];
    mext: KmuSlotSpec[];
  };
  identityKey: {
    slots: KmuSlotSpec[];
  };
  ctrlAp: {
    reset: number;
    eraseAll: number;
    eraseAllStatus: number;
    /** APPROTECTSTATUS (nRF91 0x00C). Absent on nRF5340: its CTRL-AP has no register at 0x00C
     *  (PS CTRL-AP register map; device-facts Q8). */
    approtectStatus?: number;
    eraseProtectStatus?: number;
    eraseProtectDisable?: number;
  };
  /** CPU-side CTRLAPPERI (secure alias, base 0x50006000): ERASEPROTECT.DISABLE at +0x504, the key
   *  firmware writes so that a debugger writing the same value to CTRL-AP ERASEPROTECT.DISABLE may
   *  erase despite ERASEPROTECT (nRF5340 PS CTRLAPPERI; device-facts 5.5). Absent where the
   *  debugger-side CTRL-AP has no ERASEPROTECT.DISABLE to match it (nRF91 here). */
  ctrlApPeri?: { eraseProtectDisable: number };
  /** What a CTRL-AP erase-all needs before the port is open. */
  recover: {
    /** A CTRL-AP RESET after ERASEALL is needed to open the port (nRF91x1: probe-rs nrf91.rs
     *  requires_soft_reset_after_erase, after Nordic nan_041). On nRF5340 the port opens at the
     *  erase-all, and any reset before UICR.APPROTECT holds the open value locks it again
     *  (hardened APPROTECT: erased means protected). */
    softResetAfterEraseAll: boolean;
  };
  /** NVMC timings in microseconds (nRF5340 PS; nRF91 UNVERIFIED, assumed the same). */
  timing: { wordWriteUs: number; pageEraseUs: number; eraseAllUs: number };
}

/** Address of KEYSLOT.CONFIG[n].DEST. */
export function kmuDestAddress(target: Target, index: number): number {
  return target.kmu.configBase + 8 * index;
}
/** Address of KEYSLOT.CONFIG[n].PERM. */
export function kmuPermAddress(target: Target, index: number): number {
  return target.kmu.configBase + 8 * index + 4;
}
/** Address of KEYSLOT.KEY[n].VALUE[0]. */
export function kmuValueAddress(target: Target, index: number): number {
  return target.kmu.valueBase + 16 * index;
}
