/** KMU rules: 1-based selection, reachability, PERM bits and halves, revocation, push to the CryptoCell. */
import { KMU_PERM_HUK, KMU_PERM_IDENTITY, KMU_UNREACHABLE, kmuDestAddress, kmuPermAddress, kmuValueAddress, type Target } from '../../lib/targets';
import type { ProbeSession } from '../../lib/probe/types';
import { kinds, probe } from './helpers';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);

/** The PS / write_kmu.py order: select, DEST, VALUE[0..3], PERM, deselect (NVMC in write mode). */
async function writeSlot(session: ProbeSession, t: Target, index: number, dest: number | undefined, perm: number, key = KEY): Promise<void> {
  await session.writeU32(t.kmu.selectKeySlot, index + 1);
  if (dest !== undefined) await session.writeU32(kmuDestAddress(t, index), dest, { nvmc: true });
  await session.write(kmuValueAddress(t, index), key, { nvmc: true });
  await session.writeU32(kmuPermAddress(t, index), perm, { nvmc: true });
  await session.writeU32(t.kmu.selectKeySlot, 0);
}

test('a slot written in the documented order holds DEST, VALUE and PERM, with no violation', async () => {
  const { session, device, t } = await probe('nrf5340');
  await writeSlot(session, t, 2, 0x50845400, KMU_PERM_HUK);
  const slot = device.kmuSlot(2);
  expect(slot).toEqual({ index: 2, dest: 0x50845400, perm: KMU_PERM_HUK, value: KEY });
  expect(device.violations).toEqual([]);
});

test('SELECTKEYSLOT is 1-based: id n+1 reaches UICR index n, id n does not', async () => {
  const { session, device, t } = await probe('nrf9160', { state: { kmuSlots: [{ index: 4, perm: KMU_PERM_HUK }] } });
  await session.writeU32(t.kmu.selectKeySlot, 5);
  expect(await session.readU32(kmuPermAddress(t, 4))).toBe(KMU_PERM_HUK);
  await session.writeU32(t.kmu.selectKeySlot, 4);
  expect(await session.readU32(kmuPermAddress(t, 4))).toBe(KMU_UNREACHABLE);
  expect(kinds(device)).toEqual(['KMU_UNSELECTED_ACCESS']);
});

test('an unselected slot reads 0xDEADDEAD and sets STATUS.BLOCKED: KMU_UNSELECTED_ACCESS', async () => {
  const { session, device, t } = await probe('nrf5340');
  expect(await session.readU32(kmuPermAddress(t, 6))).toBe(KMU_UNREACHABLE);
  expect(await session.readU32(t.kmu.status)).toBe(2);
  expect(device.violations[0]).toMatchObject({ kind: 'KMU_UNSELECTED_ACCESS', address: kmuPermAddress(t, 6) });
});

test('a write to an unselected slot is ignored: KMU_UNSELECTED_ACCESS', async () => {
  const { session, device, t } = await probe('nrf5340');
  await session.writeU32(t.kmu.selectKeySlot, 3); // slot index 2
  await session.writeU32(kmuDestAddress(t, 3), 0x50845410, { nvmc: true });
  expect(device.kmuSlot(3).dest).toBe(0xffffffff);
  expect(kinds(device)).toEqual(['KMU_UNSELECTED_ACCESS']);
});

test('STATUS.SELECTED follows SELECTKEYSLOT; an id past the last slot is KMU_INVALID_SLOT', async () => {
  const { session, device, t } = await probe('nrf5340');
  await session.writeU32(t.kmu.selectKeySlot, 7);
  expect(await session.readU32(t.kmu.status)).toBe(1);
  expect(await session.readU32(t.kmu.selectKeySlot)).toBe(7);
  await session.writeU32(t.kmu.selectKeySlot, 200);
  expect(await session.readU32(t.kmu.status)).toBe(2);
  expect(kinds(device)).toEqual(['KMU_INVALID_SLOT']);
});

test('DEST and PERM are readable while selected; VALUE only with PERM.READ (else 0xDEADDEAD, no violation)', async () => {
  const { session, device, t } = await probe('nrf5340');
  await writeSlot(session, t, 2, 0x50845400, KMU_PERM_HUK);
  await writeSlot(session, t, 6, undefined, KMU_PERM_IDENTITY);
  await session.writeU32(t.kmu.selectKeySlot, 3);
  expect(await session.readU32(kmuDestAddress(t, 2))).toBe(0x50845400);
  expect(await session.readU32(kmuPermAddress(t, 2))).toBe(KMU_PERM_HUK);
  expect(await session.readU32(kmuValueAddress(t, 2))).toBe(KMU_UNREACHABLE);
  await session.writeU32(t.kmu.selectKeySlot, 7);
  expect(await session.read(kmuValueAddress(t, 6), 16)).toEqual(KEY);
  expect(device.violations).toEqual([]);
});

test('a fresh slot has PERM 0xFFFFFFFF (WRITE and READ set): its erased VALUE reads 0xFFFFFFFF', async () => {
  const { session, t } = await probe('nrf9161');
  await session.writeU32(t.kmu.selectKeySlot, 3);
  expect(await session.readU32(kmuValueAddress(t, 2) + 12)).toBe(0xffffffff);
});

test('after PERM clears WRITE, DEST/VALUE writes are ignored: KMU_SLOT_NOT_WRITABLE', async () => {
  const { session, device, t } = await probe('nrf9160');
  await writeSlot(session, t, 2, 0x50841400, KMU_PERM_HUK);
  await session.writeU32(t.kmu.selectKeySlot, 3);
  await session.writeU32(kmuValueAddress(t, 2), 0, { nvmc: true });
  expect(device.kmuSlot(2).value).toEqual(KEY);
  expect(kinds(device)).toEqual(['KMU_SLOT_NOT_WRITABLE']);
});

test('PERM halves are write-once: rewriting the lower half is ignored, PERM_HALF_REWRITE', async () => {
  const { session, device, t } = await probe('nrf5340');
  await writeSlot(session, t, 4, 0x50845400, KMU_PERM_HUK);
  await session.writeU32(t.kmu.selectKeySlot, 5);
  await session.writeU32(kmuPermAddress(t, 4), 0xfffffff8, { nvmc: true });
  expect(device.kmuSlot(4).perm).toBe(KMU_PERM_HUK);
  expect(kinds(device)).toEqual(['PERM_HALF_REWRITE']);
});

test('clearing STATE revokes the slot: VALUE zeroised, reads 0xDEADDEAD, EVENTS_KEYSLOT_REVOKED', async () => {
  const { session, device, t } = await probe('nrf5340');
  await writeSlot(session, t, 6, undefined, KMU_PERM_IDENTITY);
  await session.writeU32(t.kmu.selectKeySlot, 7);
  await session.writeU32(kmuPermAddress(t, 6), 0x0000ffff, { nvmc: true }); // upper half: STATE = 0
  expect(device.kmuSlot(6).perm).toBe(0x0000fffa);
  expect(device.kmuSlot(6).value).toEqual(new Uint8Array(16));
  expect(await session.readU32(kmuValueAddress(t, 6))).toBe(KMU_UNREACHABLE);
  expect(await session.readU32(t.kmu.eventsRevoked)).toBe(1);
  expect(device.violations).toEqual([]);
});

test('TASKS_PUSH_KEYSLOT copies a pushable slot to the CryptoCell key register at DEST', async () => {
  const { session, device, t } = await probe('nrf5340');
  await writeSlot(session, t, 3, 0x50845410, KMU_PERM_HUK);
  await session.writeU32(t.kmu.selectKeySlot, 4);
  await session.writeU32(t.kmu.tasksPushKeyslot, 1);
  expect(await session.readU32(t.kmu.eventsPushed)).toBe(1);
  expect(device.cryptocellKey(0x50845410)).toEqual(KEY);
  // Key registers are write-only from the bus.
  expect(await session.readU32(0x50845410)).toBe(0);
});

test('pushing a slot without PUSH, or with nothing selected, is refused: KMU_PUSH_NOT_ALLOWED, EVENTS_KEYSLOT_ERROR', async () => {
  const { session, device, t } = await probe('nrf9160');
  await writeSlot(session, t, 6, undefined, KMU_PERM_IDENTITY);
  await session.writeU32(t.kmu.selectKeySlot, 7);
  await session.writeU32(t.kmu.tasksPushKeyslot, 1);
  await session.writeU32(t.kmu.selectKeySlot, 0);
  await session.writeU32(t.kmu.tasksPushKeyslot, 1);
  expect(await session.readU32(t.kmu.eventsError)).toBe(1);
  expect(kinds(device)).toEqual(['KMU_PUSH_NOT_ALLOWED', 'KMU_PUSH_NOT_ALLOWED']);
  expect(device.cryptocellKey(0x50841400)).toBeUndefined();
});

test('a reset deselects the slot and clears the CryptoCell key registers', async () => {
  const { session, device, t } = await probe('nrf9160');
  await writeSlot(session, t, 2, 0x50841400, KMU_PERM_HUK);
  await session.writeU32(t.kmu.selectKeySlot, 3);
  await session.writeU32(t.kmu.tasksPushKeyslot, 1);
  await session.reset('system');
  expect(await session.readU32(t.kmu.selectKeySlot)).toBe(0);
  expect(device.cryptocellKey(0x50841400)).toBeUndefined();
});

test('KMU slot writes need NVMC write mode like any UICR word: WRITE_WITHOUT_WEN', async () => {
  const { session, device, t } = await probe('nrf5340');
  await session.writeU32(t.kmu.selectKeySlot, 3);
  await session.writeU32(kmuDestAddress(t, 2), 0x50845400);
  expect(kinds(device)).toEqual(['WRITE_WITHOUT_WEN']);
});

test('key words stay out of violations, their messages and the operation log', async () => {
  const { session, binding, device, t } = await probe('nrf9160');
  await session.writeU32(kmuValueAddress(t, 2), 0x13572468); // unselected, and without Wen
  await session.writeU32(t.kmu.selectKeySlot, 3);
  await session.writeU32(kmuValueAddress(t, 2), 0x13572468);
  expect(kinds(device)).toEqual(['KMU_UNSELECTED_ACCESS', 'WRITE_WITHOUT_WEN']);
  expect(device.violations.every((v) => v.value === undefined && !v.message.includes('13572468'))).toBe(true);
  expect(JSON.stringify(binding.operations(100000001))).not.toContain(String(0x13572468));
});
