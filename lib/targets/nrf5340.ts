import { IDENTITY_KEY_SLOTS, KMU_PERM_HUK, SECURE_KMU, SECURE_NVMC } from './constants';
import type { Target } from './types';

const AES_ADDR_1 = 0x50845400; // NRF_CC3XX_PLATFORM_KMU_AES_ADDR_1 (first 128 bits)
const AES_ADDR_2 = 0x50845410; // NRF_CC3XX_PLATFORM_KMU_AES_ADDR_2 (last 128 bits, CC312)

export const nrf5340: Target = {
  name: 'nrf5340',
  displayName: 'nRF5340',
  family: 'NRF53',
  parts: [0x5340],
  // FICR INFO (nrfx mdk/nrf5340_application.h FICR_INFO_Type; device-facts 5.4): VARIANT is a
  // uint32_t, e.g. 'QKAA' (the nRF5340-QKAA ordering code) = 0x514B4141.
  ficr: { deviceId0: 0x00ff0204, deviceId1: 0x00ff0208, part: 0x00ff020c, variant: 0x00ff0210, variantLayout: 'uint32-msb-first', typicalVariant: 'QKAA' },
  application: {
    name: 'application',
    ahbAp: 0,
    ctrlAp: 2,
    flash: { base: 0x00000000, size: 0x100000, pageSize: 0x1000 },
    ram: { base: 0x20000000, size: 0x80000 },
    ficrBase: 0x00ff0000,
    uicrBase: 0x00ff8000,
    uicrSize: 0x1000,
    nvmcBase: 0x50039000,
    approtect: 0x00ff8000,
    debugLock: { kind: 'ahbApCswDeviceEn' },
  },
  // Network core first: its CTRL-AP ERASEALL erases the application core too (nRF5340 PS;
  // device-facts 5.5), so the application erase after it leaves both erased and both ports reachable.
  recoveryOrder: ['network', 'application'],
  network: {
    name: 'network',
    ahbAp: 1,
    ctrlAp: 3,
    flash: { base: 0x01000000, size: 0x40000, pageSize: 0x800 },
    ram: { base: 0x21000000, size: 0x10000 },
    ficrBase: 0x01ff0000,
    uicrBase: 0x01ff8000,
    uicrSize: 0x800,
    nvmcBase: 0x41080000,
    approtect: 0x01ff8000,
    debugLock: { kind: 'ahbApCswDeviceEn' },
    forceOff: 0x50005614,
    forceOffNonSecure: 0x40005614,
    resetPeriphPerm: 0x50003814, // SPU base 0x50003000 + PERIPHID[5].PERM (0x800 + 4 * 5)
    erratum161: { ficrVar1: 0x00ff0130, ficrVar2: 0x00ff0134, workaroundOffset: 4 },
    accessTimeoutMs: 300,
    uicrEraseProtect: 0x01ff8004, // network UICR + 0x004 (nRF5340 PS; device-facts 5.5)
  },
  uicr: {
    approtect: 0x00ff8000,
    secureApprotect: 0x00ff801c,
    eraseProtect: 0x00ff8020,
    approtectUnprotected: 0x50fa50fa,
    approtectProtected: 0x00000000,
    eraseProtectUnprotected: 0xffffffff,
  },
  otp: { base: 0x00ff8100, words: 192 },
  lifecycle: { provisioning: 0x00ff8100, secure: 0x00ff8102, reserved: 0x00ff8104, decommissioned: 0x00ff8106 },
  implementationId: { address: 0x00ff8108, length: 32 },
  nvmc: { ...SECURE_NVMC },
  kmu: { ...SECURE_KMU },
  cryptocell: { base: 0x50844000, aesKeyAddresses: [AES_ADDR_1, AES_ADDR_2] },
  huk: {
    size: 32,
    mkek: [
      { index: 2, dest: AES_ADDR_1, perm: KMU_PERM_HUK },
      { index: 3, dest: AES_ADDR_2, perm: KMU_PERM_HUK },
    ],
    mext: [
      { index: 4, dest: AES_ADDR_1, perm: KMU_PERM_HUK },
      { index: 5, dest: AES_ADDR_2, perm: KMU_PERM_HUK },
    ],
  },
  identityKey: { slots: IDENTITY_KEY_SLOTS.map((slot) => ({ ...slot })) },
  // No APPROTECTSTATUS: the nRF5340 CTRL-AP has no register at 0x00C (PS; device-facts Q8).
  ctrlAp: { reset: 0x000, eraseAll: 0x004, eraseAllStatus: 0x008, eraseProtectStatus: 0x018, eraseProtectDisable: 0x01c },
  // CTRLAPPERI_S 0x50006000 + ERASEPROTECT.DISABLE 0x504 (nRF5340 PS; device-facts 5.5).
  ctrlApPeri: { eraseProtectDisable: 0x50006504 },
  recover: { softResetAfterEraseAll: false },
  timing: { wordWriteUs: 43, pageEraseUs: 87_500, eraseAllUs: 173_000 },
};
