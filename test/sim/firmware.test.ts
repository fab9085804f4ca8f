/** Firmware models: the provisioning sample, the network-core image and TF-M's first boot. */
import { unwrapIdentityKeyModel, wrapIdentityKeyModel } from '../../lib/keys/wrapping-model';
import type { ProbeSession } from '../../lib/probe/types';
import { KMU_PERM_HUK, KMU_PERM_IDENTITY, type ChipName } from '../../lib/targets';
import {
  createPresetDevice,
  DUMMY_IDENTITY_KEY_HEX,
  RTT_ID,
  SIM_MARKER_TFM_NO_HUK_RANDOM,
  SimulatedDevice,
  syntheticImage,
  type SimulatedDevice as Device,
} from '../../lib/testing';
import { DEVICE_ID, probe } from './helpers';
import { oraclePublicKey } from '../support/p256-oracle';
import { instanceId22 } from '../support/instance-id';

async function flashAndRun(session: ProbeSession, device: Device, image: ReturnType<typeof syntheticImage>): Promise<number> {
  if (image.core === 'network') await session.selectCore('network');
  await session.write(image.address, image.data, { nvmc: true });
  await session.reset('system');
  await session.go();
  let polls = 0;
  while (device.runningFirmware(image.core) !== undefined && polls < 100_000) {
    await session.readU32(device.target.lifecycle.provisioning & (image.core === 'network' ? 0 : 0xffffffff));
    polls++;
  }
  return polls;
}

/** A SEGGER RTT reader over plain memory reads: what a host does through any probe. */
async function readRtt(session: ProbeSession, ramBase: number, ramSize: number): Promise<string> {
  const ram = await session.read(ramBase, Math.min(ramSize, 0x2000));
  const at = Buffer.from(ram).indexOf(RTT_ID, 0, 'latin1');
  expect(at).toBeGreaterThanOrEqual(0);
  const cb = ramBase + at;
  const up = await session.read(cb + 24, 24);
  const u32 = (b: Uint8Array, o: number): number => Buffer.from(b).readUInt32LE(o);
  const [buffer, size, wr, rd] = [u32(up, 4), u32(up, 8), u32(up, 12), u32(up, 16)];
  const bytes = rd <= wr ? await session.read(buffer + rd, wr - rd) : Buffer.concat([await session.read(buffer + rd, size - rd), await session.read(buffer, wr)]);
  await session.writeU32(cb + 24 + 16, wr); // consume
  return Buffer.from(bytes).toString('latin1');
}

function expectedIdentity(device: Device): { publicKey: string; instanceId: string } {
  const t = device.target;
  const mkek = new Uint8Array(t.huk.size);
  t.huk.mkek.forEach((s, i) => mkek.set(device.kmuSlot(s.index).value, 16 * i));
  const blob = new Uint8Array(32);
  t.identityKey.slots.forEach((s, i) => blob.set(device.kmuSlot(s.index).value, 16 * i));
  const d = unwrapIdentityKeyModel(mkek, Buffer.from(device.deviceId, 'hex'), blob);
  const pub = oraclePublicKey(d);
  // TF-M 2.2.0, the model's default: 0x01 || SHA-256(COSE_Key).
  return { publicKey: Buffer.from(pub).toString('hex'), instanceId: instanceId22(pub) };
}

describe('provisioning image model', () => {
  test.each(['nrf5340', 'nrf9160', 'nrf9161'] as ChipName[])('%s: reset + go runs the sample: PROVISIONING, HUKs, identity key, implementation ID, its log lines', async (chip) => {
    const { session, device, t } = await probe(chip);
    const polls = await flashAndRun(session, device, syntheticImage({ chip, kind: 'provisioning' }));
    expect(polls).toBeGreaterThan(10); // it takes virtual time: a polling host sees it progress
    expect(device.lifecycle).toBe('PROVISIONING');
    const slots = device.dump().kmuSlots.map((s) => [s.index, s.dest, s.perm]);
    expect(slots).toEqual([
      ...[...t.huk.mkek, ...t.huk.mext].map((s) => [s.index, s.dest, KMU_PERM_HUK]),
      [6, 0xffffffff, KMU_PERM_IDENTITY],
      [7, 0xffffffff, KMU_PERM_IDENTITY],
    ]);
    expect(device.dump().implementationId).toBe('aa'.repeat(8) + 'bb'.repeat(8) + 'cc'.repeat(8) + 'dd'.repeat(8));
    expect(device.console.map((l) => l.replace(/^\[[^\]]*\] <inf> provisioning_image: /u, ''))).toEqual([
      '*** Booting nRF Connect SDK (tfm-provision simulator: provisioning image model) ***',
      'Successfully verified PSA lifecycle state ASSEMBLY!',
      'Successfully switched to PSA lifecycle state PROVISIONING!',
      'Generating random HUK keys (including MKEK)',
      'Writing the identity key to KMU',
      'Success!',
    ]);
    expect(device.console[1]).toMatch(/^\[00:00:00\.\d{3},\d{3}\] <inf> provisioning_image: /u);
    expect(device.violations).toEqual([]);
    expect(device.lastFirmwareResult).toMatchObject({ kind: 'provisioning-image', ok: true });
  });

  test('its console is readable through the probe as a SEGGER RTT up buffer in RAM', async () => {
    const { session, device, t } = await probe('nrf9160');
    await flashAndRun(session, device, syntheticImage({ chip: 'nrf9160', kind: 'provisioning' }));
    const text = await readRtt(session, t.application.ram!.base, t.application.ram!.size);
    expect(text.split('\r\n').filter(Boolean)).toEqual(device.console);
  });

  test('halt pauses the model and go resumes it; a reset aborts it', async () => {
    const { session, device } = await probe('nrf9160');
    const image = syntheticImage({ chip: 'nrf9160', kind: 'provisioning' });
    await session.write(image.address, image.data, { nvmc: true });
    await session.reset('system');
    await session.go();
    await session.halt();
    device.runFor(10_000_000);
    expect(device.runningFirmware()).toBe('provisioning-image');
    await session.go();
    device.runUntilIdle();
    expect(device.lastFirmwareResult?.ok).toBe(true);
    await session.reset('system');
    await session.go();
    await session.reset('system');
    expect(device.runningFirmware()).toBeUndefined();
  });

  test('not in ASSEMBLY: "Failure: Lifecycle state is not ASSEMBLY as expected. Exiting!" and nothing written', async () => {
    const { session, device } = await probe('nrf5340', { state: { lifecycle: 'PROVISIONING' } });
    await flashAndRun(session, device, syntheticImage({ chip: 'nrf5340', kind: 'provisioning' }));
    expect(device.console.at(-1)).toMatch(/Failure: Lifecycle state is not ASSEMBLY as expected\. Exiting!$/u);
    expect(device.dump().kmuSlots).toEqual([]);
  });

  test('an undecodable lifecycle: "Failure: Cannot read PSA lifecycle state. Exiting!"', async () => {
    const { session, device } = await probe('nrf9160', { state: { lifecycleWords: { provisioning: 0xff00 } } });
    await flashAndRun(session, device, syntheticImage({ chip: 'nrf9160', kind: 'provisioning' }));
    expect(device.console.at(-1)).toMatch(/Failure: Cannot read PSA lifecycle state\. Exiting!$/u);
  });

  test('HUKs already present: hw_unique_key_write_random fails and the newest sample stops: "Failure: Writing random HUK keys failed. Exiting!"', async () => {
    const { session, device } = await probe('nrf9160', { state: { kmuSlots: [{ index: 2, dest: 0x50841400, perm: KMU_PERM_HUK, value: '11'.repeat(16) }] } });
    await flashAndRun(session, device, syntheticImage({ chip: 'nrf9160', kind: 'provisioning' }));
    expect(device.console).toContain('One or more keys already set. Cannot overwrite');
    expect(device.console.at(-1)).toMatch(/<inf> provisioning_image: Failure: Writing random HUK keys failed\. Exiting!$/u);
    expect(device.kmuSlot(4).perm).toBe(0xffffffff); // MEXT never written
    expect(device.kmuSlot(6).perm).toBe(0xffffffff); // nor the identity key
  });

  test('identity key slots already written: "Failure: Identity key slot already written. Exiting!"', async () => {
    const state = { kmuSlots: [6, 7].map((index) => ({ index, perm: KMU_PERM_IDENTITY })) };
    const { session, device } = await probe('nrf9161', { state });
    await flashAndRun(session, device, syntheticImage({ chip: 'nrf9161', kind: 'provisioning' }));
    expect(device.console.at(-1)).toMatch(/Failure: Identity key slot already written\. Exiting!$/u);
  });

  test('an identity slot holding a value without its PERM: the store refuses, "Failure: Identity key write failed! Exiting!"', async () => {
    // identity_key_is_written() looks at PERM only, so the sample goes on; the platform store refuses a filled slot.
    const { session, device } = await probe('nrf9160', { state: { kmuSlots: [{ index: 6, value: '22'.repeat(16) }] } });
    await flashAndRun(session, device, syntheticImage({ chip: 'nrf9160', kind: 'provisioning' }));
    expect(device.console.at(-2)).toMatch(/<err> identity_key: Identity key write failed! Error: -1$/u);
    expect(device.console.at(-1)).toMatch(/Failure: Identity key write failed! Exiting!$/u);
    expect(device.dump().implementationId).toBe('ff'.repeat(32)); // stopped before the implementation ID
  });

  test('a host lifecycle write racing the model: like bl_storage, the model takes "already PROVISIONING" as success without writing', async () => {
    const { session, device, t } = await probe('nrf9160', { latencyMs: 0 });
    const image = syntheticImage({ chip: 'nrf9160', kind: 'provisioning' });
    await session.write(image.address, image.data, { nvmc: true });
    await session.reset('system');
    await session.go();
    device.runFor(21_100); // past the ASSEMBLY check, before update_life_cycle_state
    expect(device.console.at(-1)).toMatch(/Successfully verified PSA lifecycle state ASSEMBLY!$/u);
    await session.writeU32(t.lifecycle.provisioning, 0xffff0000, { nvmc: true });
    device.runUntilIdle();
    expect(device.console.at(-1)).toMatch(/Success!$/u);
    expect(device.violations).toEqual([]);
  });

  test('CONFIG_IDENTITY_KEY_DUMMY and a custom implementation ID (synthetic-image knobs)', async () => {
    const { session, device } = await probe('nrf9160');
    const id = '0102030405060708'.repeat(4);
    await flashAndRun(session, device, syntheticImage({ chip: 'nrf9160', kind: 'provisioning', identityKeyDummy: true, implementationId: id }));
    expect(device.dump().implementationId).toBe(id);
    const boot = device.bootTfm();
    expect(boot.identityPublicKey).toBe(Buffer.from(oraclePublicKey(Buffer.from(DUMMY_IDENTITY_KEY_HEX, 'hex'))).toString('hex'));
    // tfm_plat_provisioning_check_for_dummy_keys(), nrf_provisioning.c: its line verbatim.
    expect(device.console).toContain('This device was provisioned with dummy keys and is NOT secure.');
  });

  test('the same seed gives the same keys; another device ID gives other keys', () => {
    const a = createPresetDevice({ chip: 'nrf9160', preset: 'provisioned', deviceId: DEVICE_ID });
    const b = createPresetDevice({ chip: 'nrf9160', preset: 'provisioned', deviceId: DEVICE_ID });
    const c = createPresetDevice({ chip: 'nrf9160', preset: 'provisioned', deviceId: 'fedcba9876543210' });
    expect(b.equalsDump(a.dump())).toBe(true);
    expect(c.kmuSlot(2).value).not.toEqual(a.kmuSlot(2).value);
  });
});

describe('network-core image model', () => {
  test('writes network UICR.APPROTECT = 0 through the network NVMC, prints its lines; AP1 locks at the next reset', async () => {
    const { session, device, t } = await probe('nrf5340', { state: { networkForcedOff: false } });
    await flashAndRun(session, device, syntheticImage({ chip: 'nrf5340', kind: 'network' }));
    expect(device.peekU32(t.network!.approtect, 'network')).toBe(0);
    expect(device.console).toEqual([
      'The UICR->APPROTECT register is now configured to deny debugging access for the network core!',
      'Success!',
    ]);
    await session.reset('system');
    expect(device.isDebugOpen('network')).toBe(false);
    expect(device.violations).toEqual([]);
  });

  test('the provisioning image releases FORCEOFF on nRF5340, so a network image present runs too', async () => {
    const device = SimulatedDevice.create({ chip: 'nrf5340', deviceId: DEVICE_ID });
    for (const kind of ['provisioning', 'network'] as const) {
      const image = syntheticImage({ chip: 'nrf5340', kind });
      device.programFlash(image.core, image.address, image.data);
    }
    const { session } = await probe('nrf5340', { device });
    await session.reset('system');
    await session.go();
    device.runUntilIdle();
    expect(device.console).toContain('The UICR->APPROTECT register is now configured to deny debugging access for the network core!');
    expect(device.peekU32(device.target.network!.approtect, 'network')).toBe(0);
  });
});

describe('TF-M first boot model', () => {
  test.each(['nrf5340', 'nrf9160', 'nrf9161'] as ChipName[])('%s: PROVISIONING -> SECURED, APPROTECT locked, the identity key and instance ID reported', (chip) => {
    const device = createPresetDevice({ chip, preset: 'provisioned', deviceId: DEVICE_ID });
    const expected = expectedIdentity(device);
    const result = device.bootTfm();
    expect(result).toMatchObject({ ok: true, lifecycle: 'SECURED', identityPublicKey: expected.publicKey, instanceId: expected.instanceId });
    expect(result.identityPublicKey).toMatch(/^04[0-9a-f]{128}$/u);
    expect(result.instanceId).toMatch(/^01[0-9a-f]{64}$/u);
    expect(device.lifecycle).toBe('SECURED');
    expect(device.peekU32(device.target.uicr.approtect)).toBe(0);
    expect(device.peekU32(device.target.uicr.secureApprotect)).toBe(0);
    expect(device.isDebugOpen()).toBe(false);
    expect(device.violations).toEqual([]);
  });

  test('a second boot in SECURED reports the same key and writes nothing', () => {
    const device = createPresetDevice({ chip: 'nrf9160', preset: 'secured', deviceId: DEVICE_ID });
    const before = device.dump();
    const first = device.lastTfmBoot!;
    const again = device.bootTfm();
    expect(again).toMatchObject({ ok: true, lifecycle: 'SECURED', identityPublicKey: first.identityPublicKey, instanceId: first.instanceId });
    expect(device.equalsDump(before)).toBe(true);
  });

  test.each([
    ['ASSEMBLY', 'TFM_LIFECYCLE_REFUSED', '0x00001000'],
    ['DECOMMISSIONED', 'TFM_LIFECYCLE_REFUSED', '0x00006000'],
  ] as const)('refuses %s: %s, "Invalid LCS: %s" and no banner', (lifecycle, errorCode, slc) => {
    const device = SimulatedDevice.create({ chip: 'nrf5340', deviceId: DEVICE_ID, state: { lifecycle } });
    expect(device.bootTfm()).toMatchObject({ ok: false, lifecycle, errorCode });
    expect(device.console).toContain(`Invalid LCS: ${slc}`);
    expect(device.console.some((l) => l.includes('Booting TF-M'))).toBe(false);
  });

  test.each(['nrf5340', 'nrf9160', 'nrf9161'] as ChipName[])('%s booted unprovisioned (ASSEMBLY): refuses, but ends debug-locked and holding TF-M\'s own HUKs', (chip) => {
    const device = SimulatedDevice.create({ chip, deviceId: DEVICE_ID });
    const t = device.target;
    const result = device.bootTfm();
    expect(result).toMatchObject({ ok: false, lifecycle: 'ASSEMBLY', errorCode: 'TFM_LIFECYCLE_REFUSED', hukWritten: true });
    // init_debug() before the lifecycle check: both UICR words Protected; the port locks at the next reset.
    expect(device.peekU32(t.uicr.approtect)).toBe(0);
    expect(device.peekU32(t.uicr.secureApprotect)).toBe(0);
    device.powerCycle();
    expect(device.isDebugOpen()).toBe(false);
    // crypto_platform_init(): random HUKs in the MKEK and MEXT slots, as hw_unique_key writes them.
    for (const spec of [...t.huk.mkek, ...t.huk.mext]) expect(device.kmuSlot(spec.index)).toMatchObject({ dest: spec.dest, perm: KMU_PERM_HUK });
    expect(device.console.slice(0, 2)).toEqual(['Writing random Hardware Unique Keys to the KMU.', 'Success']);
    expect(device.lifecycle).toBe('ASSEMBLY');
    expect(device.violations).toEqual([]);
  });

  test('refuses an undecodable lifecycle: LIFECYCLE_INVALID', () => {
    const device = SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID, state: { lifecycleWords: { provisioning: 0, secure: 0x00ff } } });
    expect(device.bootTfm()).toMatchObject({ ok: false, lifecycle: 'INVALID', errorCode: 'LIFECYCLE_INVALID' });
  });

  test('PROVISIONING without HUKs: TF-M writes its own, then stops at the missing identity key (IDENTITY_KEY_MISSING)', () => {
    const bare = SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID, state: { lifecycle: 'PROVISIONING' } });
    expect(bare.bootTfm()).toMatchObject({ ok: false, lifecycle: 'PROVISIONING', errorCode: 'IDENTITY_KEY_MISSING', hukWritten: true });
    expect(bare.console).toContain('This device has not been provisioned with an Initial Attestation Key.');
    const partial = createPresetDevice({ chip: 'nrf5340', preset: 'partial', deviceId: DEVICE_ID });
    expect(partial.bootTfm()).toMatchObject({ ok: false, lifecycle: 'PROVISIONING', errorCode: 'IDENTITY_KEY_MISSING' });
    expect(partial.lifecycle).toBe('PROVISIONING');
  });

  test('a TF-M built without CONFIG_HW_UNIQUE_KEY_RANDOM, PROVISIONING without HUKs: HUK_MISSING', () => {
    const device = SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID, state: { lifecycle: 'PROVISIONING' } });
    const image = syntheticImage({ chip: 'nrf9160', kind: 'tfm' });
    const marker = Buffer.from(`${SIM_MARKER_TFM_NO_HUK_RANDOM}\0`, 'latin1');
    device.programFlash('application', image.address, Buffer.concat([Buffer.from(image.data), marker, Buffer.alloc((4 - ((image.data.length + marker.length) % 4)) % 4, 0xff)]));
    expect(device.bootTfm()).toMatchObject({ ok: false, lifecycle: 'PROVISIONING', errorCode: 'HUK_MISSING', hukWritten: false });
    expect(device.console).toContain('This device has not been provisioned with Hardware Unique Keys.');
  });

  function deviceWithIdentityBlob(chip: ChipName, d: Uint8Array, mkekPerm = KMU_PERM_HUK): SimulatedDevice {
    const device = SimulatedDevice.create({ chip, deviceId: DEVICE_ID });
    const t = device.target;
    const mkek = Uint8Array.from({ length: t.huk.size }, (_, i) => i);
    const blob = wrapIdentityKeyModel(mkek, Buffer.from(DEVICE_ID, 'hex'), d);
    const kmuSlots = [
      ...t.huk.mkek.map((s, i) => ({ index: s.index, dest: s.dest, perm: mkekPerm, value: mkek.subarray(16 * i, 16 * i + 16) })),
      ...t.huk.mext.map((s) => ({ index: s.index, dest: s.dest, perm: KMU_PERM_HUK, value: '33'.repeat(16) })),
      ...t.identityKey.slots.map((s, i) => ({ index: s.index, perm: KMU_PERM_IDENTITY, value: blob.subarray(16 * i, 16 * i + 16) })),
    ];
    return SimulatedDevice.create({ chip, deviceId: DEVICE_ID, state: { lifecycle: 'PROVISIONING', kmuSlots } });
  }

  test('a host-wrapped identity key (wrapping model) boots with exactly that key', () => {
    const d = Uint8Array.from(Buffer.from('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721', 'hex'));
    const result = deviceWithIdentityBlob('nrf5340', d).bootTfm();
    expect(result.ok).toBe(true);
    expect(result.identityPublicKey).toBe(Buffer.from(oraclePublicKey(d)).toString('hex'));
  });

  test.each(['nrf5340', 'nrf9160'] as ChipName[])('%s: a garbage identity blob reaches SECURED (TF-M checks only that it is written) and fails the attestation request', (chip) => {
    const device = deviceWithIdentityBlob(chip, new Uint8Array(32).fill(0xff)); // unwraps to no valid scalar
    const result = device.bootTfm({ challenge: Buffer.alloc(32, 7) });
    expect(result).toMatchObject({ ok: true, lifecycle: 'SECURED' });
    expect(result.identityPublicKey).toBeUndefined(); // the dummy-key check's read failed, silently
    expect(device.lifecycle).toBe('SECURED');
    expect(device.isDebugOpen()).toBe(false);
    expect(result.attestation).toMatchObject({ ok: false, errorCode: 'TFM_ATTESTATION_FAILED' });
    expect(result.attestation!.token).toBeUndefined();
    expect(device.requestAttestationToken({ challenge: Buffer.alloc(32, 8) })).toMatchObject({ ok: false, errorCode: 'TFM_ATTESTATION_FAILED' });
  });

  test('a MKEK that cannot be pushed (PERM without PUSH): SECURED, the key never decrypts, attestation fails', () => {
    const device = deviceWithIdentityBlob('nrf9161', new Uint8Array(32).fill(1), 0xfffffffa);
    const result = device.bootTfm({ challenge: Buffer.alloc(32, 1) });
    expect(result).toMatchObject({ ok: true, lifecycle: 'SECURED', attestation: { ok: false, errorCode: 'TFM_ATTESTATION_FAILED' } });
    expect(new Set(device.violations.map((v) => v.kind))).toEqual(new Set(['KMU_PUSH_NOT_ALLOWED']));
  });

  test('a lifecycle word already written twice makes TF-M\'s SECURED write a third write: THIRD_WRITE by firmware', () => {
    const device = createPresetDevice({ chip: 'nrf9160', preset: 'provisioned', deviceId: DEVICE_ID });
    // As if a tool had written 0xFFFFFFFF before 0xFFFF0000: one of the word's two writes is gone.
    const t = device.target;
    device.core('application').nvm.uicrWrites[(t.lifecycle.provisioning - t.application.uicrBase) / 4] = 2;
    device.bootTfm();
    expect(device.violations.map((v) => [v.kind, v.by, v.address])).toEqual([['THIRD_WRITE', 'firmware', t.lifecycle.provisioning]]);
  });

  test('an application image holding the TF-M banner runs the model at go(), including its own reset and second boot', async () => {
    const device = createPresetDevice({ chip: 'nrf9160', preset: 'provisioned', deviceId: DEVICE_ID });
    const image = syntheticImage({ chip: 'nrf9160', kind: 'tfm' });
    device.programFlash('application', image.address, image.data);
    const { session } = await probe('nrf9160', { device });
    await session.reset('system');
    await session.go();
    device.runUntilIdle();
    expect(device.lastTfmBoot).toMatchObject({ ok: true, lifecycle: 'SECURED', identityPublicKey: expect.stringMatching(/^04/u) });
    expect(device.isDebugOpen()).toBe(false);
  });
});
