/**
 * The KMU as firmware drives it, shared by the sample and TF-M models: hw_unique_key's
 * key_written(), nrf_cc3xx_platform's KMU slot write and push (nrf_cc3xx_platform, sdk-nrfxlib
 * v2.x, kmu.c), the older identity_key_is_written() and the identity key's retrieval through the
 * simulated CryptoCell's own implementation of the wrapping model (../cryptocell.ts).
 */
import type { ErrorCode } from '../../errors';
import { ERASED_WORD, kmuDestAddress, kmuPermAddress, kmuValueAddress, KMU_PERM_IDENTITY, NVMC_REN, NVMC_WEN, type KmuSlotSpec } from '../../targets';
import { readU32LE, writeU32LE } from '../../bytes';
import { cryptocellUnwrapIdentityKey } from '../cryptocell';
import { isValidP256Scalar } from '../p256';
import type { Cpu, FirmwareHost } from './model';

/** hw_unique_key key_written(slot): selected, any of PERM, DEST, VALUE[0..3] not erased. */
export function keySlotWritten(cpu: Cpu, index: number): boolean {
  const t = cpu.target;
  cpu.write(t.kmu.selectKeySlot, index + 1);
  let written = cpu.read(kmuPermAddress(t, index)) !== ERASED_WORD || cpu.read(kmuDestAddress(t, index)) !== ERASED_WORD;
  for (let o = 0; o < 4 && !written; o++) written = cpu.read(kmuValueAddress(t, index) + 4 * o) !== ERASED_WORD;
  cpu.write(t.kmu.selectKeySlot, 0);
  return written;
}

export function keyWritten(cpu: Cpu, slots: KmuSlotSpec[]): boolean {
  return slots.some((s) => keySlotWritten(cpu, s.index));
}

/** hw_unique_key_are_any_written(): MKEK or MEXT (any of their slots) written (lib/hw_unique_key/hw_unique_key.c). */
export function hwUniqueKeysAnyWritten(cpu: Cpu): boolean {
  const t = cpu.target;
  return keyWritten(cpu, t.huk.mkek) || keyWritten(cpu, t.huk.mext);
}

/**
 * hw_unique_key_write_random() (newer sdk-nrf lib/hw_unique_key, returning int): refuses when any key
 * is set ("One or more keys already set. Cannot overwrite", -HW_UNIQUE_KEY_ERR_WRITE_FAILED), else
 * draws 2 x HUK size from the CTR_DRBG (modelled by the firmware's randomness), writes MKEK then MEXT,
 * zeroes the buffer and checks both are written. True for HW_UNIQUE_KEY_SUCCESS, false for the error.
 */
export function* hwUniqueKeyWriteRandom(cpu: Cpu): Generator<number, boolean, void> {
  const t = cpu.target;
  if (hwUniqueKeysAnyWritten(cpu)) {
    cpu.printk('One or more keys already set. Cannot overwrite');
    return false;
  }
  const keys = cpu.host.random.fill(new Uint8Array(t.huk.size * 2));
  try {
    yield 8_000;
    const groups: Array<[KmuSlotSpec[], number]> = [
      [t.huk.mkek, 0],
      [t.huk.mext, t.huk.size],
    ];
    for (const [slots, offset] of groups) {
      for (let i = 0; i < slots.length; i++) {
        const ok = yield* kmuWriteSlot(cpu, slots[i]!, keys.subarray(offset + 16 * i, offset + 16 * i + 16));
        if (!ok) return false;
      }
    }
  } finally {
    keys.fill(0);
  }
  if (!keyWritten(cpu, t.huk.mkek) || !keyWritten(cpu, t.huk.mext)) {
    cpu.printk('One or more keys not set correctly');
    return false;
  }
  return true;
}

/** Older identity_key_is_written: PERM of slots 6 and 7 (selected) both equal 0xFFFFFFFA. */
export function identityKeyIsWritten(cpu: Cpu): boolean {
  const t = cpu.target;
  return t.identityKey.slots.every((s) => {
    cpu.write(t.kmu.selectKeySlot, s.index + 1);
    const perm = cpu.read(kmuPermAddress(t, s.index));
    cpu.write(t.kmu.selectKeySlot, 0);
    return perm === KMU_PERM_IDENTITY;
  });
}

/** nrf_cc3xx_platform_kmu_write_key_slot: refuse a filled slot, then select, DEST, VALUE, PERM, deselect. */
export function* kmuWriteSlot(cpu: Cpu, spec: KmuSlotSpec, key: Uint8Array): Generator<number, boolean, void> {
  const t = cpu.target;
  if (keySlotWritten(cpu, spec.index)) return false; // NRF_CC3XX_PLATFORM_ERROR_KMU_ALREADY_FILLED
  cpu.write(cpu.nvmc.config, NVMC_WEN);
  cpu.write(t.kmu.selectKeySlot, spec.index + 1);
  const words: Array<[number, number]> = [];
  if (spec.dest !== undefined) words.push([kmuDestAddress(t, spec.index), spec.dest]);
  for (let o = 0; o < 4; o++) words.push([kmuValueAddress(t, spec.index) + 4 * o, readU32LE(key, 4 * o)]);
  words.push([kmuPermAddress(t, spec.index), spec.perm]);
  for (const [address, value] of words) {
    cpu.write(address, value);
    yield cpu.busy();
  }
  cpu.write(t.kmu.selectKeySlot, 0);
  cpu.write(cpu.nvmc.config, NVMC_REN);
  return true;
}

/** Pushes the MKEK slots into the CryptoCell and returns the key the CryptoCell now holds (16 or
 *  32 bytes), or undefined when a push failed. The caller zeroes the result. */
export function pushMkek(cpu: Cpu): Uint8Array | undefined {
  const t = cpu.target;
  for (const slot of t.huk.mkek) {
    cpu.write(t.kmu.selectKeySlot, slot.index + 1);
    cpu.write(t.kmu.eventsPushed, 0);
    cpu.write(t.kmu.tasksPushKeyslot, 1);
    const pushed = cpu.read(t.kmu.eventsPushed) === 1;
    cpu.write(t.kmu.selectKeySlot, 0);
    if (!pushed) return undefined;
  }
  const mkek = new Uint8Array(t.huk.size);
  for (let i = 0; i < t.huk.size / 16; i++) {
    const part = cpu.host.cryptocellKey(t.cryptocell.aesKeyAddresses[i]!);
    if (!part) return undefined;
    mkek.set(part, 16 * i);
    part.fill(0);
  }
  return mkek;
}

/** A P-256 private scalar from the firmware's randomness (psa_generate_key, modelled). */
export function randomScalar(host: FirmwareHost): Uint8Array {
  const d = new Uint8Array(32);
  do host.random.fill(d);
  while (!isValidP256Scalar(d));
  return d;
}

/** Reads slots 6/7 (readable, encrypted), pushes the MKEK and unwraps with the model. */
export function retrieveIdentityKey(cpu: Cpu): { d?: Uint8Array; error?: ErrorCode; message: string } {
  const t = cpu.target;
  const blob = new Uint8Array(32);
  t.identityKey.slots.forEach((slot, i) => {
    cpu.write(t.kmu.selectKeySlot, slot.index + 1);
    for (let o = 0; o < 4; o++) writeU32LE(blob, 16 * i + 4 * o, cpu.read(kmuValueAddress(t, slot.index) + 4 * o));
    cpu.write(t.kmu.selectKeySlot, 0);
  });
  const mkek = pushMkek(cpu);
  if (!mkek) {
    blob.fill(0);
    return { error: 'IDENTITY_KEY_INVALID', message: 'The MKEK could not be pushed to the CryptoCell (slot not pushable, revoked or wrong DEST), so the identity key cannot be decrypted.' };
  }
  const d = cryptocellUnwrapIdentityKey(mkek, cpu.host.deviceIdBytes(), blob);
  mkek.fill(0);
  blob.fill(0);
  if (!isValidP256Scalar(d)) {
    d.fill(0);
    return { error: 'IDENTITY_KEY_INVALID', message: 'The identity key in KMU slots 6/7 does not decrypt to a valid P-256 private key with this device\'s MKEK (wrapping model v1).' };
  }
  return { d, message: 'ok' };
}
