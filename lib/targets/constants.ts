/** Values shared by the KMU-based chips (device-facts.md sections 3.1, 5.1, 5.2). */

/** NRF_CC3XX_PLATFORM_KMU_DEFAULT_PERMISSIONS: not writable, not readable, pushable, active. */
export const KMU_PERM_HUK = 0xfffffffc;
/** NRF_CC3XX_PLATFORM_KMU_IDENTITY_KEY_PERMISSIONS: not writable, readable, not pushable, active. */
export const KMU_PERM_IDENTITY = 0xfffffffa;

export const KMU_PERM_WRITE = 1 << 0;
export const KMU_PERM_READ = 1 << 1;
export const KMU_PERM_PUSH = 1 << 2;
export const KMU_PERM_STATE = 1 << 16;

/** What a read returns from a KMU word that is not reachable (unselected, unreadable or revoked). */
export const KMU_UNREACHABLE = 0xdeaddead;
export const ERASED_WORD = 0xffffffff;

/** NVMC CONFIG.WEN values. */
export const NVMC_REN = 0;
export const NVMC_WEN = 1;
export const NVMC_EEN = 2;

/** KMU STATUS bits. */
export const KMU_STATUS_SELECTED = 1 << 0;
export const KMU_STATUS_BLOCKED = 1 << 1;

/** Lifecycle halfword values (bl_storage.h). */
export const STATE_ENTERED = 0x0000;
export const STATE_NOT_ENTERED = 0xffff;

/** Default implementation ID of the sample (src/config_implementation_id.h): AA x8, BB x8, CC x8, DD x8. */
export function defaultImplementationId(): Uint8Array {
  const id = new Uint8Array(32);
  id.fill(0xaa, 0, 8);
  id.fill(0xbb, 8, 16);
  id.fill(0xcc, 16, 24);
  id.fill(0xdd, 24, 32);
  return id;
}

/** The secure NVMC/KMU peripheral (they share base 0x50039000) on the nRF5340 application core and nRF91. */
export const SECURE_NVMC = { ready: 0x50039400, readyNext: 0x50039408, config: 0x50039504, eraseAll: 0x5003950c } as const;
export const SECURE_KMU = {
  base: 0x50039000,
  tasksPushKeyslot: 0x50039000,
  eventsPushed: 0x50039100,
  eventsRevoked: 0x50039104,
  eventsError: 0x50039108,
  status: 0x5003940c,
  selectKeySlot: 0x50039500,
  configBase: 0x00ff8400,
  valueBase: 0x00ff8800,
  slotCount: 128,
} as const;
/** Identity key: KMU slots 6 and 7 (NRF_KMU_SLOT_KIDENT and its reserved twin). */
export const IDENTITY_KEY_SLOTS = [
  { index: 6, perm: KMU_PERM_IDENTITY },
  { index: 7, perm: KMU_PERM_IDENTITY },
] as const;
