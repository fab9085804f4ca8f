/** State files, clone, chip-off dumps (structured and Intel HEX). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import MemoryMap from 'nrf-intel-hex';
import { createPresetDevice, diffDumps, SIM_STATE_SCHEMA_VERSION, SimulatedDevice, syntheticImage } from '../../lib/testing';
import { DEVICE_ID, probe } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'tfm-sim-state-'));

describe('state file', () => {
  test('save + load gives back the same chip: dump, lifecycle, locks, virtual time', () => {
    const device = createPresetDevice({ chip: 'nrf5340', preset: 'provisioned', deviceId: DEVICE_ID });
    const file = join(dir, 'roundtrip.json');
    device.save(file);
    const loaded = SimulatedDevice.load(file);
    expect(loaded.deviceId).toBe(DEVICE_ID);
    expect(loaded.chip).toBe('nrf5340');
    expect(loaded.equalsDump(device.dump({ withFlash: true }))).toBe(true);
    expect(loaded.virtualTimeUs).toBe(device.virtualTimeUs);
    expect(loaded.networkForcedOff).toBe(device.networkForcedOff);
    expect(loaded.console).toEqual(device.console);
    expect(loaded.bootTfm()).toEqual(device.clone().bootTfm());
  });

  test('the state keeps write counts, so a loaded device still knows a word was written twice', async () => {
    const device = SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID, state: { lifecycle: 'SECURED' } });
    const loaded = SimulatedDevice.fromJSON(JSON.parse(JSON.stringify(device.toJSON())));
    const { session, t } = await probe('nrf9160', { device: loaded });
    await session.writeU32(t.lifecycle.reserved, 0x0000ffff, { nvmc: true }); // DECOMMISSIONED: first write of word 1
    await session.writeU32(t.lifecycle.provisioning, 0xffffffff, { nvmc: true }); // third write of word 0
    expect(loaded.violations.map((v) => v.kind)).toEqual(['THIRD_WRITE']);
  });

  test('a state file written before the lifecycle spelling changed loads, and reads back in the library spelling', () => {
    // Written by the simulator when it still spelled lifecycles in lowercase ('provisioning'): the
    // file holds the OTP words, not the spelling, so it loads and decodes to 'PROVISIONING'.
    const file = join(__dirname, 'fixtures', 'provisioned-nrf9160-v1.json');
    const loaded = SimulatedDevice.load(file);
    expect(loaded.deviceId).toBe('0123456789abcdef');
    expect(loaded.lifecycle).toBe('PROVISIONING');
    expect(loaded.dump().lifecycle).toBe('PROVISIONING');
    expect(loaded.bootTfm()).toMatchObject({ ok: true, lifecycle: 'SECURED' });
    // Saved again, it is the same state (the same JSON apart from what the boot changed).
    const again = SimulatedDevice.fromJSON(SimulatedDevice.load(file).toJSON());
    expect(again.equalsDump(SimulatedDevice.load(file).dump({ withFlash: true }))).toBe(true);
  });

  test.each([
    ['assembly', 'ASSEMBLY'],
    ['provisioning', 'PROVISIONING'],
    ['secured', 'SECURED'],
    ['decommissioned', 'DECOMMISSIONED'],
  ] as const)('the lowercase spelling of earlier versions (%s) still creates that lifecycle', (old, now) => {
    const device = SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID, state: { lifecycle: old as never } });
    expect(device.lifecycle).toBe(now);
  });

  test('an unknown lifecycle is refused with INVALID_PARAMETER naming the valid ones', () => {
    expect(() => SimulatedDevice.create({ chip: 'nrf9160', state: { lifecycle: 'Secured' as never } })).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETER', message: expect.stringContaining('ASSEMBLY, PROVISIONING, SECURED, DECOMMISSIONED') }),
    );
  });

  test('flash content survives a round trip (sparse pages)', () => {
    const device = SimulatedDevice.create({ chip: 'nrf5340', deviceId: DEVICE_ID });
    const image = syntheticImage({ chip: 'nrf5340', kind: 'network' });
    device.programFlash('network', image.address, image.data);
    const loaded = SimulatedDevice.fromJSON(device.toJSON());
    expect(loaded.dump({ withFlash: true }).cores.network!.flash).toEqual(device.dump({ withFlash: true }).cores.network!.flash);
  });

  test.each([
    ['truncated', (text: string) => text.slice(0, text.length / 2)],
    ['not JSON', () => 'hello'],
    ['edited (digest mismatch)', (text: string) => text.replace('"deviceId": "0123456789abcdef"', '"deviceId": "0123456789abcdee"')],
    ['unknown schema version', (text: string) => text.replace(`"schemaVersion": ${SIM_STATE_SCHEMA_VERSION}`, '"schemaVersion": 99')],
    ['another format', () => JSON.stringify({ format: 'something-else' })],
    ['empty', () => ''],
  ])('a %s file is refused with SIM_STATE_INVALID', (_name, corrupt) => {
    const file = join(dir, `bad-${_name.replace(/\W+/gu, '-')}.json`);
    SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID }).save(file);
    writeFileSync(file, corrupt(readFileSync(file, 'utf8')));
    expect(() => SimulatedDevice.load(file)).toThrow(expect.objectContaining({ code: 'SIM_STATE_INVALID' }));
  });

  test('the error names the file and what is wrong', () => {
    const file = join(dir, 'version.json');
    SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID }).save(file);
    writeFileSync(file, readFileSync(file, 'utf8').replace(`"schemaVersion": ${SIM_STATE_SCHEMA_VERSION}`, '"schemaVersion": 2'));
    expect(() => SimulatedDevice.load(file)).toThrow(/version\.json.*schemaVersion is 2/u);
  });

  test('a missing file is SIM_STATE_NOT_FOUND; fromJSON of anything else is SIM_STATE_INVALID', () => {
    expect(() => SimulatedDevice.load(join(dir, 'nope.json'))).toThrow(expect.objectContaining({ code: 'SIM_STATE_NOT_FOUND' }));
    for (const value of [null, 42, [], {}, { format: 'tfm-provision-sim-state', schemaVersion: 1 }]) {
      expect(() => SimulatedDevice.fromJSON(value)).toThrow(expect.objectContaining({ code: 'SIM_STATE_INVALID' }));
    }
  });

  test('save refuses to overwrite when asked not to', () => {
    const file = join(dir, 'exists.json');
    const device = SimulatedDevice.create({ chip: 'nrf9160' });
    device.save(file);
    expect(() => device.save(file, { overwrite: false })).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  test('saving lets a running firmware model finish first (the chip keeps running without a probe)', async () => {
    const { session, device } = await probe('nrf9160');
    const image = syntheticImage({ chip: 'nrf9160', kind: 'provisioning' });
    await session.write(image.address, image.data, { nvmc: true });
    await session.reset('system');
    await session.go();
    const loaded = SimulatedDevice.fromJSON(device.toJSON());
    expect(loaded.lifecycle).toBe('PROVISIONING');
    expect(loaded.console.at(-1)).toMatch(/Success!$/u);
  });
});

describe('clone', () => {
  test('is a deep copy: booting TF-M on the clone leaves the original untouched', () => {
    const device = createPresetDevice({ chip: 'nrf5340', preset: 'provisioned', deviceId: DEVICE_ID });
    const before = device.dump();
    const copy = device.clone();
    expect(copy.bootTfm().ok).toBe(true);
    expect(copy.lifecycle).toBe('SECURED');
    expect(device.lifecycle).toBe('PROVISIONING');
    expect(device.equalsDump(before)).toBe(true);
  });

  test('is refused while a firmware model runs', async () => {
    const { session, device } = await probe('nrf9160');
    const image = syntheticImage({ chip: 'nrf9160', kind: 'provisioning' });
    await session.write(image.address, image.data, { nvmc: true });
    await session.reset('system');
    await session.go();
    expect(() => device.clone()).toThrow(expect.objectContaining({ code: 'INVALID_OPERATION' }));
    device.runUntilIdle();
    expect(device.clone().lifecycle).toBe('PROVISIONING');
  });
});

describe('dump', () => {
  test('the structured dump decodes lifecycle and KMU slots and includes values a probe cannot read', async () => {
    const device = createPresetDevice({ chip: 'nrf9160', preset: 'provisioned', deviceId: DEVICE_ID });
    const dump = device.dump();
    expect(dump).toMatchObject({ chip: 'nrf9160', deviceId: DEVICE_ID, lifecycle: 'PROVISIONING' });
    expect(dump.kmuSlots.map((s) => s.index)).toEqual([2, 4, 6, 7]);
    // The MKEK is not readable through the KMU, but a chip-off dump holds it.
    const { session, t } = await probe('nrf9160', { device });
    await session.writeU32(t.kmu.selectKeySlot, 3);
    expect(await session.readU32(0x00ff8820)).toBe(0xdeaddead);
    expect(dump.kmuSlots[0]!.value).not.toEqual(new Uint8Array(16).fill(0xde));
  });

  test('Intel HEX at the real addresses: FICR and UICR of both nRF5340 cores, flash pages with --with-flash', () => {
    const device = createPresetDevice({ chip: 'nrf5340', preset: 'provisioned', deviceId: DEVICE_ID });
    const image = syntheticImage({ chip: 'nrf5340', kind: 'provisioning' });
    device.programFlash('application', image.address, image.data);
    const blocks = MemoryMap.fromHex(device.dumpHex());
    expect([...blocks.keys()]).toEqual([0x00ff0000, 0x00ff8000, 0x01ff0000, 0x01ff8000]);
    const uicr = blocks.get(0x00ff8000)!;
    expect(Buffer.from(uicr).readUInt32LE(0x100)).toBe(0xffff0000); // lifecycle PROVISIONING
    expect(Buffer.from(blocks.get(0x00ff0000)!).readUInt32LE(0x204)).toBe(0x67452301);
    expect(Buffer.from(blocks.get(0x01ff8000)!).readUInt32LE(0)).toBe(0); // network APPROTECT
    const withFlash = MemoryMap.fromHex(device.dumpHex({ withFlash: true }));
    expect(withFlash.get(0)!.length).toBe(0x1000);
    expect(Buffer.from(withFlash.get(0)!).includes('Successfully verified PSA lifecycle state ASSEMBLY!')).toBe(true);
  });

  test('nRF91 dumps hold one core', () => {
    const blocks = MemoryMap.fromHex(SimulatedDevice.create({ chip: 'nrf9161', deviceId: DEVICE_ID }).dumpHex());
    expect([...blocks.keys()]).toEqual([0x00ff0000, 0x00ff8000]);
  });

  test('diffDumps names every word that differs', () => {
    const a = SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID });
    const b = SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID, state: { lifecycle: 'PROVISIONING', implementationId: '00'.repeat(32) } });
    const diff = diffDumps(a.dump(), b.dump());
    expect(diff[0]).toEqual({ core: 'application', region: 'uicr', address: 0x00ff8108, a: 0xffffffff, b: 0xffff0000 });
    expect(diff.map((d) => d.address)).toEqual([0x00ff8108, ...Array.from({ length: 8 }, (_, i) => 0x00ff8110 + 4 * i)]);
    expect(a.equalsDump(b.dump())).toBe(false);
  });
});
