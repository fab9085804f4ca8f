import { IDENTITY_KEY_SLOTS, KMU_PERM_HUK, SECURE_KMU, SECURE_NVMC } from './constants';
import type { Target } from './types';

const AES_ADDR = 0x50841400; // NRF_CC3XX_PLATFORM_KMU_AES_ADDR on nRF91 (CC310, 128-bit keys)

/** Shared by the nRF91 parts; differences are filled in per part below. */
function nrf91Base(): Omit<Target, 'name' | 'displayName' | 'parts' | 'ficr' | 'uicr' | 'recover'> {
  return {
    family: 'NRF91',
    recoveryOrder: ['application'], // one core, one CTRL-AP
    application: {
      name: 'application',
      ahbAp: 0,
      ctrlAp: 4,
      flash: { base: 0x00000000, size: 0x100000, pageSize: 0x1000 },
      ram: { base: 0x20000000, size: 0x40000 },
      ficrBase: 0x00ff0000,
      uicrBase: 0x00ff8000,
      uicrSize: 0x1000,
      nvmcBase: 0x50039000,
      approtect: 0x00ff8000,
      debugLock: { kind: 'ctrlApApprotectStatus', register: 0x00c },
    },
    otp: { base: 0x00ff8108, words: 190 },
    lifecycle: { provisioning: 0x00ff8108, secure: 0x00ff810a, reserved: 0x00ff810c, decommissioned: 0x00ff810e },
    implementationId: { address: 0x00ff8110, length: 32 },
    nvmc: { ...SECURE_NVMC },
    kmu: { ...SECURE_KMU },
    cryptocell: { base: 0x50840000, aesKeyAddresses: [AES_ADDR] },
    huk: {
      size: 16,
      // No KDR in slot 0: hw_unique_key writes none on KMU devices (device-facts Q4).
      mkek: [{ index: 2, dest: AES_ADDR, perm: KMU_PERM_HUK }],
      mext: [{ index: 4, dest: AES_ADDR, perm: KMU_PERM_HUK }],
    },
    identityKey: { slots: IDENTITY_KEY_SLOTS.map((slot) => ({ ...slot })) },
    ctrlAp: { reset: 0x000, eraseAll: 0x004, eraseAllStatus: 0x008, approtectStatus: 0x00c },
    // nRF91 NVMC timings are UNVERIFIED (device-facts Q5): the nRF5340 figures are assumed.
    timing: { wordWriteUs: 43, pageEraseUs: 87_500, eraseAllUs: 173_000 },
  };
}

// SIPINFO.PARTNO at 0x00FF0140 reads 0x9160 / 0x9161 / 0x9151 (probe-rs nRF91 chip detection;
// OpenOCD src/flash/nor/nrf5.c prints it with %x as "nRF9160"). SIPINFO.VARIANT at 0x00FF0148 is a
// uint8_t[4] read in memory order (nrfx mdk/nrf9160.h FICR_SIPINFO_Type "ex SIAA, SIBA or SICA";
// OpenOCD nrf91new_ficr_offsets .info_variant = 0x148, decoded little-endian for the nRF91 series).
// The nRF91x1 INFO fields describe only the SoC die (INFO.PART 0x9120, OpenOCD comment), so the SiP
// is named by SIPINFO on every nRF91 here.
export const nrf9160: Target = {
  ...nrf91Base(),
  name: 'nrf9160',
  displayName: 'nRF9160',
  parts: [0x9160],
  // "SICA": the nRF9160-SICA ordering code (nrf9160.h comment; device-facts 5.4, word 0x41434953).
  ficr: { deviceId0: 0x00ff0204, deviceId1: 0x00ff0208, sipPartNo: 0x00ff0140, variant: 0x00ff0148, variantLayout: 'uint8x4-memory-order', typicalVariant: 'SICA' },
  uicr: {
    approtect: 0x00ff8000,
    secureApprotect: 0x00ff802c,
    eraseProtect: 0x00ff8030,
    approtectUnprotected: 0xffffffff,
    approtectProtected: 0x00000000,
    eraseProtectUnprotected: 0xffffffff,
  },
  recover: { softResetAfterEraseAll: false }, // probe-rs Nrf9160: no soft reset after erase
};

function nrf91x1(name: 'nrf9161' | 'nrf9151', part: number, displayName: string): Target {
  return {
    ...nrf91Base(),
    name,
    displayName,
    parts: [part],
    // "LACA": the nRF91x1 ordering code (nRF9161-LACA, nRF9151-LACA; device-facts 5.4). The letters
    // are in the nRF91x1 PAC's SIPINFO.VARIANT enum; the full string is not confirmed from a header.
    ficr: { deviceId0: 0x00ff0204, deviceId1: 0x00ff0208, part: 0x00ff020c, sipPartNo: 0x00ff0140, variant: 0x00ff0148, variantLayout: 'uint8x4-memory-order', typicalVariant: 'LACA' },
    uicr: {
      approtect: 0x00ff8000,
      secureApprotect: 0x00ff802c,
      eraseProtect: 0x00ff8030,
      approtectUnprotected: 0x50fa50fa,
      approtectProtected: 0x00000000,
      eraseProtectUnprotected: 0xffffffff,
    },
    recover: { softResetAfterEraseAll: true }, // probe-rs Nrf9120
  };
}

export const nrf9161 = nrf91x1('nrf9161', 0x9161, 'nRF9161');
export const nrf9151 = nrf91x1('nrf9151', 0x9151, 'nRF9151');
