/**
 * The image strategy's blank check (issue 16): the image's pages are read first and only those that
 * are not blank are erased. A part fresh from the reel gets no erase before programming; a part with
 * old firmware in some of those pages gets exactly those erased, and is still programmed correctly.
 */
import { programAndVerify } from '../../lib/image/flash';
import { parseImage } from '../../lib/image/intel-hex';
import { provision, type ProvisionResultFields } from '../../lib/provision';
import { createSimProbe } from '../../lib/sim';
import { nrf5340, type ChipName } from '../../lib/targets';
import { syntheticProvisioningImage } from '../../lib/testing';
import { DEVICE_ID, simImageDevice } from './support';

const hex = syntheticProvisioningImage();
const image = { hex, name: 'provisioning.hex' };

/** Old firmware: a non-blank pattern over the given pages (as a factory programmer would leave it). */
function oldFirmware(pageSize: number): Uint8Array {
  return Uint8Array.from({ length: pageSize }, (_, i) => (i * 7 + 1) & 0x7f); // never 0xFF
}

describe.each<ChipName>(['nrf5340', 'nrf9160'])('blank check on %s', (chip) => {
  test('a blank part: the image pages are read, none is erased before programming, and the run provisions the device', async () => {
    const { device, session, binding, clock, bootModel } = await simImageDevice(chip);
    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, clock, bootModel });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    const ops = binding.operations(session.serialNumber);
    const runStart = ops.findIndex((o) => o.method === 'go');
    expect(runStart).toBeGreaterThan(0);
    // Before the image runs: no erase at all (removeImage after the run still erases it).
    expect(ops.slice(0, runStart).filter((o) => o.method === 'erasePage')).toEqual([]);
    expect(result.steps.find((s) => s.name === 'programImage')!.detail).toMatch(/ 0 erased,/);
    expect(device.dump({ withFlash: true }).cores.application.flash).toEqual([]);
    expect(device.bootTfm()).toMatchObject({ ok: true, lifecycle: 'SECURED' });
  });

  test('a part with old firmware in some image pages: exactly those are erased, the image is programmed and read back correctly, the run provisions the device', async () => {
    const { device, session, binding, clock, bootModel } = await simImageDevice(chip);
    const parsed = parseImage(hex, { target: device.target, role: 'provisioning' });
    expect(parsed.pages.length).toBeGreaterThan(2);
    const used = [parsed.pages[0]!, parsed.pages[2]!];
    for (const page of used) device.programFlash('application', page, oldFirmware(parsed.pageSize));

    const result: ProvisionResultFields = await provision(session, { strategy: 'image', image, clock, bootModel });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    const ops = binding.operations(session.serialNumber);
    const runStart = ops.findIndex((o) => o.method === 'go');
    expect(ops.slice(0, runStart).filter((o) => o.method === 'erasePage').map((o) => o.address)).toEqual(used);
    expect(result.steps.find((s) => s.name === 'programImage')!.detail).toMatch(new RegExp(` ${used.length} erased,`));
    expect(device.bootTfm()).toMatchObject({ ok: true, lifecycle: 'SECURED' });
  });
});

describe('programAndVerify with the blank check (nRF5340, flash compared byte for byte)', () => {
  test('old firmware in a page is erased and the page then holds exactly the image (0xFF outside it)', async () => {
    const { device, session } = await createSimProbe({ chip: 'nrf5340', deviceId: DEVICE_ID });
    const parsed = parseImage(hex, { target: nrf5340, role: 'provisioning' });
    const page = parsed.pages[1]!;
    device.programFlash('application', page, oldFirmware(parsed.pageSize));
    await session.selectCore('application');
    const { erasedPages } = await programAndVerify(session, nrf5340, parsed, 0x1000);
    expect(erasedPages).toEqual([page]);
    // Without the erase, AND-only programming over the old bytes would not read back as the image.
    const expected = new Uint8Array(parsed.pageSize).fill(0xff);
    for (const { address, data } of parsed.segments) {
      for (let i = 0; i < data.length; i++) {
        const a = address + i;
        if (a >= page && a < page + parsed.pageSize) expected[a - page] = data[i]!;
      }
    }
    expect(Buffer.from(await session.read(page, parsed.pageSize)).equals(Buffer.from(expected))).toBe(true);
  });

  test('a page that is blank but for one cleared bit is not blank: it is erased', async () => {
    const { device, session } = await createSimProbe({ chip: 'nrf5340', deviceId: DEVICE_ID });
    const parsed = parseImage(hex, { target: nrf5340, role: 'provisioning' });
    const last = parsed.pages[parsed.pages.length - 1]!;
    device.programFlash('application', last + parsed.pageSize - 4, Uint8Array.of(0xff, 0xff, 0xff, 0x7f));
    await session.selectCore('application');
    const { erasedPages } = await programAndVerify(session, nrf5340, parsed, 0x1000);
    expect(erasedPages).toEqual([last]);
  });
});
