/**
 * Issue 12.5: both backends end a recover in the same state. nrfjprog's recover writes the open
 * UICR.APPROTECT value by default (its [approtect] configuration; the fake nrfjprog does the same);
 * the `jlink` backend now writes it too, so a hardened-APPROTECT part (nRF5340: erased means
 * protected) stays open after the next reset with either library.
 */
import type { ProbeSession } from '../../lib/probe/types';
import { getTarget } from '../../lib/targets';
import { fakeJlinkBinding, setupFakeJlink, type FakeJlinkSetup } from '../support/fake-jlink';
import { fakeNrfjprog } from '../support/fake-vendor';

const nrf5340 = getTarget('nrf5340');
const net = nrf5340.network!;

let jlink: FakeJlinkSetup | undefined;

afterEach(async () => {
  await jlink?.dispose();
  jlink = undefined;
});

/** UICR.APPROTECT of both cores, read after the recover. */
async function approtects(session: ProbeSession): Promise<{ application: number; network: number }> {
  const application = await session.readU32(nrf5340.uicr.approtect);
  await session.writeU32(net.forceOff, 0);
  await session.selectCore('network');
  const network = await session.readU32(net.approtect);
  await session.selectCore('application');
  return { application, network };
}

it('a recover of a locked nRF5340 leaves the same UICR.APPROTECT values through nrfjprog and through J-Link', async () => {
  const locked = [
    { core: 'application' as const, address: nrf5340.uicr.approtect, value: 0 },
    { core: 'network' as const, address: net.approtect, value: 0 },
  ];
  const viaNrfjprog = await fakeNrfjprog({ probes: [{ serialNumber: 9101, chip: 'nrf5340', memory: locked }] }).binding().open(9101);
  let nrfjprog: { application: number; network: number };
  try {
    await viaNrfjprog.recover();
    nrfjprog = await approtects(viaNrfjprog);
  } finally {
    await viaNrfjprog.close();
  }

  jlink = await setupFakeJlink({ probes: [{ serial: 9102, chip: 'nrf5340', locked: true, netLocked: true, hardened: true }], busyPolls: 1 });
  const viaJlink = await fakeJlinkBinding().open(9102);
  let jlinkState: { application: number; network: number };
  try {
    await viaJlink.recover();
    await viaJlink.reset('system'); // hardened APPROTECT: the values decide what this reset leaves open
    jlinkState = await approtects(viaJlink);
  } finally {
    await viaJlink.close();
  }

  expect(jlinkState).toEqual(nrfjprog);
  expect(jlinkState).toEqual({ application: nrf5340.uicr.approtectUnprotected, network: nrf5340.uicr.approtectUnprotected });
});
