/**
 * Every ProbeSession method through the real addon and the fake nrfjprog library.
 */
import { ProbeError } from '../../lib/errors';
import { NativeBinding, loadNativeAddon, type NativeAddon } from '../../lib/probe/native';
import type { ProbeSession } from '../../lib/probe/types';
import { TARGETS, targetFromPart } from '../../lib/targets';
import { fakeNrfjprog } from '../support/fake-vendor';

const RAM = 0x20000000;

async function expectProbeError(promise: Promise<unknown>, code: string): Promise<ProbeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProbeError);
  expect((error as ProbeError).code).toBe(code);
  return error as ProbeError;
}

describe('native session on the fake nrfjprog library', () => {
  let session: ProbeSession | undefined;
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });

  it('lists the configured probes and reports a simulated nrfjprog library', async () => {
    const fake = fakeNrfjprog({ probes: [{ serialNumber: 501 }, { serialNumber: 502, chip: 'nrf9160' }] });
    const binding = fake.binding();
    expect(binding.backend).toBe('nrfjprog');
    expect(await binding.list()).toEqual([{ serialNumber: 501 }, { serialNumber: 502 }]);
    expect(await binding.libraryInfo()).toEqual({ backend: 'nrfjprog', path: fake.libraryPath, version: '10.24.2', simulated: true });
  });

  it.each([
    ['nrf5340', 'NRF53', 0x05340003],
    ['nrf9160', 'NRF91', 0x09160001],
    ['nrf9161', 'NRF91', 0x09120002],
  ] as const)('reports family and version of an %s and its FICR identifies the chip', async (chip, family, versionCode) => {
    const fake = fakeNrfjprog({ probes: [{ serialNumber: 510, chip, deviceId: '0123456789abcdef' }] });
    session = await fake.binding().open(510);
    expect(session.serialNumber).toBe(510);
    expect(session.backend).toBe('nrfjprog');
    expect(session.simulated).toBe(true);
    expect(await session.deviceInfo()).toEqual({ family, versionCode });
    const target = TARGETS[chip];
    expect(await session.readU32(target.ficr.deviceId0)).toBe(0x01234567);
    expect(await session.readU32(target.ficr.deviceId1)).toBe(0x89abcdef);
    const infoPart = target.ficr.part === undefined ? undefined : await session.readU32(target.ficr.part);
    const sipPart = target.ficr.sipPartNo === undefined ? undefined : await session.readU32(target.ficr.sipPartNo);
    expect(targetFromPart(infoPart, sipPart)?.name).toBe(chip);
  });

  it('reads and writes RAM words and bytes, unaligned included', async () => {
    session = await fakeNrfjprog().binding().open(1000);
    expect(await session.readU32(RAM)).toBe(0);
    await session.writeU32(RAM, 0xdeadbeef);
    expect(await session.readU32(RAM)).toBe(0xdeadbeef);
    await session.write(RAM + 5, new Uint8Array([1, 2, 3, 4, 5]));
    const bytes = await session.read(RAM, 12);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Array.from(bytes)).toEqual([0xef, 0xbe, 0xad, 0xde, 0, 1, 2, 3, 4, 5, 0, 0]);
    expect(await session.read(RAM, 0)).toEqual(new Uint8Array(0));
    // a view into a larger buffer writes only its own bytes
    const backing = new Uint8Array([9, 9, 7, 7, 9, 9]);
    await session.write(RAM + 0x100, backing.subarray(2, 4));
    expect(Array.from(await session.read(RAM + 0x100, 4))).toEqual([7, 7, 0, 0]);
  });

  it('writes flash and UICR only with NVMC control, ANDing bits into what is there', async () => {
    session = await fakeNrfjprog().binding().open(1000);
    const uicr = TARGETS.nrf5340.otp.base;
    expect(await session.readU32(uicr)).toBe(0xffffffff);
    await session.writeU32(uicr, 0x12345678); // plain bus write: ignored by UICR
    expect(await session.readU32(uicr)).toBe(0xffffffff);
    await session.writeU32(uicr, 0xffff0000, { nvmc: true });
    await session.writeU32(uicr, 0x0000ffff, { nvmc: true });
    expect(await session.readU32(uicr)).toBe(0x00000000);
    await session.write(0x1000, new Uint8Array([0xf0, 0x0f]), { nvmc: true });
    await session.write(0x1000, new Uint8Array([0x3c, 0xff]), { nvmc: true });
    expect(Array.from(await session.read(0x1000, 4))).toEqual([0x30, 0x0f, 0xff, 0xff]);
  });

  it('erases one flash page, refuses UICR for erasePage, and erases flash and UICR with eraseAll', async () => {
    session = await fakeNrfjprog().binding().open(1000);
    const page = TARGETS.nrf5340.application.flash.pageSize;
    await session.writeU32(0x2000, 0, { nvmc: true });
    await session.writeU32(0x2000 + page, 0, { nvmc: true });
    await session.writeU32(0x00ff8100, 0, { nvmc: true });
    await session.erasePage(0x2000);
    expect(await session.readU32(0x2000)).toBe(0xffffffff);
    expect(await session.readU32(0x2000 + page)).toBe(0);
    await expectProbeError(session.erasePage(0x00ff8000), 'INVALID_PARAMETER');
    await session.eraseAll();
    expect(await session.readU32(0x2000 + page)).toBe(0xffffffff);
    expect(await session.readU32(0x00ff8100)).toBe(0xffffffff);
    expect(await session.readU32(TARGETS.nrf5340.ficr.part!)).toBe(0x5340); // FICR survives
  });

  it('selects the network core of an nRF5340 (own address space) and refuses it on an nRF91', async () => {
    const fake = fakeNrfjprog({ probes: [{ serialNumber: 520 }, { serialNumber: 521, chip: 'nrf9160' }] });
    const binding = fake.binding();
    session = await binding.open(520);
    const netUicr = TARGETS.nrf5340.network!.uicrBase;
    await session.selectCore('network');
    await session.writeU32(netUicr, 0, { nvmc: true });
    expect(await session.readU32(netUicr)).toBe(0);
    const netRam = TARGETS.nrf5340.network!.ram!.base;
    expect(await session.readU32(netRam)).toBe(0);
    await session.writeU32(netRam, 7);
    expect(await session.readU32(netRam)).toBe(7);
    await session.selectCore('application');
    expect(await session.readU32(RAM)).toBe(0); // the application core's RAM is another space
    await expectProbeError(session.selectCore('modem'), 'INVALID_DEVICE_FOR_OPERATION');

    const nrf91 = await binding.open(521);
    try {
      await expectProbeError(nrf91.selectCore('network'), 'INVALID_DEVICE_FOR_OPERATION');
      await nrf91.selectCore('modem');
    } finally {
      await nrf91.close();
    }
  });

  it('recovers: everything erased, UICR.APPROTECT left open as nrfjprog does by default, and says so in the log', async () => {
    const fake = fakeNrfjprog({ probes: [{ serialNumber: 530, memory: [{ address: 0x00ff8100, value: 0 }] }] });
    session = await fake.binding().open(530);
    const lines: string[] = [];
    session.onLog((entry) => lines.push(`${entry.level} ${entry.message}`));
    expect(await session.readU32(0x00ff8100)).toBe(0);
    await session.writeU32(RAM, 5);
    await session.recover();
    expect(await session.readU32(0x00ff8100)).toBe(0xffffffff);
    expect(await session.readU32(RAM)).toBe(0);
    expect(await session.readU32(TARGETS.nrf5340.uicr.approtect)).toBe(TARGETS.nrf5340.uicr.approtectUnprotected);
    await session.selectCore('network');
    expect(await session.readU32(TARGETS.nrf5340.network!.approtect)).toBe(0x50fa50fa);
    expect(lines).toContain('warning recover: device erased, UICR.APPROTECT written open');
  });

  it('reads and writes access-port registers; CTRL-AP ERASEALL erases the device', async () => {
    session = await fakeNrfjprog().binding().open(1000);
    const { ctrlAp, application } = TARGETS.nrf5340;
    await session.writeU32(0x3000, 0, { nvmc: true });
    await session.writeAccessPort(0, 0x04, 0x23000052);
    expect(await session.readAccessPort(0, 0x04)).toBe(0x23000052);
    await session.writeAccessPort(application.ctrlAp, ctrlAp.eraseAll, 1);
    let polls = 0; // ERASEALLSTATUS reads busy (1) until the erase is done
    while ((await session.readAccessPort(application.ctrlAp, ctrlAp.eraseAllStatus)) !== 0) expect(++polls).toBeLessThan(100);
    expect(await session.readU32(0x3000)).toBe(0xffffffff);
    await expectProbeError(session.readAccessPort(256, 0), 'INVALID_PARAMETER');
  });

  it('resets (system, debug, pin), halts and starts the CPU through the matching vendor functions', async () => {
    const fake = fakeNrfjprog({ trace: true });
    session = await fake.binding().open(1000);
    await session.reset('system');
    await session.reset('debug');
    await session.reset('pin');
    await session.halt();
    await session.go();
    const calls = fake.readTrace().map((entry) => entry.function);
    expect(calls.slice(-5)).toEqual([
      'NRFJPROG_sys_reset_inst',
      'NRFJPROG_debug_reset_inst',
      'NRFJPROG_pin_reset_inst',
      'NRFJPROG_halt_inst',
      'NRFJPROG_go_inst',
    ]);
    await expectProbeError(session.reset('hard' as never), 'INVALID_PARAMETER');
  });

  it('keeps a device memory across sessions of one configuration', async () => {
    const binding = fakeNrfjprog().binding();
    session = await binding.open(1000);
    await session.writeU32(0x00ff8108, 0xaaaa5555, { nvmc: true });
    await session.close();
    session = await binding.open(1000);
    expect(await session.readU32(0x00ff8108)).toBe(0xaaaa5555);
  });

  it('refuses an unknown serial with PROBE_NOT_FOUND, a second open of one probe with PROBE_BUSY', async () => {
    const binding = fakeNrfjprog({ probes: [{ serialNumber: 540 }] }).binding();
    const missing = await expectProbeError(binding.open(541), 'PROBE_NOT_FOUND');
    expect(missing.message).toContain('540');
    session = await binding.open(540);
    await expectProbeError(binding.open(540), 'PROBE_BUSY');
    await session.close();
    session = await binding.open(540); // released by close
  });

  it('rejects bad arguments with INVALID_PARAMETER before reaching the probe', async () => {
    session = await fakeNrfjprog().binding().open(1000);
    await expectProbeError(session.readU32(-1), 'INVALID_PARAMETER');
    await expectProbeError(session.readU32(2 ** 32), 'INVALID_PARAMETER');
    await expectProbeError(session.writeU32(0, 1.5), 'INVALID_PARAMETER');
    await expectProbeError(session.write(0, [1, 2] as unknown as Uint8Array), 'INVALID_PARAMETER');
    await expectProbeError(session.selectCore('secure' as never), 'INVALID_PARAMETER');
    const unaligned = await expectProbeError(session.readU32(RAM + 2), 'INVALID_PARAMETER');
    expect(unaligned.vendorCode).toBe(-3); // this one the vendor library refused
  });

  it('closes idempotently; calls after close fail with PROBE_CLOSED, calls queued before still complete', async () => {
    const s = await fakeNrfjprog({ latencyUs: 500 }).binding().open(1000);
    const queued = [s.writeU32(RAM, 1), s.readU32(RAM)];
    const closing = s.close();
    expect(s.close()).toBe(closing);
    await expectProbeError(s.readU32(RAM), 'PROBE_CLOSED');
    await expect(Promise.all(queued)).resolves.toEqual([undefined, 1]);
    await closing;
    await expectProbeError(s.halt(), 'PROBE_CLOSED');
  });
});

describe('ProbeSession.simulated on the native binding', () => {
  it('comes from the vendor library (the fake exports the marker symbol) and cannot be assigned or shadowed by assignment', async () => {
    const session = await fakeNrfjprog().binding().open(1000);
    try {
      expect(session.simulated).toBe(true);
      expect(Object.getOwnPropertyDescriptor(session, 'simulated')).toBeUndefined();
      expect(() => {
        (session as { simulated: boolean }).simulated = false;
      }).toThrow(TypeError);
      expect(session.simulated).toBe(true);
    } finally {
      await session.close();
    }
  });

  it('is false on a library without the marker, and stays false', async () => {
    const real = loadNativeAddon();
    const fake = fakeNrfjprog();
    const marked = new real.Library('nrfjprog', fake.libraryPath);
    // The real addon's session over a library handle whose marker-symbol result says "not simulated".
    const unmarked = { info: () => ({ ...marked.info(), simulated: false }), list: () => marked.list() };
    const injected: NativeAddon = {
      abiVersion: real.abiVersion,
      liveWorkers: () => real.liveWorkers(),
      shutdown: () => real.shutdown(),
      Library: function Library() {
        return unmarked;
      } as unknown as NativeAddon['Library'],
      Session: function Session() {
        return new real.Session(marked);
      } as unknown as NativeAddon['Session'],
    };
    const session = await new NativeBinding({ backend: 'nrfjprog', nativeAddon: injected }).open(1000);
    try {
      expect(session.simulated).toBe(false);
      expect(() => {
        (session as { simulated: boolean }).simulated = true;
      }).toThrow(TypeError);
      expect(session.simulated).toBe(false);
    } finally {
      await session.close();
    }
  });
});
