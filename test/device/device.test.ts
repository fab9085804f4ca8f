import {
  FICR_IDENTIFICATION_WINDOW,
  LIFECYCLE_PROVISIONING_WORD,
  countOperations,
  decodeLifecycle,
  identifyChip,
  lockNetworkCore,
  planKmuSlotWrite,
  readApplicationUicr,
  readKmuSlot,
  readLifecycle,
  readNetworkCore,
  setLifecycleProvisioning,
  writeImplementationId,
  writeKmuSlot,
} from '../../lib/device';
import { KMU_PERM_HUK, KMU_PERM_IDENTITY, defaultImplementationId, kmuPermAddress, nrf5340, nrf9160, nrf9161 } from '../../lib/targets';
import { FakeSession } from './fake-session';

const lcsBytes = (p: number, s: number, r: number, d: number): Uint8Array => {
  const b = new Uint8Array(8);
  [p, s, r, d].forEach((h, i) => {
    b[2 * i] = h & 0xff;
    b[2 * i + 1] = h >> 8;
  });
  return b;
};

describe('lifecycle decoding as bl_storage read_life_cycle_state()', () => {
  it.each([
    [0xffff, 0xffff, 0xffff, 'ASSEMBLY'],
    [0x0000, 0xffff, 0xffff, 'PROVISIONING'],
    [0x0000, 0x0000, 0xffff, 'SECURED'],
    [0x0000, 0x0000, 0x0000, 'DECOMMISSIONED'],
    [0x00ff, 0xffff, 0xffff, 'INVALID'],
    [0xffff, 0x0000, 0xffff, 'INVALID'],
    [0xffff, 0xffff, 0x0000, 'INVALID'],
    [0x0000, 0xffff, 0x0000, 'INVALID'],
    [0x1234, 0x0000, 0x0000, 'INVALID'],
  ])('provisioning %s secure %s decommissioned %s is %s', (p, s, d, state) => {
    expect(decodeLifecycle(lcsBytes(p, s, 0xffff, d)).state).toBe(state);
  });

  it('ignores the reserved halfword', () => {
    expect(decodeLifecycle(lcsBytes(0, 0xffff, 0x0000, 0xffff)).state).toBe('PROVISIONING');
  });

  it('moves ASSEMBLY to PROVISIONING with one NVMC word write of 0xFFFF0000 at the OTP base', async () => {
    for (const target of [nrf5340, nrf9160]) {
      const s = new FakeSession(target);
      await setLifecycleProvisioning(s, target);
      expect(s.calls).toEqual([{ method: 'writeU32', core: 'application', address: target.otp.base, value: 0xffff0000, nvmc: true }]);
      expect(LIFECYCLE_PROVISIONING_WORD).toBe(0xffff0000);
      expect((await readLifecycle(s, target)).state).toBe('PROVISIONING');
    }
  });
});

describe('chip identification from FICR', () => {
  it.each([nrf5340, nrf9160, nrf9161].map((t) => [t.name, t] as const))('identifies %s and its device ID in one read', async (_name, target) => {
    const s = new FakeSession(target);
    const id = await identifyChip(s);
    expect(id.chip).toBe(target.name);
    expect(id.deviceIdHex).toBe('0123456789abcdef');
    expect(id.variant).toBe(target.ficr.typicalVariant);
    expect(s.calls).toEqual([{ method: 'read', core: 'application', address: FICR_IDENTIFICATION_WINDOW.start, length: FICR_IDENTIFICATION_WINDOW.length }]);
  });

  it.each([
    [nrf9160, [0x53, 0x49, 0x43, 0x41], 'SICA'],
    [nrf9161, [0x4c, 0x41, 0x43, 0x41], 'LACA'],
  ] as const)('reads %s SIPINFO.VARIANT (uint8_t[4]) in memory order: bytes %j are "%s"', async (target, bytes, text) => {
    const s = new FakeSession(target);
    s.poke(target.ficr.variant, Buffer.from(bytes).readUInt32LE(0)); // poke stores little-endian: bytes in this order
    expect((await identifyChip(s)).variant).toBe(text);
    // What a 32-bit read of those bytes returns; decoding it MSB first would give the reverse.
    if (target === nrf9160) expect(s.peek(target.ficr.variant)).toBe(0x41434953);
  });

  it('reads nRF5340 INFO.VARIANT (uint32_t) most significant byte first: 0x514B4141 is "QKAA"', async () => {
    const s = new FakeSession(nrf5340);
    s.poke(nrf5340.ficr.variant, 0x514b4141);
    expect((await identifyChip(s)).variant).toBe('QKAA');
  });

  it('refuses an unknown part and a chip other than the one asked for', async () => {
    const s = new FakeSession(nrf5340);
    await expect(identifyChip(s, 'nrf9160')).rejects.toMatchObject({ code: 'CHIP_MISMATCH' });
    s.poke(nrf5340.ficr.part!, 0x52840);
    await expect(identifyChip(s)).rejects.toMatchObject({ code: 'UNKNOWN_DEVICE' });
  });
});

describe('KMU slots', () => {
  const value = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);

  it('writes select, DEST, VALUE (one 16-byte NVMC write), PERM, deselect, reading back inside the selection', async () => {
    const s = new FakeSession(nrf5340);
    const spec = nrf5340.huk.mkek[0];
    await writeKmuSlot(s, nrf5340, spec, value);
    const writes = s.calls.filter((c) => c.method.startsWith('write'));
    expect(writes.map((c) => [c.address, c.value ?? c.length, c.nvmc])).toEqual([
      [nrf5340.kmu.selectKeySlot, 3, false],
      [0x00ff8410, spec.dest, true],
      [0x00ff8820, 16, true],
      [0x00ff8414, KMU_PERM_HUK, true],
      [nrf5340.kmu.selectKeySlot, 0, false],
    ]);
    expect(s.calls).toHaveLength(7); // + VALUE read-back before PERM, DEST/PERM read-back after
    // The plan describes the same writes.
    expect(planKmuSlotWrite(nrf5340, spec, '<K>').map((w) => [w.address, typeof w.value === 'number' ? w.value : w.size, w.nvmc])).toEqual(writes.map((c) => [c.address, c.value ?? c.length, c.nvmc]));
    expect(value[0]).toBe(0x10); // the caller's buffer is untouched
  });

  it('classifies slots without returning key bytes: empty, written but unreadable, written and matching', async () => {
    const s = new FakeSession(nrf5340);
    expect(await readKmuSlot(s, nrf5340, 2)).toMatchObject({ index: 2, empty: true, value: 'erased' });
    await writeKmuSlot(s, nrf5340, nrf5340.huk.mkek[0], value);
    const huk = await readKmuSlot(s, nrf5340, 2);
    expect(huk).toMatchObject({ empty: false, perm: KMU_PERM_HUK, value: 'unreadable' });
    expect(huk).not.toHaveProperty('bytes');
    await writeKmuSlot(s, nrf5340, nrf5340.identityKey.slots[0], value);
    expect(await readKmuSlot(s, nrf5340, 6, { expectedValue: value })).toMatchObject({ perm: KMU_PERM_IDENTITY, value: 'written', valueMatches: true });
    const other = Uint8Array.from(value);
    other[15] ^= 1;
    expect(await readKmuSlot(s, nrf5340, 6, { expectedValue: other })).toMatchObject({ valueMatches: false });
  });

  it('reads a slot in 4 operations, 3 when PERM has READ disabled', async () => {
    const s = new FakeSession(nrf9160);
    const c = countOperations(s);
    await readKmuSlot(c.session, nrf9160, 4);
    expect(c.count()).toEqual({ operations: 4, writes: 2, nvmcWrites: 0 });
    s.poke(kmuPermAddress(nrf9160, 5), KMU_PERM_HUK);
    const c2 = countOperations(s);
    await readKmuSlot(c2.session, nrf9160, 5);
    expect(c2.count().operations).toBe(3);
  });

  it('does not write PERM over a VALUE that did not read back, and still deselects', async () => {
    const s = new FakeSession(nrf5340);
    s.poke(0x00ff8820, 0); // a stuck word: flash bits cannot go back to 1
    await expect(writeKmuSlot(s, nrf5340, nrf5340.huk.mkek[0], value)).rejects.toMatchObject({ code: 'VERIFY_FAILED', afterWrite: true });
    expect(s.calls.some((c) => c.address === 0x00ff8414 && c.method === 'writeU32')).toBe(false);
    expect(s.calls[s.calls.length - 1]).toMatchObject({ method: 'writeU32', address: nrf5340.kmu.selectKeySlot, value: 0 });
  });
});

describe('UICR head, implementation ID and the network core', () => {
  it('reads protection, lifecycle and implementation ID in one read', async () => {
    const s = new FakeSession(nrf9161);
    s.poke(nrf9161.uicr.approtect, 0x50fa50fa);
    const c = countOperations(s);
    const uicr = await readApplicationUicr(c.session, nrf9161);
    expect(c.count().operations).toBe(1);
    expect(uicr.protection).toMatchObject({ approtectOpen: true, secureApprotectOpen: false, eraseProtected: false });
    expect(uicr.lifecycle.state).toBe('ASSEMBLY');
    expect(uicr.implementationId.every((b) => b === 0xff)).toBe(true);
  });

  it('writes the implementation ID as one 32-byte NVMC write and reads it back', async () => {
    const s = new FakeSession(nrf5340);
    expect(await writeImplementationId(s, nrf5340, defaultImplementationId())).toBe(true);
    expect(s.calls[0]).toMatchObject({ method: 'write', address: 0x00ff8108, length: 32, nvmc: true });
    expect((await readApplicationUicr(s, nrf5340)).implementationId).toEqual(defaultImplementationId());
  });

  it('releases FORCEOFF before reaching the network core and locks its APPROTECT through its NVMC', async () => {
    const s = new FakeSession(nrf5340);
    const before = await readNetworkCore(s, nrf5340);
    expect(before).toMatchObject({ wasForcedOff: true, accessible: true, locked: false });
    // SPU PERIPHID[5].PERM picks the alias, then FORCEOFF, then the erratum 161 FICR words (issue 12.3).
    expect(s.calls.slice(0, 5)).toEqual([
      { method: 'readU32', core: 'application', address: 0x50003814 },
      { method: 'readU32', core: 'application', address: 0x50005614 },
      { method: 'readU32', core: 'application', address: 0x00ff0130 },
      { method: 'readU32', core: 'application', address: 0x00ff0134 },
      { method: 'writeU32', core: 'application', address: 0x50005614, value: 0, nvmc: false },
    ]);
    s.calls.length = 0;
    expect(await lockNetworkCore(s, nrf5340)).toBe(true);
    expect(s.calls).toEqual([
      { method: 'selectCore', core: 'network' },
      { method: 'writeU32', core: 'network', address: 0x01ff8000, value: 0, nvmc: true },
      { method: 'readU32', core: 'network', address: 0x01ff8000 },
      { method: 'selectCore', core: 'application' },
    ]);
    expect(await readNetworkCore(s, nrf5340)).toMatchObject({ wasForcedOff: false, locked: true, approtect: 0 });
  });

  it('takes a locked network debug port as locked', async () => {
    const s = new FakeSession(nrf5340);
    s.networkLocked = true;
    expect(await readNetworkCore(s, nrf5340)).toEqual({ wasForcedOff: true, accessible: false, locked: true });
    expect(s.calls[s.calls.length - 1]).toEqual({ method: 'selectCore', core: 'application' });
  });
});
