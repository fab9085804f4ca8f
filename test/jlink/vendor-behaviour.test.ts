/**
 * The `jlink` backend (REAL addon) against the fake libjlinkarm's documented rules (issue 12; each
 * rule's source is in test/fixtures/fake-jlink/fake_jlink.c, test/fixtures/nrf-model/nrf_model.h and
 * docs/vendor-behaviour.md). Each test names the point of issue 12 it pins; each fails on the
 * backend before that point was done.
 */
import { readNetworkCore, releaseNetworkCore, holdNetworkCore } from '../../lib/device/network-core';
import { provision, verify } from '../../lib/provision';
import type { ProbeSession } from '../../lib/probe/types';
import { seededRandom } from '../../lib/random';
import { getTarget } from '../../lib/targets';
import {
  clearFakeJlinkTrace,
  fakeJlinkBinding,
  readFakeJlinkState,
  readFakeJlinkTrace,
  setupFakeJlink,
  type FakeJlinkOptions,
  type FakeJlinkSetup,
} from '../support/fake-jlink';
import { rejection } from '../support/rejection';

const nrf5340 = getTarget('nrf5340');
const OPEN = 0x50fa50fa;

let fake: FakeJlinkSetup;
const open: ProbeSession[] = [];

async function setup(probes: FakeJlinkOptions['probes'], extra: Partial<FakeJlinkOptions> = {}): Promise<void> {
  fake = await setupFakeJlink({ probes, busyPolls: 1, trace: true, ...extra });
}

async function openProbe(serial: number, family?: 'NRF53' | 'NRF91'): Promise<ProbeSession> {
  const session = await fakeJlinkBinding().open(serial, family ? { family } : {});
  open.push(session);
  return session;
}

async function closeAll(): Promise<void> {
  await Promise.all(open.splice(0).map((s) => s.close()));
}

function events(serial: number): string[] {
  return readFakeJlinkTrace(fake.tracePath!)
    .map((l) => l.raw)
    .filter((l) => l.startsWith(`${serial} `))
    .map((l) => l.slice(String(serial).length + 1));
}

function word(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

afterEach(async () => {
  await closeAll();
  await fake?.dispose();
});

describe('12.3 nRF5340 network core release', () => {
  it('waits for a just-released network core to power up instead of calling it locked', async () => {
    await setup([{ serial: 7101, chip: 'nrf5340', powerupPolls: 3 }]);
    const session = await openProbe(7101);
    expect(await readNetworkCore(session, nrf5340)).toMatchObject({ wasForcedOff: true, accessible: true, locked: false, approtect: 0xffffffff });
  });

  it('still reports a locked network core as locked once the wait is over', async () => {
    await setup([{ serial: 7102, chip: 'nrf5340', netLocked: true, powerupPolls: 2 }]);
    const session = await openProbe(7102);
    expect(await readNetworkCore(session, nrf5340)).toEqual({ wasForcedOff: true, accessible: false, locked: true });
  });

  it('releases and holds FORCEOFF at the non-secure alias when firmware made RESET non-secure', async () => {
    await setup([{ serial: 7103, chip: 'nrf5340', resetNonsecure: true }]);
    const session = await openProbe(7103);
    expect(await releaseNetworkCore(session, nrf5340)).toBe(true);
    await holdNetworkCore(session, nrf5340);
    const writes = events(7103).filter((l) => l.startsWith('JLINKARM_WriteU32 0x40005614') || l.startsWith('JLINKARM_WriteU32 0x50005614'));
    expect(writes.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(['JLINKARM_WriteU32 0x40005614 0x00000000', 'JLINKARM_WriteU32 0x40005614 0x00000001']);
    expect(events(7103).some((l) => l.includes('forceoff-wrong-alias'))).toBe(false);
  });

  it('applies the erratum 161 release sequence on affected silicon, so the network core powers up', async () => {
    await setup([{ serial: 7104, chip: 'nrf5340', erratum161: true }]);
    const session = await openProbe(7104);
    expect(await readNetworkCore(session, nrf5340)).toMatchObject({ accessible: true, locked: false });
    const sequence = events(7104)
      .filter((l) => /^JLINKARM_WriteU32 0x5000561[48]/.test(l))
      .map((l) => l.split(' ').slice(1, 3).join(' '));
    expect(sequence).toEqual(['0x50005618 0x00000001', '0x50005614 0x00000000', '0x50005614 0x00000001', '0x50005614 0x00000000', '0x50005618 0x00000000']);
    expect(events(7104).some((l) => l.includes('erratum-161 release without workaround'))).toBe(false);
  });

  it('the backend itself waits for the core it released when the network core is selected directly', async () => {
    await setup([{ serial: 7105, chip: 'nrf5340', powerupPolls: 4 }]);
    const session = await openProbe(7105);
    await session.selectCore('network');
    expect(await session.readU32(nrf5340.network!.approtect)).toBe(0xffffffff);
  });
});

describe('12.4 J-Link dialogs and set-up', () => {
  it('connecting to a locked nRF5340 answers the unsecure dialog with No: nothing is erased', async () => {
    await setup([{ serial: 7201, chip: 'nrf5340', locked: true }]);
    // With the family known, J-Link is told the Nordic device, whose locked state it recognises.
    const session = await openProbe(7201, 'NRF53');
    expect((await rejection(session.readU32(0))).code).toBe('DEVICE_PROTECTED');
    await closeAll();
    expect(events(7201).filter((l) => l.startsWith('event unsecure-dialog'))).not.toHaveLength(0);
    expect(events(7201).filter((l) => l.startsWith('event unsecure-dialog')).every((l) => l === 'event unsecure-dialog hook answered 2')).toBe(true);
    expect(events(7201)).not.toContain('event unsecure-dialog mass-erase');
    const state = readFakeJlinkState(fake.stateDir, 7201, 'nrf5340');
    expect(word(state.application!.uicr, 0)).toBe(0); // APPROTECT still Protected: not erased
    expect(state.application!.locked).toBe(true);
  });

  it('the same on a locked nRF9161', async () => {
    await setup([{ serial: 7202, chip: 'nrf9161', locked: true }]);
    await openProbe(7202, 'NRF91');
    await closeAll();
    expect(events(7202)).toContain('event unsecure-dialog hook answered 2');
    expect(events(7202)).not.toContain('event unsecure-dialog mass-erase');
    expect(readFakeJlinkState(fake.stateDir, 7202, 'nrf9161').application!.locked).toBe(true);
  });

  it('refuses a J-Link library older than V6.42 with JLINK_LIBRARY_TOO_OLD', async () => {
    await setup([{ serial: 7203, chip: 'nrf5340' }], { version: 64000 });
    const error = await rejection((async () => fakeJlinkBinding().libraryInfo())());
    expect(error.code).toBe('JLINK_LIBRARY_TOO_OLD');
    expect(error.message).toMatch(/V6\.40.*V6\.42/);
  });
});

describe('12.5 recover end state (hardened APPROTECT at reset)', () => {
  it('nRF5340: recover leaves UICR.APPROTECT open on both cores (as nrfjprog), so the device stays open after a reset', async () => {
    await setup([{ serial: 7301, chip: 'nrf5340', locked: true, netLocked: true, hardened: true }]);
    const session = await openProbe(7301);
    await session.recover();
    await session.reset('system');
    expect(await session.readU32(nrf5340.uicr.approtect)).toBe(OPEN);
    await session.writeU32(nrf5340.network!.forceOff, 0);
    await session.selectCore('network');
    expect(await session.readU32(nrf5340.network!.approtect)).toBe(OPEN);
  });

  it('nRF9161: the erase-all opens the port at the CTRL-AP reset after it, and recover writes the open value', async () => {
    const nrf9161 = getTarget('nrf9161');
    await setup([{ serial: 7302, chip: 'nrf9161', locked: true, hardened: true }]);
    const session = await openProbe(7302);
    await session.recover();
    await session.reset('system');
    expect(await session.readU32(nrf9161.uicr.approtect)).toBe(OPEN);
  });

  it('a recover that cannot reconnect does not blame ERASEPROTECT when the chip says it is off', async () => {
    await setup([{ serial: 7303, chip: 'nrf5340', locked: true }], { failures: [{ function: 'JLINKARM_Connect', call: 2, code: -1, sticky: true }] });
    const session = await openProbe(7303);
    const error = await rejection(session.recover());
    expect(error.code).toBe('RECOVER_FAILED');
    expect(error.message).not.toMatch(/ERASEPROTECT/);
  });
});

describe('12.6 lock detection per chip', () => {
  it('nRF91: a locked device is told from CTRL-AP APPROTECTSTATUS (its AHB-AP CSW says nothing) and opens for recover', async () => {
    await setup([{ serial: 7401, chip: 'nrf9160', locked: true }]);
    const session = await openProbe(7401);
    expect(await session.deviceInfo()).toEqual({ family: 'NRF91' });
    expect((await rejection(session.readU32(0))).code).toBe('DEVICE_PROTECTED');
    await session.recover();
    expect(await session.readU32(0)).toBe(0xffffffff);
  });

  it('lib/targets gives each chip the lock check it has: no CTRL-AP APPROTECTSTATUS on nRF5340', () => {
    expect(nrf5340.ctrlAp.approtectStatus).toBeUndefined();
    expect(nrf5340.application.debugLock).toEqual({ kind: 'ahbApCswDeviceEn' });
    expect(getTarget('nrf9160').application.debugLock).toEqual({ kind: 'ctrlApApprotectStatus', register: 0x00c });
  });
});

describe('12.10 DP SELECT', () => {
  it('puts DP SELECT back on AP0 after CoreSight accesses, before J-Link memory calls', async () => {
    await setup([{ serial: 7501, chip: 'nrf5340' }]);
    const session = await openProbe(7501);
    expect(await session.readAccessPort(2, 0xfc)).toBe(0x12880000);
    clearFakeJlinkTrace(fake.tracePath!);
    expect(await session.readU32(nrf5340.ficr.part!)).toBe(0x5340);
    expect(events(7501).some((l) => l.startsWith('event memory-call-with-select'))).toBe(false);
    expect(events(7501)[0]).toMatch(/^JLINKARM_CORESIGHT_WriteAPDPReg 2 0 0x00000000 -> 0/);
  });
});

describe('the addon from list to verify on the fake J-Link', () => {
  it('lists the probe, opens it, provisions, and verifies', async () => {
    await setup([{ serial: 7601, chip: 'nrf5340' }], { trace: false });
    const binding = fakeJlinkBinding();
    expect((await binding.list()).map((p) => p.serialNumber)).toEqual([7601]);
    const session = await binding.open(7601);
    open.push(session);
    const result = await provision(session, { random: seededRandom('list-to-verify') });
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned' });
    const checked = await verify(session);
    expect(checked.ok).toBe(true);
  });
});
