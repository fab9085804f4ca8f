/**
 * The `jlink` backend through the REAL addon against the fake libjlinkarm: the sequences it drives
 * (open, NVMC control, CTRL-AP erase-all, FORCEOFF release and AP1, resets) are read back from the
 * fake's call trace, and their effects from the fake's device model.
 */
import type { OpenOptions, ProbeLogEntry, ProbeSession } from '../../lib/probe/types';
import { getTarget } from '../../lib/targets';
import {
  apAccesses,
  clearFakeJlinkTrace,
  fakeJlinkBinding,
  readFakeJlinkTrace,
  setupFakeJlink,
  type FakeJlinkOptions,
  type FakeJlinkSetup,
  type TraceLine,
} from '../support/fake-jlink';
import { rejection } from '../support/rejection';

const NRF5340 = 3001;
const NRF9160 = 3002;
const NRF9161 = 3003;
const LOCKED_NRF5340 = 3004;
const LOCKED_NRF9160 = 3005;
const NET_LOCKED_NRF5340 = 3006;
const BUSY_POLLS = 3;

const app = getTarget('nrf5340').application;
const net = getTarget('nrf5340').network!;
const NVMC_READY = app.nvmcBase + 0x400;
const NVMC_CONFIG = app.nvmcBase + 0x504;

const probes: FakeJlinkOptions['probes'] = [
  { serial: NRF5340, chip: 'nrf5340' },
  { serial: NRF9160, chip: 'nrf9160' },
  { serial: NRF9161, chip: 'nrf9161' },
  { serial: LOCKED_NRF5340, chip: 'nrf5340', locked: true },
  { serial: LOCKED_NRF9160, chip: 'nrf9160', locked: true },
  { serial: NET_LOCKED_NRF5340, chip: 'nrf5340', netLocked: true },
];

let fake: FakeJlinkSetup;
const open: ProbeSession[] = [];

beforeEach(async () => {
  // A fresh configuration folder per test: device state starts from the presets.
  fake = await setupFakeJlink({ probes, busyPolls: BUSY_POLLS, trace: true });
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  await fake.dispose();
});

async function openProbe(serial: number, options: OpenOptions = {}): Promise<ProbeSession> {
  const session = await fakeJlinkBinding().open(serial, options);
  open.push(session);
  return session;
}

function trace(serial: number): TraceLine[] {
  return readFakeJlinkTrace(fake.tracePath!).filter((l) => l.serial === serial);
}

/** Memory calls as short strings: "R 0x50039400 = 0x00000001", "W 0x50039504 0x00000001". */
function memoryOps(serial: number): string[] {
  return trace(serial).flatMap((l) => {
    if (l.call === 'JLINKARM_ReadMemEx') return [`R ${l.args[0]} = ${(l.result ?? '').split(' ')[1]}`];
    if (l.call === 'JLINKARM_WriteU32') return [`W ${l.args[0]} ${l.args[1]}`];
    if (l.call === 'JLINKARM_WriteMemEx') return [`WB ${l.args[0]} ${l.args[1]}`];
    return [];
  });
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

describe('opening', () => {
  // Issue 12.4: fails on the code before it, which selected the device before SWD and installed no hook.
  it('opens by serial number, installs the unsecure-dialog hook, turns dialogs off, selects SWD and speed, and only then the device', async () => {
    await openProbe(NRF5340, { family: 'NRF53', speedKhz: 1000 });
    const calls = trace(NRF5340).map((l) => l.raw.slice(String(NRF5340).length + 1));
    const order = [
      'JLINKARM_EMU_SelectByUSBSN',
      'JLINKARM_OpenEx',
      'JLINK_SetHookUnsecureDialog set',
      'JLINKARM_ExecCommand "SetBatchMode = 1" -> ""',
      'JLINKARM_TIF_Select 1',
      'JLINKARM_SetSpeed 1000',
      'JLINKARM_ExecCommand "Device = nRF5340_xxAA_APP"',
      'JLINKARM_ExecCommand "DisableFlashDL"',
      'JLINKARM_Connect -> 0',
    ].map((prefix) => calls.findIndex((c) => c.startsWith(prefix)));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // `Device =` connects by itself over the selected interface: SWD by then, so it succeeds.
    expect(calls.some((c) => c.startsWith('event auto-connect-failed'))).toBe(false);
  });

  it('uses 4000 kHz by default and nRF9160_xxAA for the whole nRF91 family', async () => {
    await openProbe(NRF9161, { family: 'NRF91' });
    const raw = trace(NRF9161).map((l) => l.raw);
    expect(raw.some((l) => l.includes('JLINKARM_SetSpeed 4000'))).toBe(true);
    expect(raw.some((l) => l.includes('"Device = nRF9160_xxAA"'))).toBe(true);
  });

  it('identifies the family from FICR when no hint is given', async () => {
    expect(await (await openProbe(NRF5340)).deviceInfo()).toEqual({ family: 'NRF53' });
    expect(await (await openProbe(NRF9160)).deviceInfo()).toEqual({ family: 'NRF91' });
    expect(await (await openProbe(NRF9161)).deviceInfo()).toEqual({ family: 'NRF91' });
  });

  it('refuses a family hint that does not match the chip with WRONG_FAMILY', async () => {
    const error = await rejection(openProbe(NRF5340, { family: 'NRF91' }));
    expect(error.code).toBe('WRONG_FAMILY');
    expect(error.message).toContain('nRF5340');
  });

  it('reports an unknown serial number as PROBE_NOT_FOUND', async () => {
    const error = await rejection(openProbe(999));
    expect(error.code).toBe('PROBE_NOT_FOUND');
    expect(error.operation).toBe('JLINKARM_EMU_SelectByUSBSN');
  });

  it('marks sessions on the fake library as simulated and names the backend', async () => {
    const session = await openProbe(NRF5340);
    expect(session.simulated).toBe(true);
    expect(session.backend).toBe('jlink');
  });
});

describe('memory and NVMC', () => {
  it('reads FICR through the AHB-AP and writes RAM byte-exactly, also unaligned', async () => {
    const session = await openProbe(NRF5340);
    expect(await session.readU32(0x00ff020c)).toBe(0x5340);
    await session.write(0x20000001, new Uint8Array([1, 2, 3]));
    expect(Array.from(await session.read(0x20000000, 6))).toEqual([0, 1, 2, 3, 0, 0]);
  });

  it('an NVMC write: READY, CONFIG = Wen, the write, READY polled until ready, CONFIG = Ren', async () => {
    const session = await openProbe(NRF5340);
    clearFakeJlinkTrace(fake.tracePath!);
    await session.writeU32(0x00ff8100, 0xffff0000, { nvmc: true });
    expect(memoryOps(NRF5340)).toEqual([
      `R ${hex(NVMC_READY)} = 0x00000001`,
      `W ${hex(NVMC_CONFIG)} 0x00000001`,
      'W 0x00ff8100 0xffff0000',
      ...Array(BUSY_POLLS).fill(`R ${hex(NVMC_READY)} = 0x00000000`),
      `R ${hex(NVMC_READY)} = 0x00000001`,
      `W ${hex(NVMC_CONFIG)} 0x00000000`,
    ]);
    expect(trace(NRF5340).some((l) => l.raw.includes('nvmc-config-while-busy'))).toBe(false);
    expect(await session.readU32(0x00ff8100)).toBe(0xffff0000);
  });

  it('has flash semantics: plain writes do not program, NVMC writes only clear bits', async () => {
    const session = await openProbe(NRF5340);
    await session.writeU32(0x00002000, 0x12345678);
    expect(await session.readU32(0x00002000)).toBe(0xffffffff);
    await session.writeU32(0x00002000, 0xf0f0f0f0, { nvmc: true });
    await session.writeU32(0x00002000, 0x0ff00ff0, { nvmc: true });
    expect(await session.readU32(0x00002000)).toBe(0x00f000f0);
  });

  it('writes an unaligned NVMC block with 0xFF padding, leaving the neighbouring bytes as they were', async () => {
    const session = await openProbe(NRF5340);
    await session.write(0x00003000, new Uint8Array([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]), { nvmc: true });
    await session.write(0x00003009, new Uint8Array([0xaa, 0xbb]), { nvmc: true });
    expect(Buffer.from(await session.read(0x00003000, 12)).toString('hex')).toBe('1122334455667788ffaabbff');
  });

  it('times out with NVMC_TIMEOUT when READY never comes back', async () => {
    await fake.dispose();
    fake = await setupFakeJlink({ probes, busyPolls: 1_000_000_000, trace: false });
    const session = await openProbe(NRF5340);
    const error = await rejection(session.writeU32(0x00ff8100, 0xffff0000, { nvmc: true }));
    expect(error.code).toBe('NVMC_TIMEOUT');
  });

  it('erases a page by writing 0xFFFFFFFF to its first word with CONFIG = Een', async () => {
    const session = await openProbe(NRF5340);
    await session.write(0x00004000, new Uint8Array(8).fill(0), { nvmc: true });
    await session.writeU32(0x00005000, 0, { nvmc: true });
    clearFakeJlinkTrace(fake.tracePath!);
    await session.erasePage(0x00004000);
    const ops = memoryOps(NRF5340);
    expect(ops.indexOf(`W ${hex(NVMC_CONFIG)} 0x00000002`)).toBeLessThan(ops.indexOf('W 0x00004000 0xffffffff'));
    expect(ops[ops.length - 1]).toBe(`W ${hex(NVMC_CONFIG)} 0x00000000`);
    expect(await session.readU32(0x00004004)).toBe(0xffffffff);
    expect(await session.readU32(0x00005000)).toBe(0); // the next page is untouched
  });

  it('refuses a page erase that is not at a page start, or in UICR', async () => {
    const session = await openProbe(NRF5340);
    expect((await rejection(session.erasePage(0x00004004))).code).toBe('INVALID_PARAMETER');
    expect((await rejection(session.erasePage(0x00ff8000))).code).toBe('INVALID_PARAMETER');
  });

  it('erases an open core with its own NVMC ERASEALL, not the CTRL-AP', async () => {
    const session = await openProbe(NRF5340);
    await session.writeU32(0x00ff8100, 0xffff0000, { nvmc: true });
    await session.writeU32(0x00001000, 0, { nvmc: true });
    clearFakeJlinkTrace(fake.tracePath!);
    await session.eraseAll();
    expect(memoryOps(NRF5340)).toContain(`W ${hex(app.nvmcBase + 0x50c)} 0x00000001`);
    expect(apAccesses(trace(NRF5340)).filter((a) => a.register === 0x004)).toEqual([]);
    expect(await session.readU32(0x00ff8100)).toBe(0xffffffff);
    expect(await session.readU32(0x00001000)).toBe(0xffffffff);
  });
});

describe('access ports', () => {
  it('selects the AP and register bank through DP SELECT: IDRs of the AHB-AP and CTRL-APs', async () => {
    const session = await openProbe(NRF5340);
    expect(await session.readAccessPort(0, 0xfc)).toBe(0x84770001);
    expect(await session.readAccessPort(2, 0xfc)).toBe(0x12880000);
    expect(await session.readAccessPort(3, 0xfc)).toBe(0x12880000);
    const lines = trace(NRF5340);
    expect(lines.some((l) => l.call === 'JLINKARM_CORESIGHT_WriteAPDPReg' && l.args.join(' ') === `2 0 ${hex(0x020000f0)}`)).toBe(true);
    expect(apAccesses(lines).filter((a) => !a.write && a.register === 0xfc).map((a) => a.ap)).toEqual([0, 2, 3]);
    const nrf91 = await openProbe(NRF9160);
    expect(await nrf91.readAccessPort(4, 0xfc)).toBe(0x12880000);
  });

  it('recover: CTRL-AP ERASEALL on AP2, then (network core released) on AP3, ERASEALLSTATUS polled until 0, then a CTRL-AP reset', async () => {
    const session = await openProbe(NRF5340);
    await session.writeU32(0x00ff8100, 0xffff0000, { nvmc: true });
    clearFakeJlinkTrace(fake.tracePath!);
    await session.recover();
    const ctrl = apAccesses(trace(NRF5340)).filter((a) => a.ap >= 2);
    const describe = ctrl.map((a) => `${a.write ? 'W' : 'R'} AP${a.ap} ${a.register.toString(16)} ${a.value}`);
    const poll = (ap: number): string[] => [...Array(BUSY_POLLS + 1).fill(`R AP${ap} 8 1`), `R AP${ap} 8 0`];
    expect(describe).toEqual([`W AP2 4 1`, ...poll(2), `W AP3 4 1`, ...poll(3), 'W AP2 0 1', 'W AP2 0 0']);
    expect(await session.readU32(0x00ff8100)).toBe(0xffffffff);
  });

  it('recover on nRF91 uses CTRL-AP 4', async () => {
    const session = await openProbe(NRF9160);
    clearFakeJlinkTrace(fake.tracePath!);
    await session.recover();
    const aps = new Set(apAccesses(trace(NRF9160)).filter((a) => a.register === 0x004 || a.register === 0x008).map((a) => a.ap));
    expect([...aps]).toEqual([4]);
  });
});

describe('a locked device', () => {
  it('opens without a core connection, tells the family from the CTRL-AP, and reports DEVICE_PROTECTED', async () => {
    const session = await openProbe(LOCKED_NRF5340);
    expect(await session.deviceInfo()).toEqual({ family: 'NRF53' });
    const error = await rejection(session.readU32(0x00ff020c));
    expect(error.code).toBe('DEVICE_PROTECTED');
    expect(error.message).toMatch(/APPROTECT/);
    expect((await rejection(session.halt())).code).toBe('DEVICE_PROTECTED');
    const nrf91 = await openProbe(LOCKED_NRF9160);
    expect(await nrf91.deviceInfo()).toEqual({ family: 'NRF91' });
  });

  it('erase-all goes through the CTRL-AP and reopens the core', async () => {
    const session = await openProbe(LOCKED_NRF5340);
    await session.eraseAll();
    const erases = apAccesses(trace(LOCKED_NRF5340)).filter((a) => a.ap >= 2 && a.write && a.register === 0x004);
    expect(erases.map((a) => a.ap)).toEqual([2]);
    expect(await session.readU32(0x00ff8000)).toBe(0xffffffff);
  });

  it('recover reopens it', async () => {
    const session = await openProbe(LOCKED_NRF9160);
    await session.recover();
    expect(await session.readU32(0x00ff0140)).toBe(0x9160);
  });

  it('forwards J-Link error log lines to onLog', async () => {
    const session = await openProbe(LOCKED_NRF5340);
    const entries: ProbeLogEntry[] = [];
    session.onLog((e) => entries.push(e));
    await rejection(session.readU32(0x00ff8000));
    await session.readAccessPort(2, 0xfc); // a later call, so the log line has surely been delivered
    await new Promise((resolve) => setImmediate(resolve));
    // The session has no core connection, so the read first retries JLINKARM_Connect: J-Link's
    // error output says why that failed.
    expect(entries).toContainEqual({ level: 'error', source: 'jlink', message: 'Could not connect to target: debug access port is locked (APPROTECT)' });
  });
});

describe('the nRF5340 network core', () => {
  it('is reached through AP1 only after RESET.NETWORK.FORCEOFF is released through AP0', async () => {
    const session = await openProbe(NRF5340);
    await rejection(session.readAccessPort(1, 0x00)); // forced off: AP1 does not answer
    clearFakeJlinkTrace(fake.tracePath!);
    await session.selectCore('network');
    expect(await session.readU32(net.ficrBase + 0x20c)).toBe(0x5340);
    const lines = trace(NRF5340);
    const release = lines.findIndex((l) => l.raw.includes(`JLINKARM_WriteU32 ${hex(net.forceOff)} 0x00000000 -> 0`));
    const firstAp1 = lines.findIndex((l) => l.call === 'JLINKARM_CORESIGHT_WriteAPDPReg' && l.args.join(' ') === `2 0 ${hex(0x01000000)}`);
    expect(release).toBeGreaterThanOrEqual(0);
    expect(firstAp1).toBeGreaterThan(release);
    const tar = apAccesses(lines).filter((a) => a.ap === 1 && a.write && a.register === 0x04).map((a) => a.value);
    expect(tar).toContain(net.ficrBase + 0x20c);
  });

  it('writes the network UICR through the network NVMC over AP1', async () => {
    const session = await openProbe(NRF5340);
    await session.selectCore('network');
    clearFakeJlinkTrace(fake.tracePath!);
    await session.writeU32(net.uicrBase + 0x300, 0x12345678, { nvmc: true });
    const ap1 = apAccesses(trace(NRF5340)).filter((a) => a.ap === 1 && a.write);
    const tarThenDrw = ap1.flatMap((a, i) => (a.register === 0x04 && ap1[i + 1]?.register === 0x0c ? [`${hex(a.value)}=${hex(ap1[i + 1]!.value)}`] : []));
    expect(tarThenDrw).toEqual([`${hex(net.nvmcBase + 0x504)}=0x00000001`, `${hex(net.uicrBase + 0x300)}=0x12345678`, `${hex(net.nvmcBase + 0x504)}=0x00000000`]);
    expect(await session.readU32(net.uicrBase + 0x300)).toBe(0x12345678);
    await session.selectCore('application');
    expect(await session.readU32(app.uicrBase + 0x300)).toBe(0xffffffff);
  });

  it('a device reset forces it off again: NETWORK_CORE_FORCED_OFF until it is selected again', async () => {
    const session = await openProbe(NRF5340);
    await session.selectCore('network');
    await session.reset('pin');
    expect((await rejection(session.readU32(net.ficrBase + 0x20c))).code).toBe('NETWORK_CORE_FORCED_OFF');
    await session.selectCore('network');
    expect(await session.readU32(net.ficrBase + 0x20c)).toBe(0x5340);
  });

  it('halts and starts it through DHCSR on AP1', async () => {
    const session = await openProbe(NRF5340);
    await session.selectCore('network');
    await session.halt();
    expect((await session.readU32(0xe000edf0)) & (1 << 17)).not.toBe(0);
    await session.go();
    expect((await session.readU32(0xe000edf0)) & (1 << 17)).toBe(0);
  });

  it('a locked network core: selected, but its memory is DEVICE_PROTECTED; eraseAll uses CTRL-AP 3', async () => {
    const session = await openProbe(NET_LOCKED_NRF5340);
    await session.selectCore('network');
    expect((await rejection(session.readU32(net.uicrBase))).code).toBe('DEVICE_PROTECTED');
    await session.eraseAll();
    expect(apAccesses(trace(NET_LOCKED_NRF5340)).filter((a) => a.ap >= 2 && a.write && a.register === 0x004).map((a) => a.ap)).toEqual([3]);
    expect(await session.readU32(net.uicrBase)).toBe(0xffffffff);
  });

  it('does not exist on nRF91; the modem core is not reachable', async () => {
    const session = await openProbe(NRF9160);
    expect((await rejection(session.selectCore('network'))).code).toBe('INVALID_OPERATION');
    expect((await rejection(session.selectCore('modem'))).code).toBe('NOT_IMPLEMENTED');
  });
});

describe('run control', () => {
  it('system reset: normal J-Link reset, then go; pin reset: the reset pin; debug reset: CTRL-AP RESET', async () => {
    const session = await openProbe(NRF5340);
    clearFakeJlinkTrace(fake.tracePath!);
    await session.reset('system');
    await session.reset('pin');
    await session.reset('debug');
    const calls = trace(NRF5340)
      .filter((l) => ['JLINKARM_SetResetType', 'JLINKARM_Reset', 'JLINKARM_Go'].includes(l.call))
      .map((l) => (l.call === 'JLINKARM_SetResetType' ? `type ${l.args[0]}` : l.call.replace('JLINKARM_', '')));
    expect(calls).toEqual(['type 0', 'Reset', 'Go', 'type 2', 'Reset', 'type 0', 'Go']);
    const resets = apAccesses(trace(NRF5340)).filter((a) => a.write && a.register === 0);
    expect(resets.map((a) => `AP${a.ap}=${a.value}`)).toEqual(['AP2=1', 'AP2=0']);
  });

  it('halt and go on the application core use J-Link', async () => {
    const session = await openProbe(NRF5340);
    await session.halt();
    await session.go();
    expect(trace(NRF5340).filter((l) => l.call === 'JLINKARM_Halt' || l.call === 'JLINKARM_Go').map((l) => l.call)).toEqual(['JLINKARM_Halt', 'JLINKARM_Go']);
  });
});

describe('closing', () => {
  it('closes the J-Link connection, refuses later calls with PROBE_CLOSED, and is idempotent', async () => {
    const session = await fakeJlinkBinding().open(NRF5340);
    await session.close();
    await session.close();
    expect(trace(NRF5340).some((l) => l.call === 'JLINKARM_Close')).toBe(true);
    expect((await rejection(session.readU32(0))).code).toBe('PROBE_CLOSED');
  });

  it('a reopened probe sees what the previous session programmed (the device keeps its flash)', async () => {
    const first = await fakeJlinkBinding().open(NRF5340);
    await first.writeU32(0x00ff8100, 0xffff0000, { nvmc: true });
    await first.close();
    const second = await openProbe(NRF5340);
    expect(await second.readU32(0x00ff8100)).toBe(0xffff0000);
  });
});
