/** Debug access: APPROTECT latched at reset, CTRL-AP registers, erase-all, ERASEPROTECT, nRF5340 FORCEOFF. */
import { ERASED_WORD } from '../../lib/targets';
import { SimulatedDevice, syntheticImage } from '../../lib/testing';
import { expectCode, kinds, probe } from './helpers';

/** The nRF5340 CTRL-AP has no register at 0x00C (PS CTRL-AP map; lib/targets has no approtectStatus
 *  for it since issue 12.6): the simulator reads it as 0, like any register the port lacks. */
const NRF5340_CTRL_AP_0X00C = 0x00c;

describe('APPROTECT', () => {
  test('a protected device fails AHB-AP reads and writes with DEVICE_PROTECTED; CTRL-AP stays reachable', async () => {
    const { session, t } = await probe('nrf5340', { state: { approtect: true } });
    await expectCode(session.readU32(t.lifecycle.provisioning), 'DEVICE_PROTECTED');
    await expectCode(session.writeU32(0x20000000, 1), 'DEVICE_PROTECTED');
    await expectCode(session.read(0, 4), 'DEVICE_PROTECTED');
    await expectCode(session.halt(), 'DEVICE_PROTECTED');
    expect(await session.readAccessPort(t.application.ctrlAp, NRF5340_CTRL_AP_0X00C)).toBe(0);
    expect(await session.deviceInfo()).toEqual({ family: 'NRF53' });
  });

  test('writing APPROTECT = Protected takes effect at the next reset, not before', async () => {
    const { session, device, t } = await probe('nrf9161');
    await session.writeU32(t.uicr.approtect, 0, { nvmc: true });
    expect(await session.readU32(t.uicr.approtect)).toBe(0);
    expect(await session.readAccessPort(4, t.ctrlAp.approtectStatus!)).toBe(1);
    await session.reset('system');
    expect(device.isDebugOpen()).toBe(false);
    await expectCode(session.readU32(0), 'DEVICE_PROTECTED');
  });

  test('after an erase-all and reset, nRF5340 and nRF9161 lock (erased 0xFFFFFFFF is not 0x50FA50FA); nRF9160 stays open', async () => {
    for (const [chip, open] of [
      ['nrf5340', false],
      ['nrf9161', false],
      ['nrf9160', true],
    ] as const) {
      const { session, device } = await probe(chip);
      await session.eraseAll();
      await session.reset('system');
      expect([chip, device.isDebugOpen()]).toEqual([chip, open]);
    }
  });

  test('recover() (CTRL-AP ERASEALL) opens a locked device until the next reset, destroying lifecycle and keys', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { approtect: true, lifecycle: 'SECURED', kmuSlots: [{ index: 6, perm: 0xfffffffa }] } });
    await session.recover();
    expect(await session.readU32(t.lifecycle.provisioning)).toBe(ERASED_WORD);
    expect(device.lifecycle).toBe('ASSEMBLY');
    expect(device.dump().kmuSlots).toEqual([]);
    await session.reset('system');
    await expectCode(session.readU32(0), 'DEVICE_PROTECTED');
  });

  test('eraseAll() on a locked core uses CTRL-AP ERASEALL and opens it', async () => {
    const { session, device } = await probe('nrf9160', { state: { approtect: true, lifecycle: 'PROVISIONING' } });
    await session.eraseAll();
    expect(device.lifecycle).toBe('ASSEMBLY');
    expect(device.isDebugOpen()).toBe(true);
  });

  test('CTRL-AP ERASEALL register: ERASEALLSTATUS reads 1 for 173 ms of virtual time, then 0', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { approtect: true }, latencyMs: 0 });
    await session.writeAccessPort(t.application.ctrlAp, t.ctrlAp.eraseAll, 1);
    expect(await session.readAccessPort(t.application.ctrlAp, t.ctrlAp.eraseAllStatus)).toBe(1);
    device.runFor(173_000);
    expect(await session.readAccessPort(t.application.ctrlAp, t.ctrlAp.eraseAllStatus)).toBe(0);
    expect(await session.readAccessPort(t.application.ctrlAp, NRF5340_CTRL_AP_0X00C)).toBe(0);
  });

  test('CTRL-AP RESET: writing 1 then 0 resets the chip', async () => {
    const { session, device, t } = await probe('nrf9160');
    await session.writeU32(t.kmu.selectKeySlot, 3);
    await session.writeAccessPort(4, t.ctrlAp.reset, 1);
    expect(await session.readAccessPort(4, t.ctrlAp.reset)).toBe(1);
    await session.writeAccessPort(4, t.ctrlAp.reset, 0);
    expect(device.kmu.selected).toBe(0);
  });

  test('access-port indexes come from the target: nRF91 has its CTRL-AP at 4 and no AP 2', async () => {
    const { session, t } = await probe('nrf9160');
    expect(t.application.ctrlAp).toBe(4);
    expect(await session.readAccessPort(4, 0xfc)).not.toBe(0);
    await expectCode(session.readAccessPort(2, 0), 'INVALID_PARAMETER');
  });
});

describe('ERASEPROTECT', () => {
  test('recover() fails ERASE_PROTECTED and nothing is erased; ERASEPROTECT.STATUS reads 0 (enabled)', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { eraseProtect: true, approtect: true, lifecycle: 'SECURED' } });
    expect(await session.readAccessPort(2, t.ctrlAp.eraseProtectStatus!)).toBe(0);
    await expectCode(session.recover(), 'ERASE_PROTECTED');
    await session.writeAccessPort(2, t.ctrlAp.eraseAll, 1);
    expect(device.lifecycle).toBe('SECURED');
    expect(device.isDebugOpen()).toBe(false);
    expect(kinds(device)).toEqual(['ERASE_PROTECTED', 'ERASE_PROTECTED']);
  });

  test('ERASEPROTECT.STATUS reads 1 when not erase-protected', async () => {
    const { session, t } = await probe('nrf5340');
    expect(await session.readAccessPort(2, t.ctrlAp.eraseProtectStatus!)).toBe(1);
  });

  test('the firmware-agreed ERASEPROTECT.DISABLE key erases anyway; a wrong key does nothing', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { eraseProtect: true, approtect: true, lifecycle: 'SECURED', eraseProtectDisableKey: 0x1234abcd } });
    await session.writeAccessPort(2, t.ctrlAp.eraseProtectDisable!, 0x1111);
    expect(device.lifecycle).toBe('SECURED');
    await session.writeAccessPort(2, t.ctrlAp.eraseProtectDisable!, 0x1234abcd);
    expect(device.lifecycle).toBe('ASSEMBLY');
    expect(device.isDebugOpen()).toBe(true);
  });
});

describe('nRF5340 network core', () => {
  test('FORCEOFF is set by default: every network-core access fails NETWORK_CORE_FORCED_OFF', async () => {
    const { session, t } = await probe('nrf5340');
    expect(await session.readU32(t.network!.forceOff)).toBe(1);
    await session.selectCore('network');
    await expectCode(session.readU32(t.network!.uicrBase), 'NETWORK_CORE_FORCED_OFF');
    await expectCode(session.writeU32(t.network!.uicrBase, 0, { nvmc: true }), 'NETWORK_CORE_FORCED_OFF');
    await expectCode(session.eraseAll(), 'NETWORK_CORE_FORCED_OFF');
  });

  test('writing 0 to RESET.NETWORK.FORCEOFF releases it; an application-core reset sets it again', async () => {
    const { session, device, t } = await probe('nrf5340');
    await session.writeU32(t.network!.forceOff, 0);
    await session.selectCore('network');
    expect(await session.readU32(t.network!.approtect)).toBe(0x50fa50fa);
    await session.selectCore('application');
    await session.reset('system');
    expect(device.networkForcedOff).toBe(true);
    await session.selectCore('network');
    await expectCode(session.readU32(t.network!.approtect), 'NETWORK_CORE_FORCED_OFF');
  });

  test('network APPROTECT = 0 written through the network NVMC locks AP1 from the next network boot', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { networkForcedOff: false } });
    await session.selectCore('network');
    await session.writeU32(t.network!.approtect, 0, { nvmc: true });
    expect(device.isDebugOpen('network')).toBe(true);
    await session.reset('system'); // network core selected: resets the network core only
    await expectCode(session.readU32(t.network!.approtect), 'DEVICE_PROTECTED');
    expect(device.isDebugOpen('application')).toBe(true);
  });

  test('the network-locked preset locks AP1 once the core is released', async () => {
    const { session, t } = await probe('nrf5340', { state: { networkApprotect: true } });
    await session.writeU32(t.network!.forceOff, 0);
    await session.selectCore('network');
    await expectCode(session.readU32(0x01000000), 'DEVICE_PROTECTED');
  });

  test('the network core flash and UICR need the network NVMC (0x41080000), not the application one', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { networkForcedOff: false } });
    await session.writeU32(t.nvmc.config, 1); // application NVMC in write mode
    await session.selectCore('network');
    await session.writeU32(t.network!.approtect, 0);
    expect(kinds(device)).toEqual(['WRITE_WITHOUT_WEN']);
    await session.writeU32(t.network!.nvmcBase + 0x504, 1);
    await session.writeU32(t.network!.approtect, 0);
    expect(device.peekU32(t.network!.approtect, 'network')).toBe(0);
  });

  test('released by the debugger, the network core boots its firmware with the next transaction', async () => {
    const device = SimulatedDevice.create({ chip: 'nrf5340', deviceId: '0123456789abcdef' });
    const image = syntheticImage({ chip: 'nrf5340', kind: 'network' });
    device.programFlash('network', image.address, image.data);
    const { session, t } = await probe('nrf5340', { device });
    await session.writeU32(t.network!.forceOff, 0);
    expect(device.runningFirmware('network')).toBeUndefined();
    await session.readU32(t.ficr.deviceId0); // any transaction but a halt of the network core
    expect(device.runningFirmware('network')).toBe('network-image');
    device.runUntilIdle();
    expect(device.peekU32(t.network!.approtect, 'network')).toBe(0);
  });

  test('a halt as the very next transaction stops the released network core before its first instruction; go() starts it', async () => {
    const device = SimulatedDevice.create({ chip: 'nrf5340', deviceId: '0123456789abcdef' });
    const image = syntheticImage({ chip: 'nrf5340', kind: 'network' });
    device.programFlash('network', image.address, image.data);
    const { session, t } = await probe('nrf5340', { device, latencyMs: 50 });
    await session.writeU32(t.network!.forceOff, 0);
    await session.selectCore('network'); // the probe library's bookkeeping: no transaction to a core
    await session.halt();
    await session.readU32(t.network!.approtect);
    device.runUntilIdle();
    expect(device.isRunning('network')).toBe(false);
    expect(device.peekU32(t.network!.approtect, 'network')).toBe(0x50fa50fa);
    expect(device.console).toEqual([]);
    await session.go();
    device.runUntilIdle();
    expect(device.peekU32(t.network!.approtect, 'network')).toBe(0);
  });

  test('nRF91 has no network core to select', async () => {
    const { session } = await probe('nrf9160');
    await expectCode(session.selectCore('network'), 'INVALID_PARAMETER');
    await expectCode(session.selectCore('modem'), 'INVALID_PARAMETER');
    expect(() => SimulatedDevice.create({ chip: 'nrf9160', state: { networkApprotect: true } })).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  });
});
