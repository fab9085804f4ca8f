/**
 * Non-destructive hardware checks (docs/hardware-checks.md, H1-H7): nothing is written to flash or
 * UICR. The nRF5340 network core is released and held off again, as a provisioning preflight does.
 */
import { identifyChip } from '../../lib/device/ficr';
import { holdNetworkCore, readNetworkCore } from '../../lib/device/network-core';
import { provision, verify } from '../../lib/provision';
import type { ProbeLogEntry, ProbeSession } from '../../lib/probe/types';
import type { Target } from '../../lib/targets';
import { binding, describeKit, hex, openKit, record, serialNumber } from './support';

describeKit('hardware, non-destructive', () => {
  let session: ProbeSession;
  let target: Target;
  const logs: ProbeLogEntry[] = [];

  beforeAll(async () => {
    session = await openKit();
    session.onLog((entry) => logs.push(entry));
    target = (await identifyChip(session)).target;
  });

  afterAll(async () => {
    await session?.close();
  });

  it('H1 lists the probe with the library it found', async () => {
    const probes = await binding().list();
    const listed = probes.some((p) => p.serialNumber === serialNumber);
    await record({ check: 'H1', facts: ['F16'], ok: listed, observed: { probes: probes.map((p) => ({ serialNumber: p.serialNumber, product: p.product })) } });
    expect(listed).toBe(true);
  });

  it('H2 opens the probe and reads the chip identity from FICR', async () => {
    const info = await session.deviceInfo();
    const identity = await identifyChip(session);
    const refusedCommands = logs.filter((l) => l.source === 'jlink-backend' && /did not accept/.test(l.message)).map((l) => l.message);
    await record({
      check: 'H2',
      facts: ['F2', 'F3', 'F4', 'F15'],
      ok: identity.target.family === info.family,
      observed: { family: info.family, chip: identity.chip, part: hex(identity.part), variant: identity.variant, refusedCommands },
    });
    expect(identity.target.family).toBe(info.family);
  });

  it('H3 reads the CTRL-AP IDR through the access-port API', async () => {
    const idr = await session.readAccessPort(target.application.ctrlAp, 0xfc);
    await record({ check: 'H3', facts: ['F1'], ok: idr === 0x12880000, observed: { ctrlAp: target.application.ctrlAp, idr: hex(idr) } });
    expect(idr).toBe(0x12880000);
  });

  it('H4 reads the lock indicators the chip has (and the one it is said not to have)', async () => {
    const csw = await session.readAccessPort(target.application.ahbAp, 0x00);
    const ctrl00c = await session.readAccessPort(target.application.ctrlAp, 0x00c);
    const lock = target.application.debugLock;
    const open = lock.kind === 'ahbApCswDeviceEn' ? (csw & (1 << 6)) !== 0 : ctrl00c !== 0;
    await record({ check: 'H4', facts: ['F7'], ok: open, observed: { debugLock: lock.kind, ahbApCsw: hex(csw), ctrlAp0x00c: hex(ctrl00c) } });
    expect(open).toBe(true); // the kit's application core is open (otherwise run D2 first)
  });

  it('H5 memory access still works right after an access-port access on another AP', async () => {
    await session.readAccessPort(target.application.ctrlAp, 0xfc);
    const part = await session.readU32(target.ficr.part ?? target.ficr.sipPartNo!);
    await record({ check: 'H5', facts: ['F6'], ok: target.parts.includes(part), observed: { part: hex(part) } });
    expect(target.parts).toContain(part);
  });

  it('H6 verify and a dry run change nothing', async () => {
    const before = await session.read(target.application.uicrBase, target.application.uicrSize);
    const checked = await verify(session);
    const dry = await provision(session, { dryRun: true });
    const after = await session.read(target.application.uicrBase, target.application.uicrSize);
    const unchanged = Buffer.from(before).equals(Buffer.from(after));
    await record({ check: 'H6', facts: ['F2'], ok: unchanged, observed: { verifyOk: checked.ok, dryRunOutcome: dry.outcome, uicrUnchanged: unchanged } });
    expect(unchanged).toBe(true);
  });

  it('H7 nRF5340: releases the network core (SPU alias, erratum 161, power-up) and holds it again', async () => {
    if (!target.network) {
      await record({ check: 'H7', facts: [], ok: true, observed: { skipped: 'no network core' } });
      return;
    }
    const net = target.network;
    const perm = await session.readU32(net.resetPeriphPerm);
    const var1 = await session.readU32(net.erratum161.ficrVar1);
    const var2 = await session.readU32(net.erratum161.ficrVar2);
    const started = Date.now();
    const reading = await readNetworkCore(session, target);
    const releaseMs = Date.now() - started;
    if (reading.wasForcedOff) await holdNetworkCore(session, target);
    const heldAgain = ((await session.readU32(perm & (1 << 4) || !(perm >>> 31) ? net.forceOff : net.forceOffNonSecure)) & 1) === 1;
    await record({
      check: 'H7',
      facts: ['F8', 'F9', 'F10'],
      ok: reading.accessible && (!reading.wasForcedOff || heldAgain),
      observed: { spuResetPerm: hex(perm), ficrErratumVar1: hex(var1), ficrErratumVar2: hex(var2), ...reading, releaseAndReadMs: releaseMs, heldAgain },
    });
    expect(reading.accessible).toBe(true);
  });
});
