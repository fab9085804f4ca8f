/**
 * Destructive hardware checks (docs/hardware-checks.md, D1-D3): they ERASE the device, write its
 * keys and lock its network core. Run only with TFM_PROVISION_HARDWARE_DESTRUCTIVE=erase-my-device.
 */
import { identifyChip } from '../../lib/device/ficr';
import { recoverDevice } from '../../lib/device/recover';
import { provision, verify } from '../../lib/provision';
import type { ProbeSession } from '../../lib/probe/types';
import { getTarget } from '../../lib/targets';
import { describeDestructive, hex, imagePath, netImagePath, openKit, record } from './support';

describeDestructive('hardware, destructive', () => {
  let session: ProbeSession;

  beforeEach(async () => {
    session = await openKit();
  });

  afterEach(async () => {
    await session?.close();
  });

  it('D1 provisions with the image strategy and verifies', async () => {
    await recoverDevice(session, 'all');
    if (!imagePath) {
      await record({ check: 'D1', facts: [], ok: false, observed: { skipped: 'TFM_PROVISION_HARDWARE_IMAGE is not set' } });
      return;
    }
    const started = Date.now();
    const result = await provision(session, { strategy: 'image', image: imagePath, netImage: netImagePath });
    const checked = await verify(session);
    await record({
      check: 'D1',
      facts: ['F5', 'F14', 'F17'],
      ok: result.ok && checked.ok,
      observed: { outcome: result.outcome, error: result.ok ? undefined : result.error.code, verifyOk: checked.ok, failed: checked.checks?.filter((c) => !c.ok).map((c) => c.name), durationMs: Date.now() - started },
    });
    expect(result.ok && checked.ok).toBe(true);
  });

  it('D2 locks the application core, reopens without erasing it, recovers, and stays open after a reset', async () => {
    const target = (await identifyChip(session)).target;
    const marker = target.implementationId.address; // written by D1 / D3, or by this check
    if ((await session.readU32(marker)) === 0xffffffff) await session.writeU32(marker, 0x0000aaaa, { nvmc: true });
    const markerBefore = await session.readU32(marker);
    await session.writeU32(target.uicr.approtect, target.uicr.approtectProtected, { nvmc: true });
    await session.reset('system');
    await session.close();

    session = await openKit(); // a locked device: the unsecure dialog must be answered No
    const lockedRead = await session.readU32(0).then(
      () => 'readable',
      (error: { code?: string }) => error.code ?? 'error',
    );
    await session.recover();
    await session.reset('system');
    const approtect = await session.readU32(target.uicr.approtect);
    const markerAfter = await session.readU32(marker);
    const report = await recoverDevice(session, 'all', { leaveOpen: true });
    await record({
      check: 'D2',
      facts: ['F11', 'F12', 'F13'],
      ok: lockedRead === 'DEVICE_PROTECTED' && approtect === target.uicr.approtectUnprotected && markerAfter === 0xffffffff,
      observed: { markerBefore: hex(markerBefore), lockedRead, approtectAfterRecoverAndReset: hex(approtect), markerAfter: hex(markerAfter), protection: report.protection },
    });
    expect(lockedRead).toBe('DEVICE_PROTECTED');
    expect(approtect).toBe(target.uicr.approtectUnprotected);
  });

  it('D3 re-provisions with the host strategy and verifies', async () => {
    const chip = (await identifyChip(session)).chip;
    const result = await provision(session, {});
    const checked = await verify(session);
    await record({ check: 'D3', facts: ['F5'], ok: result.ok && checked.ok, observed: { chip, target: getTarget(chip).displayName, outcome: result.outcome, verifyOk: checked.ok } });
    expect(result.ok && checked.ok).toBe(true);
  });
});
