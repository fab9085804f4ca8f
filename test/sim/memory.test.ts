/** FICR, NVMC and UICR OTP rules of the simulated chips, each pinned with the violation or error it gives. */
import { ERASED_WORD, NVMC_EEN, NVMC_WEN } from '../../lib/targets';
import { SimulatedDevice } from '../../lib/testing';
import { DEVICE_ID, expectCode, kinds, probe } from './helpers';

describe('FICR', () => {
  test('DEVICEID words hold the device ID as little-endian bytes, PART/VARIANT at their real addresses (nRF5340)', async () => {
    const { session, t } = await probe('nrf5340');
    expect(await session.readU32(t.ficr.deviceId0)).toBe(0x67452301);
    expect(await session.readU32(t.ficr.deviceId1)).toBe(0xefcdab89);
    expect(await session.readU32(t.ficr.part!)).toBe(0x5340);
    expect(await session.readU32(t.ficr.variant)).toBe(0x514b4141);
    expect(await session.deviceInfo()).toEqual({ family: 'NRF53', part: 0x5340, variant: 'QKAA' });
  });

  test('nRF9160 has SIPINFO.PARTNO and no INFO.PART; nRF9161 has INFO.PART', async () => {
    const a = await probe('nrf9160');
    expect(await a.session.readU32(a.t.ficr.sipPartNo!)).toBe(0x9160);
    expect(await a.session.readU32(0x00ff020c)).toBe(ERASED_WORD);
    const b = await probe('nrf9161');
    expect(await b.session.readU32(b.t.ficr.part!)).toBe(0x9161);
    expect(await b.session.readU32(b.t.ficr.sipPartNo!)).toBe(0x9161);
  });

  test('the network core has its own FICR with the same device ID', async () => {
    const { session, t } = await probe('nrf5340', { state: { networkForcedOff: false } });
    await session.selectCore('network');
    expect(await session.readU32(t.network!.ficrBase + 0x204)).toBe(0x67452301);
  });

  test('FICR is read-only: a write is ignored and reported FICR_WRITE', async () => {
    const { session, device, t } = await probe();
    await session.writeU32(t.nvmc.config, NVMC_WEN);
    await session.writeU32(t.ficr.deviceId0, 0);
    expect(await session.readU32(t.ficr.deviceId0)).toBe(0x67452301);
    expect(kinds(device)).toEqual(['FICR_WRITE']);
  });

  test('a random device ID is 16 lowercase hex digits', () => {
    expect(SimulatedDevice.create({ chip: 'nrf9160' }).deviceId).toMatch(/^[0-9a-f]{16}$/u);
  });

  test('a malformed device ID is refused', () => {
    expect(() => SimulatedDevice.create({ chip: 'nrf5340', deviceId: '0123' })).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  });
});

describe('NVMC', () => {
  test('a flash write without CONFIG = Wen is ignored: WRITE_WITHOUT_WEN', async () => {
    const { session, device } = await probe();
    await session.writeU32(0x1000, 0x12345678);
    expect(device.peekU32(0x1000)).toBe(ERASED_WORD);
    expect(device.violations[0]).toMatchObject({ kind: 'WRITE_WITHOUT_WEN', core: 'application', address: 0x1000, value: 0x12345678, by: 'probe' });
  });

  test('a UICR write without Wen is ignored: WRITE_WITHOUT_WEN', async () => {
    const { session, device, t } = await probe();
    await session.writeU32(t.lifecycle.provisioning, 0xffff0000);
    expect(device.lifecycle).toBe('ASSEMBLY');
    expect(kinds(device)).toEqual(['WRITE_WITHOUT_WEN']);
  });

  test('with CONFIG = Wen set by the host, raw writes program; bits are only cleared (new = old AND value)', async () => {
    const { session, device, t } = await probe();
    await session.writeU32(t.nvmc.config, NVMC_WEN);
    await session.writeU32(0x2000, 0x0f0f0f0f);
    await session.writeU32(0x2000, 0xff00ff00);
    expect(await session.readU32(0x2000)).toBe(0x0f000f00);
    expect(device.violations).toEqual([]);
  });

  test('a third write to a word between erases leaves it undefined: THIRD_WRITE', async () => {
    const { session, device } = await probe();
    for (const value of [0xfffffff0, 0xffffff00, 0xfffff000]) await session.writeU32(0x3000, value, { nvmc: true });
    expect(kinds(device)).toEqual(['THIRD_WRITE']);
    expect(device.violations[0]!.message).toMatch(/third time/u);
    expect(device.peekU32(0x3000)).not.toBe(0xfffff000);
  });

  test('writing 0xFFFFFFFF to a page start in erase mode erases the page and its write counts', async () => {
    const { session, device, t } = await probe();
    await session.writeU32(0x4004, 0, { nvmc: true });
    await session.writeU32(0x4004, 0, { nvmc: true });
    await session.writeU32(t.nvmc.config, NVMC_EEN);
    await session.writeU32(0x4000, ERASED_WORD);
    expect(device.peekU32(0x4004)).toBe(ERASED_WORD);
    await session.writeU32(t.nvmc.config, 0);
    await session.writeU32(0x4004, 1, { nvmc: true });
    await session.writeU32(0x4004, 0, { nvmc: true });
    expect(device.violations).toEqual([]);
  });

  test('in erase mode any other write is ignored: WRITE_IN_ERASE_MODE', async () => {
    const { session, device, t } = await probe();
    await session.writeU32(0x5000, 0x11111111, { nvmc: true });
    await session.writeU32(t.nvmc.config, NVMC_EEN);
    await session.writeU32(0x5004, ERASED_WORD);
    await session.writeU32(0x5000, 0);
    expect(device.peekU32(0x5000)).toBe(0x11111111);
    expect(kinds(device)).toEqual(['WRITE_IN_ERASE_MODE', 'WRITE_IN_ERASE_MODE']);
  });

  test('UICR cannot be page-erased: erase-mode write gives UICR_PAGE_ERASE, erasePage() rejects', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { lifecycle: 'PROVISIONING' } });
    await session.writeU32(t.nvmc.config, NVMC_EEN);
    await session.writeU32(t.application.uicrBase, ERASED_WORD);
    await session.writeU32(t.nvmc.config, 0);
    await expectCode(session.erasePage(t.application.uicrBase), 'INVALID_PARAMETER');
    expect(kinds(device)).toEqual(['UICR_PAGE_ERASE', 'UICR_PAGE_ERASE']);
    expect(device.lifecycle).toBe('PROVISIONING');
  });

  test('erasePage() erases one flash page and refuses an address that is not a page start', async () => {
    const { session, device } = await probe();
    await session.write(0x1000, new Uint8Array(8192).fill(0), { nvmc: true });
    await session.erasePage(0x1000);
    expect(device.peekU32(0x1000)).toBe(ERASED_WORD);
    expect(device.peekU32(0x2000)).toBe(0);
    await expectCode(session.erasePage(0x2004), 'INVALID_PARAMETER');
  });

  test('READY is 0 for tWRITE = 43 us after a word write, 87.5 ms after a page erase, 173 ms after ERASEALL', async () => {
    const { session, device, t } = await probe('nrf5340', { latencyMs: 0 });
    await session.writeU32(t.nvmc.config, NVMC_WEN);
    await session.writeU32(0x6000, 0);
    expect(await session.readU32(t.nvmc.ready)).toBe(0);
    device.runFor(42);
    expect(await session.readU32(t.nvmc.ready)).toBe(0);
    device.runFor(1);
    expect(await session.readU32(t.nvmc.ready)).toBe(1);
    await session.writeU32(t.nvmc.config, NVMC_EEN);
    await session.writeU32(0x6000, ERASED_WORD);
    device.runFor(87_499);
    expect(await session.readU32(t.nvmc.ready)).toBe(0);
    device.runFor(1);
    expect(await session.readU32(t.nvmc.ready)).toBe(1);
    await session.writeU32(t.nvmc.eraseAll, 1);
    device.runFor(172_999);
    expect(await session.readU32(t.nvmc.ready)).toBe(0);
    device.runFor(1);
    expect(await session.readU32(t.nvmc.ready)).toBe(1);
  });

  test('a write with { nvmc: true } is one probe operation that waits for READY after each word', async () => {
    const { session, binding, device } = await probe('nrf5340', { latencyMs: 0 });
    await session.write(0x8000, new Uint8Array(16).fill(0x5a), { nvmc: true });
    expect(binding.operations(100000001)).toHaveLength(1);
    expect(device.virtualTimeUs).toBe(4 * 43);
    expect(device.peekU32(0x800c)).toBe(0x5a5a5a5a);
  });

  test('a partial-word flash write under NVMC control pads with 0xFF; without it, it is NON_WORD_ACCESS', async () => {
    const { session, device } = await probe();
    await session.write(0x9001, Uint8Array.of(0x11, 0x22), { nvmc: true });
    expect(device.peekU32(0x9000)).toBe(0xff2211ff);
    await session.writeU32(device.target.nvmc.config, NVMC_WEN);
    await session.write(0x9101, Uint8Array.of(0x11));
    expect(device.peekU32(0x9100)).toBe(ERASED_WORD);
    expect(kinds(device)).toEqual(['NON_WORD_ACCESS']);
  });

  test('NVMC ERASEALL needs CONFIG = Een: ERASEALL_WITHOUT_EEN', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { lifecycle: 'SECURED' } });
    await session.writeU32(t.nvmc.eraseAll, 1);
    expect(device.lifecycle).toBe('SECURED');
    expect(kinds(device)).toEqual(['ERASEALL_WITHOUT_EEN']);
  });

  test('eraseAll() clears flash and UICR (lifecycle and KMU keys) of the core; debug stays open until reset', async () => {
    const { session, device, t } = await probe('nrf9160', {
      state: { lifecycle: 'SECURED', kmuSlots: [{ index: 2, dest: 0x50841400, perm: 0xfffffffc, value: '00'.repeat(16) }] },
    });
    await session.write(0, new Uint8Array(4), { nvmc: true });
    await session.eraseAll();
    expect(device.lifecycle).toBe('ASSEMBLY');
    expect(device.dump().kmuSlots).toEqual([]);
    expect(device.peekU32(0)).toBe(ERASED_WORD);
    expect(device.peekU32(t.uicr.approtect)).toBe(ERASED_WORD);
    expect(device.isDebugOpen()).toBe(true);
  });

  test('nRF5340: an erase-all of the network core also erases the application core', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { lifecycle: 'PROVISIONING', networkForcedOff: false } });
    await session.selectCore('network');
    await session.write(t.network!.flash.base, new Uint8Array(4), { nvmc: true });
    await session.eraseAll();
    expect(device.lifecycle).toBe('ASSEMBLY');
    expect(device.peekU32(t.network!.flash.base, 'network')).toBe(ERASED_WORD);
  });

  test('with ERASEPROTECT set, eraseAll() fails ERASE_PROTECTED and erases nothing', async () => {
    const { session, device } = await probe('nrf5340', { state: { eraseProtect: true, lifecycle: 'PROVISIONING' } });
    await expectCode(session.eraseAll(), 'ERASE_PROTECTED');
    expect(device.lifecycle).toBe('PROVISIONING');
    expect(kinds(device)).toEqual(['ERASE_PROTECTED']);
  });
});

describe('UICR', () => {
  test('32-bit accesses only: a byte or unaligned write is ignored, NON_WORD_ACCESS', async () => {
    const { session, device, t } = await probe();
    await session.write(t.lifecycle.provisioning, Uint8Array.of(0, 0), { nvmc: true });
    await session.write(t.lifecycle.provisioning + 2, Uint8Array.of(0, 0, 0, 0), { nvmc: true });
    expect(device.lifecycle).toBe('ASSEMBLY');
    expect(kinds(device)).toEqual(['NON_WORD_ACCESS', 'NON_WORD_ACCESS']);
  });

  test('readU32 at an unaligned address is refused INVALID_PARAMETER', async () => {
    const { session, t } = await probe();
    await expectCode(session.readU32(t.lifecycle.secure), 'INVALID_PARAMETER');
  });
});

describe('UICR OTP (lifecycle, implementation ID)', () => {
  test.each(['nrf5340', 'nrf9160', 'nrf9161'] as const)('%s: the documented words step ASSEMBLY -> PROVISIONING -> SECURED -> DECOMMISSIONED', async (chip) => {
    const { session, device, t } = await probe(chip);
    const base = t.lifecycle.provisioning;
    expect(device.lifecycle).toBe('ASSEMBLY');
    await session.writeU32(base, 0xffff0000, { nvmc: true });
    expect(device.lifecycle).toBe('PROVISIONING');
    await session.writeU32(base, 0x0000ffff, { nvmc: true });
    expect(device.lifecycle).toBe('SECURED');
    await session.writeU32(base + 4, 0x0000ffff, { nvmc: true });
    expect(device.lifecycle).toBe('DECOMMISSIONED');
    expect(device.violations).toEqual([]);
  });

  test('a halfword that is no longer 0xFFFF cannot be written again: the whole write is ignored, OTP_HALF_REWRITE, KMU STATUS.BLOCKED', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { lifecycle: 'PROVISIONING' } });
    // 0x00000000 writes the SECURED half (allowed) and the PROVISIONING half again (not allowed).
    await session.writeU32(t.lifecycle.provisioning, 0x00000000, { nvmc: true });
    expect(device.lifecycle).toBe('PROVISIONING');
    expect(kinds(device)).toEqual(['OTP_HALF_REWRITE']);
    expect(await session.readU32(t.kmu.status)).toBe(2);
  });

  test('rewriting an entered state with the same value is still a rewrite', async () => {
    const { session, device, t } = await probe('nrf9160', { state: { lifecycle: 'PROVISIONING' } });
    await session.writeU32(t.lifecycle.provisioning, 0xffff0000, { nvmc: true });
    expect(kinds(device)).toEqual(['OTP_HALF_REWRITE']);
  });

  test('the implementation ID is 8 whole words (both halves at once)', async () => {
    const { session, device, t } = await probe('nrf9161');
    await session.write(t.implementationId.address, new Uint8Array(32).fill(0xaa), { nvmc: true });
    expect(device.dump().implementationId).toBe('aa'.repeat(32));
    expect(device.violations).toEqual([]);
  });

  test('partial lifecycle halfwords (a torn write) decode as invalid', () => {
    const device = SimulatedDevice.create({ chip: 'nrf5340', deviceId: DEVICE_ID, state: { lifecycleWords: { provisioning: 0x00ff } } });
    expect(device.lifecycle).toBe('INVALID');
    expect(device.lifecycleWords()).toEqual({ provisioning: 0x00ff, secure: 0xffff, reserved: 0xffff, decommissioned: 0xffff });
  });
});
