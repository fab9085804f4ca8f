/**
 * Every refusal: the right code, afterWrite false, zero non-volatile writes, and the device
 * byte-for-byte as it was (chip-off dumps compared), on each chip.
 */
import { provision, type ProvisionResultFields } from '../../lib/provision';
import type { ProbeSession } from '../../lib/probe/types';
import { cryptoRandom, seededRandom, trustedRandomSource, type RandomSource } from '../../lib/random';
import { modelIdentityKeyWrapper } from '../../lib/keys';
import type { SimDeviceState } from '../../lib/sim';
import { KMU_PERM_HUK, KMU_PERM_IDENTITY, getTarget, type ChipName } from '../../lib/targets';
import { CHIPS, asRealProbe, nvmcOperations, simDevice } from './helpers';

const KEY16 = '00112233445566778899aabbccddeeff';

interface Case {
  name: string;
  code: string;
  state: (chip: ChipName) => SimDeviceState;
  present?: string[];
  missing?: string[];
}

const huksWritten = (chip: ChipName): NonNullable<SimDeviceState['kmuSlots']> => {
  const t = getTarget(chip);
  return [...t.huk.mkek, ...t.huk.mext].map((s) => ({ index: s.index, dest: s.dest, perm: KMU_PERM_HUK, value: KEY16 }));
};
const identityWritten = (chip: ChipName): NonNullable<SimDeviceState['kmuSlots']> =>
  getTarget(chip).identityKey.slots.map((s) => ({ index: s.index, perm: KMU_PERM_IDENTITY, value: KEY16 }));

const CASES: Case[] = [
  { name: 'lifecycle PROVISIONING with empty slots', code: 'PARTIALLY_PROVISIONED', state: () => ({ lifecycle: 'PROVISIONING' }), present: ['lifecycle'] },
  { name: 'lifecycle SECURED but incomplete', code: 'LIFECYCLE_SECURED', state: () => ({ lifecycle: 'SECURED' }) },
  { name: 'lifecycle DECOMMISSIONED', code: 'LIFECYCLE_DECOMMISSIONED', state: () => ({ lifecycle: 'DECOMMISSIONED' }) },
  { name: 'a torn lifecycle halfword (0x00FF)', code: 'LIFECYCLE_INVALID', state: () => ({ lifecycleWords: { provisioning: 0x00ff } }) },
  { name: 'secure entered without provisioning', code: 'LIFECYCLE_INVALID', state: () => ({ lifecycleWords: { secure: 0x0000 } }) },
  { name: 'HUKs written in ASSEMBLY (an interrupted run, or firmware wrote its own)', code: 'PARTIALLY_PROVISIONED', state: (c) => ({ kmuSlots: huksWritten(c) }), present: ['mkek', 'mext'] },
  { name: 'a MKEK slot cut short before PERM', code: 'PARTIALLY_PROVISIONED', state: (c) => ({ kmuSlots: [{ index: getTarget(c).huk.mkek[0].index, dest: getTarget(c).huk.mkek[0].dest, value: KEY16 }] }) },
  { name: 'identity slots written in ASSEMBLY', code: 'PARTIALLY_PROVISIONED', state: (c) => ({ kmuSlots: identityWritten(c) }), present: ['identityKey'] },
  { name: "a MEXT slot with another tool's permissions (write_kmu.py's 0xFFFF0004)", code: 'KMU_SLOT_NOT_EMPTY', state: (c) => ({ kmuSlots: [{ index: 4, dest: getTarget(c).huk.mext[0].dest, perm: 0xffff0004, value: KEY16 }] }) },
  {
    // All keys but no implementation ID is finished instead (finish-earlier-run.test.ts); a torn one is not.
    name: 'PROVISIONING with all keys but a half-written implementation ID',
    code: 'PARTIALLY_PROVISIONED',
    state: (c) => ({ lifecycle: 'PROVISIONING', kmuSlots: [...huksWritten(c), ...identityWritten(c)], implementationId: 'aa'.repeat(8) + 'ff'.repeat(24) }),
    present: ['lifecycle', 'mkek', 'mext', 'identityKey'],
  },
  { name: 'a different implementation ID in ASSEMBLY', code: 'IMPLEMENTATION_ID_CONFLICT', state: () => ({ implementationId: '11'.repeat(32) }) },
  { name: 'a half-written implementation ID', code: 'IMPLEMENTATION_ID_CONFLICT', state: () => ({ implementationId: 'aa'.repeat(8) + 'ff'.repeat(24) }) },
  { name: 'APPROTECT locked', code: 'DEVICE_PROTECTED', state: () => ({ approtect: true }) },
  { name: 'ERASEPROTECT set (an interrupted run could never be recovered)', code: 'ERASE_PROTECTED', state: () => ({ eraseProtect: true }) },
];

function expectUntouched(result: ProvisionResultFields): void {
  expect(result.ok).toBe(false);
  expect(result.outcome).toBe('refused');
  expect(result.afterWrite).toBe(false);
  expect(result.writes).toBe(0);
  expect(result.error?.afterWrite).toBe(false);
  expect(result.identityPublicKey).toBeUndefined();
}

describe.each(CHIPS)('%s refuses, writing nothing,', (chip) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { binding, device, session, bootModel } = await simDevice(chip, c.state(chip));
    const before = device.dump();
    const result: ProvisionResultFields = await provision(session, { random: seededRandom(7), bootModel });
    expect(result.errorCode).toBe(c.code);
    expectUntouched(result);
    expect(nvmcOperations(binding.operations(session.serialNumber))).toBe(0);
    expect(device.dump()).toEqual(before);
    expect(device.violations).toEqual([]);
    if (c.present) expect(result.present).toEqual(expect.arrayContaining(c.present));
    if (c.code === 'PARTIALLY_PROVISIONED' || c.code === 'KMU_SLOT_NOT_EMPTY') {
      expect(result.error?.details).toMatchObject({ recovery: 'eraseAll' });
      expect(result.error?.message).toMatch(/erase-all/);
      expect(result.missing!.length).toBeGreaterThan(0);
    }
  });

  it('CHIP_MISMATCH when the caller names another chip', async () => {
    const { device, session } = await simDevice(chip);
    const before = device.dump();
    const result: ProvisionResultFields = await provision(session, { chip: chip === 'nrf5340' ? 'nrf9160' : 'nrf5340' });
    expect(result.errorCode).toBe('CHIP_MISMATCH');
    expectUntouched(result);
    expect(device.dump()).toEqual(before);
  });

  it('UNKNOWN_DEVICE when FICR names no supported part', async () => {
    const { device, session } = await simDevice(chip);
    const before = device.dump();
    const t = getTarget(chip);
    const foreign: ProbeSession = new Proxy(session, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== 'read') return typeof value === 'function' ? value.bind(target) : value;
        return async (address: number, length: number) => {
          const bytes = await target.read(address, length);
          // Overwrite the part-number words with 0x52840 (an nRF52840) where they fall in the read.
          for (const a of [t.ficr.part, t.ficr.sipPartNo, 0x00ff020c, 0x00ff0140]) {
            if (a !== undefined && a >= address && a + 4 <= address + length) bytes.set([0x40, 0x28, 0x05, 0x00], a - address);
          }
          return bytes;
        };
      },
    });
    const result: ProvisionResultFields = await provision(foreign);
    expect(result.errorCode).toBe('UNKNOWN_DEVICE');
    expectUntouched(result);
    expect(device.dump()).toEqual(before);
  });

  it('refuses the model wrapper on a session that is not simulated (IDENTITY_WRAPPER_UNVERIFIED)', async () => {
    const { binding, device, session } = await simDevice(chip);
    const before = device.dump();
    const result: ProvisionResultFields = await provision(asRealProbe(session), { random: cryptoRandom });
    expect(result.errorCode).toBe('IDENTITY_WRAPPER_UNVERIFIED');
    expectUntouched(result);
    expect(binding.operations(session.serialNumber)).toHaveLength(0); // refused before touching the probe
    expect(device.dump()).toEqual(before);
  });

  it('refuses seeded randomness on a session that is not simulated (SEEDED_RANDOM_REFUSED)', async () => {
    const { device, session } = await simDevice(chip);
    const before = device.dump();
    const result: ProvisionResultFields = await provision(asRealProbe(session), { random: seededRandom(1), identityKey: 'skip' });
    expect(result.errorCode).toBe('SEEDED_RANDOM_REFUSED');
    expectUntouched(result);
    expect(device.dump()).toEqual(before);
  });

  it('provisions an ERASEPROTECT device only with allowEraseProtected, and warns', async () => {
    const { device, session, bootModel } = await simDevice(chip, { eraseProtect: true });
    const dry: ProvisionResultFields = await provision(session, { dryRun: true });
    expect(dry).toMatchObject({ ok: false, outcome: 'refused', errorCode: 'ERASE_PROTECTED' });
    expect(dry.error?.message).toMatch(/--allow-erase-protected/);
    const result: ProvisionResultFields = await provision(session, { random: seededRandom(5), bootModel, allowEraseProtected: true });
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned' });
    expect(result.warnings.join('\n')).toMatch(/ERASEPROTECT is set/);
    expect(device.violations).toEqual([]);
  });

  it('judges the random source by identity: a seeded source dressed as a CSPRNG is refused on a real probe', async () => {
    const { binding, device, session } = await simDevice(chip);
    const before = device.dump();
    const seeded = seededRandom(1);
    const disguised: RandomSource[] = [
      { kind: 'csprng', fill: (t) => seeded.fill(t) },
      { ...seeded, kind: 'csprng' },
      Object.create(cryptoRandom, { fill: { value: (t: Uint8Array) => seeded.fill(t) } }),
    ];
    for (const random of disguised) {
      const result: ProvisionResultFields = await provision(asRealProbe(session), { random, identityKey: 'skip' });
      expect(result.errorCode).toBe('RANDOM_SOURCE_UNTRUSTED');
      expectUntouched(result);
    }
    expect(binding.operations(session.serialNumber)).toHaveLength(0);
    expect(device.dump()).toEqual(before);
    expect(() => trustedRandomSource(seeded)).toThrow(expect.objectContaining({ code: 'SEEDED_RANDOM_REFUSED' }));
  });

  it('accepts a source the caller vouches for with trustedRandomSource() on a real probe', async () => {
    const { session } = await simDevice(chip);
    const hsm: RandomSource = { kind: 'csprng', fill: jest.fn((t: Uint8Array) => cryptoRandom.fill(t)) };
    const result: ProvisionResultFields = await provision(asRealProbe(session), { random: trustedRandomSource(hsm), identityKey: 'skip' });
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned', simulated: false });
    expect(hsm.fill).toHaveBeenCalled();
  });

  it('knows the built-in model wrapper by identity: a copy that says model: false is still refused on a real probe', async () => {
    const { device, session } = await simDevice(chip);
    const before = device.dump();
    for (const identityWrapper of [{ ...modelIdentityKeyWrapper, model: false }, { name: 'vendor-format', wrap: modelIdentityKeyWrapper.wrap }]) {
      const result: ProvisionResultFields = await provision(asRealProbe(session), { random: cryptoRandom, identityWrapper });
      expect(result.errorCode).toBe('IDENTITY_WRAPPER_UNVERIFIED');
      expectUntouched(result);
    }
    expect(device.dump()).toEqual(before);
  });

  it('on a real probe, accepts the model wrapper only with allowModelWrapper, and says so', async () => {
    const { session } = await simDevice(chip);
    const result: ProvisionResultFields = await provision(asRealProbe(session), { random: cryptoRandom, allowModelWrapper: true });
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned', simulated: false });
    expect(result.warnings.join('\n')).toMatch(/model/);
  });

  it('on a real probe, accepts a wrapper the caller supplies', async () => {
    const { device, session, bootModel } = await simDevice(chip);
    const { wrapIdentityKeyModel } = await import('../../lib/keys/wrapping-model');
    const wrap = jest.fn(({ mkek, deviceId, privateKey }) => wrapIdentityKeyModel(mkek, deviceId, privateKey));
    const result: ProvisionResultFields = await provision(asRealProbe(session), { random: cryptoRandom, identityWrapper: { name: 'vendor-format', wrap }, bootModel });
    expect(result).toMatchObject({ ok: true, identityWrapper: 'vendor-format' });
    expect(wrap).toHaveBeenCalledTimes(1);
    expect(wrap.mock.calls[0][0]).toMatchObject({ chip, deviceId: Uint8Array.from(Buffer.from('0123456789abcdef', 'hex')) });
    expect(device.violations).toEqual([]);
  });
});

describe('stopping before the first write', () => {
  it('a wrapper that fails or returns the wrong length stops the run with nothing written', async () => {
    for (const wrap of [() => Promise.reject(new Error('HSM offline')), () => new Uint8Array(31)]) {
      const { device, session } = await simDevice('nrf5340');
      const before = device.dump();
      const result: ProvisionResultFields = await provision(session, { identityWrapper: { name: 'broken', wrap }, random: seededRandom(1) });
      expect(result).toMatchObject({ ok: false, afterWrite: false, writes: 0, errorCode: 'INVALID_OPERATION' });
      expect(JSON.stringify(result)).not.toMatch(/HSM offline/);
      expect(device.dump()).toEqual(before);
    }
  });

  it('the identity private key is zeroed as soon as it is wrapped, before the first write', async () => {
    const { session, bootModel } = await simDevice('nrf5340');
    const { wrapIdentityKeyModel } = await import('../../lib/keys/wrapping-model');
    let seen: Uint8Array | undefined;
    let zeroedBeforeWrites: boolean | undefined;
    const result: ProvisionResultFields = await provision(session, {
      random: seededRandom(9),
      bootModel,
      identityWrapper: { name: 'spy', wrap: ({ mkek, deviceId, privateKey }) => ((seen = privateKey), wrapIdentityKeyModel(mkek, deviceId, privateKey)) },
      beforeIrreversible: () => void (zeroedBeforeWrites = seen!.every((b) => b === 0)),
    });
    expect(result.ok).toBe(true);
    expect(zeroedBeforeWrites).toBe(true);
  });

  it('a wrapper that hands back the private key buffer itself is refused', async () => {
    const { device, session } = await simDevice('nrf9160');
    const before = device.dump();
    const result: ProvisionResultFields = await provision(session, { random: seededRandom(9), identityWrapper: { name: 'echo', wrap: ({ privateKey }) => privateKey } });
    expect(result).toMatchObject({ ok: false, afterWrite: false, errorCode: 'INVALID_OPERATION', writes: 0 });
    expect(device.dump()).toEqual(before);
  });

  it('beforeIrreversible sees the plan and the public key, and throwing from it writes nothing', async () => {
    const { device, session } = await simDevice('nrf9160');
    const before = device.dump();
    const hook = jest.fn(() => {
      throw new (require('../../lib/errors').TfmError)('CONFIRMATION_MISMATCH', 'operator said no');
    });
    const result: ProvisionResultFields = await provision(session, { beforeIrreversible: hook, random: seededRandom(1) });
    expect(hook).toHaveBeenCalledTimes(1);
    const context = (hook.mock.calls[0] as unknown[])[0] as { plan: unknown[]; identityPublicKey?: { hex: string }; deviceId: string };
    expect(context.plan.length).toBeGreaterThan(0);
    expect(context.identityPublicKey?.hex).toMatch(/^04/);
    expect(result).toMatchObject({ ok: false, outcome: 'refused', errorCode: 'CONFIRMATION_MISMATCH', writes: 0 });
    expect(device.dump()).toEqual(before);
  });

  it('an aborted signal stops the run before the first write (INTERRUPTED)', async () => {
    const { device, session } = await simDevice('nrf5340');
    const before = device.dump();
    const controller = new AbortController();
    const result: ProvisionResultFields = await provision(session, { signal: controller.signal, beforeIrreversible: () => controller.abort() });
    expect(result).toMatchObject({ ok: false, errorCode: 'INTERRUPTED', afterWrite: false, writes: 0 });
    expect(device.dump()).toEqual(before);
  });

  it('an abort after the first write finishes the sequence and reports it', async () => {
    const { session, bootModel } = await simDevice('nrf5340');
    const controller = new AbortController();
    const result: ProvisionResultFields = await provision(session, {
      signal: controller.signal,
      bootModel,
      onEvent: (e) => {
        if (e.type === 'stepEnd' && e.step === 'lifecycle') controller.abort();
      },
    });
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned' });
    expect(result.warnings.join('\n')).toMatch(/finishing the sequence/);
  });
});
