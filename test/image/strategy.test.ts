/**
 * The image strategy end to end on the simulator: the stock sample's model runs on the simulated
 * chip, driven by provision({ strategy: 'image' }) through the probe contract only.
 */
import MemoryMap from 'nrf-intel-hex';
import { SerialPortMock } from 'serialport';
import { provision, type ProvisionResultFields } from '../../lib/provision';
import type { ProvisionEvent } from '../../lib/provision/events';
import { PROVISIONING_IMAGE_STRINGS, SIM_MARKER_NO_CPUNET_ENABLE, diffDumps } from '../../lib/sim';
import { kmuPermAddress, kmuValueAddress, KMU_PERM_IDENTITY, nrf5340, type ChipName } from '../../lib/targets';
import { syntheticHex, syntheticNetworkImage, syntheticProvisioningImage } from '../../lib/testing';
import { simImageDevice, tfmApplicationHex } from './support';

const image = { hex: syntheticProvisioningImage(), name: 'provisioning.hex' };

function collect(): { events: ProvisionEvent[]; onEvent: (e: ProvisionEvent) => void } {
  const events: ProvisionEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

describe.each<ChipName>(['nrf5340', 'nrf9160', 'nrf9161'])('image strategy on %s', (chip) => {
  test('the sample runs on the chip, is removed, and TF-M first boot takes the device to SECURED', async () => {
    const { device, session, clock, bootModel } = await simImageDevice(chip);
    const { events, onEvent } = collect();
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, clock, bootModel, onEvent });

    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned', strategy: 'image', lifecycleBefore: 'ASSEMBLY', lifecycleAfter: 'PROVISIONING', afterWrite: true });
    expect(result.identityWrapper).toBeUndefined();
    expect(result.steps.map((s) => s.name)).toEqual([
      'preflight',
      'checkImages',
      'programImage',
      'runImage',
      'removeImage',
      ...(chip === 'nrf5340' ? ['networkCore'] : []),
      'verify',
    ]);
    // The sample's five lines, read from its console through the probe, in the sample's order.
    expect(events.filter((e) => e.type === 'message').map((e) => (e as { text: string }).text)).toEqual([
      'Successfully verified PSA lifecycle state ASSEMBLY!',
      'Successfully switched to PSA lifecycle state PROVISIONING!',
      'Generating random HUK keys (including MKEK)',
      'Writing the identity key to KMU',
      'Success!',
    ]);
    expect(events.some((e) => e.type === 'imageConsole')).toBe(true);
    const checks = result.verification!.checks;
    expect(checks.every((c) => c.ok)).toBe(true);
    expect(checks.find((c) => c.name === 'identity key slot 6')).toMatchObject({ expected: 'PERM 0xFFFFFFFA' });

    // The image is gone, the probe broke no NVMC/KMU rule, and TF-M provisions itself on first boot.
    expect(device.dump({ withFlash: true }).cores.application.flash).toEqual([]);
    expect(device.violations.filter((v) => v.by === 'probe')).toEqual([]);
    expect(device.lifecycle).toBe('PROVISIONING');
    const boot = device.bootTfm();
    expect(boot).toMatchObject({ ok: true, lifecycle: 'SECURED' });
    // The stock sample prints no public key: it is known only from TF-M's attestation (the boot model).
    expect(result.identityPublicKey?.hex).toBe(boot.identityPublicKey);
  });
});

describe('image strategy, nRF5340 specifics', () => {
  test('an image built without SOC_NRF53_CPUNET_ENABLE leaves the network core held off: the host releases and halts it itself before the lock', async () => {
    const { device, session, binding, clock, bootModel } = await simImageDevice('nrf5340');
    const noCpunet = { hex: syntheticHex({ strings: [...PROVISIONING_IMAGE_STRINGS, SIM_MARKER_NO_CPUNET_ENABLE] }), name: 'provisioning.hex' };
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image: noCpunet, clock, bootModel });
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned' });
    expect(device.peekU32(nrf5340.network!.approtect, 'network')).toBe(0);
    expect(device.isRunning('network')).toBe(false);
    // In the networkCore step: FORCEOFF released, then the network core halted, then the NVMC write.
    const ops = binding.operations(session.serialNumber);
    const lock = ops.findIndex((o) => o.core === 'network' && o.address === nrf5340.network!.approtect && o.nvmc === true);
    const release = ops.map((o, i) => (o.method === 'writeU32' && o.address === nrf5340.network!.forceOff && o.value === 0 ? i : -1)).filter((i) => i >= 0 && i < lock).pop()!;
    expect(ops.slice(release + 1, lock).filter((o) => o.method === 'halt').map((o) => o.core)).toEqual(['network', 'network']);
    expect(device.violations).toEqual([]);
  });

  test('--net-image: the network-core sample locks the network core and is erased while its port is still open', async () => {
    const { device, session, clock, bootModel } = await simImageDevice('nrf5340');
    const { events, onEvent } = collect();
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, netImage: { hex: syntheticNetworkImage(), name: 'net.hex' }, clock, bootModel, onEvent });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.steps.find((s) => s.name === 'networkCore')?.detail).toMatch(/network-core image ran/);
    expect(events.filter((e) => e.type === 'console' && e.core === 'network').map((e) => (e as { text: string }).text)).toContain(
      'The UICR->APPROTECT register is now configured to deny debugging access for the network core!',
    );
    const dump = device.dump({ withFlash: true });
    expect(dump.cores.network!.flash).toEqual([]);
    expect(Buffer.from(dump.cores.network!.uicr.data.subarray(0, 4)).readUInt32LE(0)).toBe(0);
    expect(device.bootTfm().ok).toBe(true);
  });

  test('--app: the application is programmed after the image, verified, then started (and TF-M secures the device)', async () => {
    const { device, session, clock, bootModel } = await simImageDevice('nrf5340');
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, app: { hex: tfmApplicationHex('nrf5340'), name: 'tfm.hex' }, clock, bootModel });
    expect(result.error).toBeUndefined();
    expect(result.steps.map((s) => s.name).slice(-3)).toEqual(['programApp', 'verify', 'startApp']);
    device.runUntilIdle();
    expect(device.lastTfmBoot).toMatchObject({ ok: true, lifecycle: 'SECURED' });
    expect(device.lifecycle).toBe('SECURED');
  });

  test("the kit's serial port as console: the sample's lines arrive through serialport", async () => {
    const { device, session, clock, bootModel } = await simImageDevice('nrf5340');
    SerialPortMock.binding.createPort('/dev/ttyKIT0', { echo: false, record: false });
    let port: SerialPortMock | undefined;
    let sent = 0;
    // The kit's UART: whatever the application core prints reaches the port as the clock advances.
    const uartClock = {
      now: clock.now,
      sleep: async (ms: number) => {
        await clock.sleep(ms);
        const fresh = device.consoleEntries.slice(sent).filter((e) => e.core === 'application');
        sent = device.consoleEntries.length;
        if (port?.isOpen && fresh.length > 0) port.port!.emitData(Buffer.from(fresh.map((e) => `${e.line}\r\n`).join('')));
        await new Promise((resolve) => setImmediate(resolve));
      },
    };
    const { events, onEvent } = collect();
    try {
      const result: ProvisionResultFields = await provision(session, {
        strategy: 'image',
        image,
        clock: uartClock,
        bootModel,
        onEvent,
        console: { serialPort: '/dev/ttyKIT0', portFactory: (options) => (port = new SerialPortMock(options)) },
      });
      expect(result.error).toBeUndefined();
      expect(events.find((e) => e.type === 'imageConsole')).toMatchObject({ source: 'serial', description: '/dev/ttyKIT0 at 115200 baud' });
      expect(events.filter((e) => e.type === 'message')).toHaveLength(5);
      expect(port!.isOpen).toBe(false);
    } finally {
      SerialPortMock.binding.reset();
    }
  });

  test('a dry run prints the page erases, the program blocks and what the image will write, and writes nothing', async () => {
    const { device, session, clock } = await simImageDevice('nrf5340');
    const before = device.dump({ withFlash: true });
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, clock, dryRun: true });
    expect(result).toMatchObject({ ok: true, outcome: 'dryRun', strategy: 'image', writes: 0 });
    const steps = new Set(result.plan!.map((w) => w.step));
    expect([...steps]).toEqual(['programImage', 'runImage', 'removeImage', 'networkCore']);
    expect(result.plan!.filter((w) => w.step === 'programImage' && w.value === 'erase')).toHaveLength(10);
    expect(result.plan!.filter((w) => w.step === 'runImage').every((w) => !/[0-9a-f]{32}/i.test(w.value) || w.value === 'aa'.repeat(8) + 'bb'.repeat(8) + 'cc'.repeat(8) + 'dd'.repeat(8))).toBe(true);
    expect(diffDumps(before, device.dump({ withFlash: true }))).toEqual([]);
  });
});

describe('image strategy refusals leave the device unchanged', () => {
  test('preflight refuses a device that is not in ASSEMBLY with the host strategy\'s code, before any image is touched', async () => {
    const { device, session, clock, binding } = await simImageDevice('nrf5340', { lifecycle: 'PROVISIONING' });
    const before = device.dump({ withFlash: true });
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, clock });
    expect(result).toMatchObject({ ok: false, outcome: 'refused', errorCode: 'PARTIALLY_PROVISIONED', afterWrite: false, writes: 0 });
    expect(result.steps.map((s) => s.name)).toEqual(['preflight']);
    expect(diffDumps(before, device.dump({ withFlash: true }))).toEqual([]);
    expect(binding.operations(session.serialNumber).some((o) => o.method === 'erasePage' || o.method === 'go')).toBe(false);
  });

  test('an image with a record in UICR is IMAGE_OUT_OF_RANGE and nothing is written', async () => {
    const { device, session, clock } = await simImageDevice('nrf5340');
    const before = device.dump({ withFlash: true });
    const hex = syntheticHex({ strings: ['Successfully verified PSA lifecycle state ASSEMBLY!'], extra: [{ address: 0x00ff8100, data: new Uint8Array([0, 0, 0xff, 0xff]) }] });
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image: { hex, name: 'overlaps-uicr.hex' }, clock });
    expect(result).toMatchObject({ ok: false, outcome: 'refused', errorCode: 'IMAGE_OUT_OF_RANGE', afterWrite: false, writes: 0 });
    expect(result.error!.message).toMatch(/overlaps-uicr\.hex.*UICR/);
    expect(diffDumps(before, device.dump({ withFlash: true }))).toEqual([]);
  });

  test('an application image that would overwrite the provisioning state is refused before the provisioning image is programmed', async () => {
    const { device, session, clock } = await simImageDevice('nrf5340');
    const before = device.dump({ withFlash: true });
    // A TF-M build with a merged provision.hex: KMU slot 2 and the lifecycle words in its records.
    const app = new MemoryMap([
      [0x00000000, new Uint8Array(256).fill(0x11)],
      [kmuPermAddress(nrf5340, 2), new Uint8Array([0xfc, 0xff, 0xff, 0xff])],
      [nrf5340.lifecycle.provisioning, new Uint8Array([0, 0, 0xff, 0xff])],
    ]).asHexString();
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, app: { hex: app, name: 'tfm_merged.hex' }, clock });
    expect(result).toMatchObject({ ok: false, outcome: 'refused', errorCode: 'IMAGE_OUT_OF_RANGE', afterWrite: false, writes: 0 });
    expect(result.error!.details).toMatchObject({ role: 'application' });
    expect(diffDumps(before, device.dump({ withFlash: true }))).toEqual([]);
  });

  test('a malformed image is IMAGE_INVALID and nothing is written', async () => {
    const { device, session, clock } = await simImageDevice('nrf9160');
    const before = device.dump({ withFlash: true });
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image: { hex: ':020000040000FA\n:10000000BADC0FFEE', name: 'broken.hex' }, clock });
    expect(result).toMatchObject({ ok: false, errorCode: 'IMAGE_INVALID', afterWrite: false, writes: 0 });
    expect(diffDumps(before, device.dump({ withFlash: true }))).toEqual([]);
  });

  test('identityKey skip and a missing image are usage errors', async () => {
    const { session, clock } = await simImageDevice('nrf9160');
    expect(await provision(session, { strategy: 'image', image, identityKey: 'skip', clock })).toMatchObject({ ok: false, errorCode: 'INVALID_PARAMETER' });
    expect(await provision(session, { strategy: 'image', clock })).toMatchObject({ ok: false, errorCode: 'INVALID_PARAMETER' });
  });
});

describe('debug access over the reset that starts the image', () => {
  test.each([false, true])('after an erase-all (UICR erased), the open value is written first so the port survives the reset (net image: %s)', async (withNetImage) => {
    const { device, session, clock, bootModel } = await simImageDevice('nrf5340');
    await session.recover();
    const result: ProvisionResultFields = await provision(session, {
      strategy: 'image',
      image,
      ...(withNetImage ? { netImage: { hex: syntheticNetworkImage(), name: 'net.hex' } } : {}),
      clock,
      bootModel,
    });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    const opened = result.plan!.filter((w) => w.step === 'runImage' && w.value === '0x50FA50FA');
    // Releasing the network core after the erase-all reset it with its APPROTECT erased: it is locked
    // already, so there is nothing to open (or run) there.
    expect(opened.map((w) => w.address)).toEqual(['0x00FF8000', '0x00FF801C']);
    expect(result.warnings.some((w) => /network-core image is not run/.test(w))).toBe(withNetImage);
    expect(device.violations.filter((v) => v.by === 'probe')).toEqual([]);
    expect(device.bootTfm()).toMatchObject({ ok: true, lifecycle: 'SECURED' });
  });

  test('a protected UICR.APPROTECT on a port that is open only until the next reset is refused before anything is written', async () => {
    const { device, session, clock } = await simImageDevice('nrf5340');
    await session.recover();
    await session.writeU32(nrf5340.uicr.approtect, 0, { nvmc: true });
    const before = device.dump({ withFlash: true });
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, clock });
    expect(result).toMatchObject({ ok: false, outcome: 'refused', errorCode: 'DEBUG_LOCK_AT_RESET', afterWrite: false, writes: 0 });
    expect(result.error!.message).toMatch(/would lock the debug port/);
    expect(diffDumps(before, device.dump({ withFlash: true }))).toEqual([]);
  });

  test('nRF9160: erased is the open value there, nothing extra is written', async () => {
    const { session, clock } = await simImageDevice('nrf9160');
    await session.recover();
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, clock });
    expect(result.ok).toBe(true);
    expect(result.plan!.some((w) => w.purpose.includes('keeps the debug port open'))).toBe(false);
  });
});

describe("the image's own failure paths", () => {
  test('an identity slot written between preflight and the run: the image says so, IMAGE_IDENTITY_KEY_SLOT_WRITTEN with its line, the image is erased', async () => {
    const { device, session, clock } = await simImageDevice('nrf5340');
    const result: ProvisionResultFields = await provision(session, {
      strategy: 'image',
      image,
      clock,
      // Something else writes the identity slots after preflight looked (PERM 0xFFFFFFFA, as the library does).
      beforeIrreversible: async () => {
        for (const index of [6, 7]) {
          await session.writeU32(nrf5340.kmu.selectKeySlot, index + 1);
          await session.writeU32(kmuPermAddress(nrf5340, index), KMU_PERM_IDENTITY, { nvmc: true });
          await session.writeU32(nrf5340.kmu.selectKeySlot, 0);
        }
      },
    });
    expect(result).toMatchObject({ ok: false, outcome: 'failed', errorCode: 'IMAGE_IDENTITY_KEY_SLOT_WRITTEN', afterWrite: true });
    expect(result.error!.message).toMatch(/Failure: Identity key slot already written\. Exiting!/);
    expect(result.error!.details).toMatchObject({ failureLine: 'Failure: Identity key slot already written. Exiting!', lifecycle: 'PROVISIONING' });
    expect(result.steps.map((s) => s.name)).toEqual(['preflight', 'checkImages', 'programImage', 'runImage', 'removeImage']);
    expect(device.dump({ withFlash: true }).cores.application.flash).toEqual([]);
  });

  test('the lifecycle moved between preflight and the run: the image refuses, IMAGE_LIFECYCLE_NOT_ASSEMBLY', async () => {
    const { device, session, clock } = await simImageDevice('nrf9161');
    const result: ProvisionResultFields = await provision(session, {
      strategy: 'image',
      image,
      clock,
      beforeIrreversible: async () => session.writeU32(device.target.lifecycle.provisioning, 0xffff0000, { nvmc: true }),
    });
    expect(result).toMatchObject({ ok: false, errorCode: 'IMAGE_LIFECYCLE_NOT_ASSEMBLY' });
    expect(result.error!.details).toMatchObject({ failureLine: 'Failure: Lifecycle state is not ASSEMBLY as expected. Exiting!' });
    expect(device.dump().kmuSlots).toEqual([]);
  });

  test('a HUK written between preflight and the run: the newest sample stops at its HUK write, IMAGE_HUK_WRITE_FAILED', async () => {
    const { device, session, clock } = await simImageDevice('nrf9160');
    const t = device.target;
    const result: ProvisionResultFields = await provision(session, {
      strategy: 'image',
      image,
      clock,
      beforeIrreversible: async () => {
        await session.writeU32(t.kmu.selectKeySlot, t.huk.mext[0]!.index + 1);
        await session.writeU32(kmuPermAddress(t, t.huk.mext[0]!.index), KMU_PERM_IDENTITY, { nvmc: true });
        await session.writeU32(t.kmu.selectKeySlot, 0);
      },
    });
    expect(result).toMatchObject({ ok: false, outcome: 'failed', errorCode: 'IMAGE_HUK_WRITE_FAILED', afterWrite: true });
    expect(result.error!.details).toMatchObject({ failureLine: 'Failure: Writing random HUK keys failed. Exiting!', failure: 'hukWriteFailed' });
  });

  test('an identity slot value written (no PERM) between preflight and the run: IMAGE_IDENTITY_KEY_WRITE_FAILED', async () => {
    const { device, session, clock } = await simImageDevice('nrf5340');
    const t = device.target;
    const result: ProvisionResultFields = await provision(session, {
      strategy: 'image',
      image,
      clock,
      beforeIrreversible: async () => {
        await session.writeU32(t.kmu.selectKeySlot, 7 + 1);
        await session.writeU32(kmuValueAddress(t, 7), 0x12345678, { nvmc: true });
        await session.writeU32(t.kmu.selectKeySlot, 0);
      },
    });
    expect(result).toMatchObject({ ok: false, errorCode: 'IMAGE_IDENTITY_KEY_WRITE_FAILED', afterWrite: true });
    expect(result.error!.details).toMatchObject({ failureLine: 'Failure: Identity key write failed! Exiting!' });
  });

  test('an image that never gets anywhere (a hang) ends at the timeout, is erased, and UICR is untouched', async () => {
    const { device, session, clock } = await simImageDevice('nrf5340');
    const before = device.dump();
    const { events, onEvent } = collect();
    const silent = { hex: syntheticHex({ strings: ['not the sample'] }), name: 'other.hex' };
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image: silent, clock, imageTimeoutMs: 5_000, onEvent });
    expect(result).toMatchObject({ ok: false, outcome: 'failed', errorCode: 'IMAGE_TIMEOUT' });
    expect(result.error!.message).toMatch(/within 5 s/);
    expect(events.some((e) => e.type === 'warning' && e.code === 'IMAGE_NOT_RECOGNISED')).toBe(true);
    expect(events.some((e) => e.type === 'warning' && e.code === 'IMAGE_CONSOLE_NOT_FOUND')).toBe(true);
    expect(device.dump({ withFlash: true }).cores.application.flash).toEqual([]);
    expect(diffDumps(before, device.dump())).toEqual([]);
  });

  test('a probe lost while the image is being programmed already counts as after write (the image in flash would run at the next reset)', async () => {
    const { session, clock, binding } = await simImageDevice('nrf9160');
    const result: ProvisionResultFields = await provision(session, {
      strategy: 'image',
      image,
      clock,
      onEvent: (e) => {
        if (e.type === 'stepBegin' && e.step === 'programImage') binding.injectFault(session.serialNumber, { atOperation: binding.operationCount(session.serialNumber) + 8, kind: 'disconnect' });
      },
    });
    expect(result).toMatchObject({ ok: false, outcome: 'failed', errorCode: 'PROBE_DISCONNECTED', afterWrite: true });
  });

  test('a probe lost while the image runs: PROBE_DISCONNECTED after write, and a warning that the image is still in flash', async () => {
    const { session, clock, binding, device } = await simImageDevice('nrf5340');
    const { events, onEvent } = collect();
    const result: ProvisionResultFields = await provision(session, {
      strategy: 'image',
      image,
      clock,
      onEvent: (e) => {
        onEvent(e);
        if (e.type === 'stepBegin' && e.step === 'runImage') binding.injectFault(session.serialNumber, { atOperation: binding.operationCount(session.serialNumber) + 25, kind: 'disconnect' });
      },
    });
    expect(result).toMatchObject({ ok: false, outcome: 'failed', errorCode: 'PROBE_DISCONNECTED', afterWrite: true });
    const ops = binding.operations(session.serialNumber);
    expect(ops.findIndex((o) => o.method === 'go')).toBeLessThan(ops.findIndex((o) => o.fault === 'disconnect'));
    expect(events.some((e) => e.type === 'warning' && e.code === 'IMAGE_LEFT_IN_FLASH')).toBe(true);
    expect(result.error!.details).toMatchObject({ imageLeftInFlash: ['provisioning.hex'] });
    // The chip carries on without the probe: the sample finishes on its own.
    device.runUntilIdle();
    expect(device.lastFirmwareResult).toMatchObject({ ok: true });
  });
});
