/**
 * nRF5340: reading the network core means releasing RESET.NETWORK.FORCEOFF, which lets the core boot
 * whatever is in its flash. With the network-core provisioning image there, a read-only run would
 * lock the core's debug port by itself. Every run halts the core right after the release, and every
 * run that does not lock the core holds it off again, as found.
 */
import type { SimTfmBootRequest } from '../../lib/sim/types';
import { inspect, provision, verify } from '../../lib/provision';
import { seededRandom } from '../../lib/random';
import { SimulatedDevice, createSimProbe, syntheticImage, type SimDeviceState } from '../../lib/sim';
import { getTarget } from '../../lib/targets';
import { DEVICE_ID, nvmcOperations } from './helpers';

const target = getTarget('nrf5340');
const OPEN = 0x50fa50fa;

/** An nRF5340 whose network flash holds the network-core provisioning image (it locks AP1 when it runs). */
async function deviceWithNetworkImage(state: SimDeviceState = {}) {
  const device = SimulatedDevice.create({ chip: 'nrf5340', deviceId: DEVICE_ID, state });
  const image = syntheticImage({ chip: 'nrf5340', kind: 'network' });
  device.programFlash('network', image.address, image.data);
  const probe = await createSimProbe({ chip: 'nrf5340', device });
  return { ...probe, bootModel: (request?: SimTfmBootRequest) => probe.device.clone().bootTfm(request) };
}

/** The device as a chip left alone would settle (what a saved state file holds): nothing ran. */
function expectNetworkCoreAsFound(device: SimulatedDevice, forcedOff: boolean): void {
  device.runUntilIdle();
  expect(device.peekU32(target.network!.approtect, 'network')).toBe(OPEN);
  expect(device.networkForcedOff).toBe(forcedOff);
  expect(device.console).toEqual([]);
  expect(device.violations).toEqual([]);
}

describe('nRF5340 with the network-core image in network flash', () => {
  it('a dry run leaves network UICR.APPROTECT open and FORCEOFF set', async () => {
    const { binding, device, session } = await deviceWithNetworkImage();
    const result = await provision(session, { dryRun: true });
    expect(result).toMatchObject({ ok: true, outcome: 'dryRun', writes: 0 });
    expect(nvmcOperations(binding.operations(session.serialNumber))).toBe(0);
    // The halt is the transaction right after the release (selecting a core is bookkeeping).
    const ops = binding.operations(session.serialNumber);
    const release = ops.findIndex((o) => o.method === 'writeU32' && o.address === target.network!.forceOff && o.value === 0);
    expect(ops.slice(release + 1, release + 3).map((o) => o.method)).toEqual(['selectCore', 'halt']);
    expect(ops[release + 2]!.core).toBe('network');
    expect(ops.filter((o) => o.address === target.network!.forceOff && o.method === 'writeU32').map((o) => o.value)).toEqual([0, 1]);
    expectNetworkCoreAsFound(device, true);
  });

  it('inspect and verify leave it as found', async () => {
    const { device, session } = await deviceWithNetworkImage();
    const report = await inspect(session);
    expect(report.networkCore).toMatchObject({ wasForcedOff: true, accessible: true, locked: false });
    expect(device.networkForcedOff).toBe(true);
    const checked = await verify(session);
    expect(checked.ok).toBe(false); // a fresh device is not provisioned
    expectNetworkCoreAsFound(device, true);
  });

  it('a refusal leaves it as found', async () => {
    const { device, session } = await deviceWithNetworkImage({ lifecycle: 'PROVISIONING' });
    const result = await provision(session, { random: seededRandom(1) });
    expect(result).toMatchObject({ outcome: 'refused', errorCode: 'PARTIALLY_PROVISIONED', writes: 0 });
    expectNetworkCoreAsFound(device, true);
  });

  it('a network core found released (and halted) is left released', async () => {
    const { device, session } = await deviceWithNetworkImage({ networkForcedOff: false });
    expect((await provision(session, { dryRun: true })).outcome).toBe('dryRun');
    expectNetworkCoreAsFound(device, false);
  });

  it('provisioning locks it by the host write while the image in network flash never runs', async () => {
    const { device, session, bootModel } = await deviceWithNetworkImage();
    const result = await provision(session, { random: seededRandom(2), bootModel });
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned' });
    expect(device.isRunning('network')).toBe(false);
    expect(device.peekU32(target.network!.approtect, 'network')).toBe(0);
    expect(device.console).toEqual([]);
    expect(device.violations).toEqual([]);
    // The lock run leaves FORCEOFF released (the core halted); a re-run holds it off again.
    expect(device.networkForcedOff).toBe(false);
    expect((await provision(session, { bootModel })).outcome).toBe('alreadyProvisioned');
  });
});
