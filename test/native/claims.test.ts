/**
 * The probe's serial number is the claim: one session per physical probe in the process, whichever
 * backend opens it, and a second open() on an open session keeps the first probe claimed.
 */
import { loadNativeAddon } from '../../lib/probe/native';
import type { ProbeSession } from '../../lib/probe/types';
import { fakeJlinkBinding, setupFakeJlink, type FakeJlinkSetup } from '../support/fake-jlink';
import { fakeNrfjprog } from '../support/fake-vendor';
import { rejection } from '../support/rejection';

const SERIAL = 5150;
let sessions: ProbeSession[] = [];

async function busy(promise: Promise<unknown>): Promise<Error> {
  const error = await rejection(promise, 'PROBE_BUSY');
  expect(error.code).toBe('PROBE_BUSY');
  return error;
}
let jlink: FakeJlinkSetup | undefined;

afterEach(async () => {
  for (const s of sessions) await s.close();
  sessions = [];
  await jlink?.dispose();
  jlink = undefined;
});

it('an nrfjprog session and a J-Link session on one probe exclude each other (PROBE_BUSY naming the holder)', async () => {
  const nrfjprog = fakeNrfjprog({ probes: [{ serialNumber: SERIAL }] }).binding();
  jlink = await setupFakeJlink({ probes: [{ serial: SERIAL, chip: 'nrf5340' }] });
  sessions.push(await nrfjprog.open(SERIAL));
  const error = await busy(fakeJlinkBinding().open(SERIAL));
  expect(error.message).toContain('nrfjprog backend');
  await sessions.pop()!.close();
  sessions.push(await fakeJlinkBinding().open(SERIAL)); // free again once closed
  await busy(nrfjprog.open(SERIAL));
});

it('a second open() on an open session fails and leaves the first probe claimed', async () => {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: SERIAL }, { serialNumber: SERIAL + 1 }] });
  const addon = loadNativeAddon();
  const library = new addon.Library('nrfjprog', fake.libraryPath);
  const session = new addon.Session(library);
  try {
    await session.open(SERIAL, 0, 'UNKNOWN');
    await expect(session.open(SERIAL + 1, 0, 'UNKNOWN')).rejects.toMatchObject({ code: 'INVALID_OPERATION' });
    await busy(fake.binding().open(SERIAL)); // still claimed by the first open
    sessions.push(await fake.binding().open(SERIAL + 1)); // the refused open claimed nothing
  } finally {
    await session.close();
  }
});
