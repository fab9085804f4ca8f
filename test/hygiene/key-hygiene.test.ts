/**
 * Key hygiene of the library flows: every provisioning flow of the suite (host and image strategy,
 * every chip, dry runs, re-runs, refusals, probe faults at spread-out operations, recoveries,
 * verify, inspect, a throwing variant and a careless identity-key wrapper), with everything
 * captured that the library hands out: events, probe log lines (every level the backend emits),
 * the beforeIrreversible context, results, thrown errors. The captured output is searched for every
 * MKEK, MEXT and identity key those runs generated (from the random source, and read chip-off from
 * the devices) in every rendering the scanner knows. Required: zero hits.
 *
 * And: every key buffer provision() created is all zeros once it has returned or thrown.
 */
import * as huk from '../../lib/keys/huk';
import { provision, provisionOrThrow, verify, inspect, type ProvisionOptions, type ProvisionResult } from '../../lib/provision';
import type { IdentityKeyWrapper } from '../../lib/keys/wrapper';
import { seededRandom } from '../../lib/random';
import { SimBinding, SimulatedDevice, createPresetDevice, syntheticImageHex, type SimFaultKind } from '../../lib/sim';
import type { ProbeSession } from '../../lib/probe/types';
import { recoverDevice } from '../../lib/device/recover';
import type { ChipName } from '../../lib/targets';
import { fakeNrfjprog } from '../support/fake-vendor';
import { Capture, deviceSecrets, publicKeyHex } from './capture';
import { RecordingRandom } from './recording-random';
import { SecretScanner, describeHits } from './secret-scanner';

const CHIPS: ChipName[] = ['nrf5340', 'nrf9160', 'nrf9161', 'nrf9151'];
const SERIAL = 424242;

const scanner = new SecretScanner();
const capture = new Capture();
/** Buffers that held key material inside provision(), with where they came from. */
const keyBuffers: Array<{ label: string; buffer: Uint8Array }> = [];
const notZeroed: string[] = [];
let runs = 0;
/** What the careless wrapper itself threw: not tool output, the control that the scan sees its keys. */
const wrapperErrors = new Capture();

// Every HUK pair and every per-slot copy provision() makes, kept by reference.
const realGenerate = huk.generateHardwareUniqueKeys;
const realSlotValues = huk.slotValues;
beforeAll(() => {
  jest.spyOn(huk, 'generateHardwareUniqueKeys').mockImplementation((target, random) => {
    const keys = realGenerate(target, random);
    keyBuffers.push({ label: 'MKEK (generateHardwareUniqueKeys)', buffer: keys.mkek }, { label: 'MEXT (generateHardwareUniqueKeys)', buffer: keys.mext });
    return keys;
  });
  jest.spyOn(huk, 'slotValues').mockImplementation((key, slots) => {
    const values = realSlotValues(key, slots);
    for (const v of values) keyBuffers.push({ label: 'KMU slot value copy (slotValues)', buffer: v });
    return values;
  });
});
afterAll(() => jest.restoreAllMocks());

interface Rig {
  device?: SimulatedDevice;
  binding?: SimBinding;
  session: ProbeSession;
  label: string;
}

async function rig(device: SimulatedDevice, label: string): Promise<Rig> {
  const binding = new SimBinding({ latencyMs: 0 });
  binding.attach(SERIAL, device);
  const session = await binding.open(SERIAL);
  // The most verbose view the library offers: every probe log line at every level.
  session.onLog((entry) => capture.add(`${label} probe log`, entry));
  return { device, binding, session, label };
}

async function reopen(r: Rig): Promise<void> {
  await r.session.close();
  r.device!.runUntilIdle();
  r.session = await r.binding!.open(SERIAL);
  r.session.onLog((entry) => capture.add(`${r.label} probe log`, entry));
}

/** One provision() call with everything captured, and the zeroing check right after it. */
async function run(r: Rig, name: string, options: Partial<ProvisionOptions> = {}, variant: 'resolve' | 'throw' = 'resolve'): Promise<ProvisionResult | undefined> {
  const label = `${r.label} ${name}`;
  const random = new RecordingRandom(seededRandom(`hygiene ${label}`));
  const buffersBefore = keyBuffers.length;
  const opts: ProvisionOptions = {
    random,
    onEvent: (event) => capture.add(`${label} event`, event),
    beforeIrreversible: (context) => capture.add(`${label} beforeIrreversible`, context),
    ...(r.device ? { bootModel: (request) => r.device!.clone().bootTfm(request) } : {}),
    ...options,
  };
  let result: ProvisionResult | undefined;
  try {
    result = variant === 'throw' ? await provisionOrThrow(r.session, opts) : await provision(r.session, opts);
    capture.add(`${label} result`, result);
  } catch (error) {
    capture.add(`${label} thrown`, error);
  }
  runs++;
  for (const draw of random.draws) scanner.add(`${label} random draw ${draw.index}`, draw.copy);
  for (const draw of random.notZeroed()) notZeroed.push(`${label}: random draw ${draw.index} (${draw.target.length} bytes)`);
  for (const { label: what, buffer } of keyBuffers.slice(buffersBefore)) {
    if (buffer.some((b) => b !== 0)) notZeroed.push(`${label}: ${what}`);
  }
  random.wipe();
  return result;
}

function addDeviceSecrets(r: Rig, when: string): void {
  for (const secret of deviceSecrets(r.device!, `${r.label} ${when}`)) scanner.add(secret.label, secret.bytes);
}

describe.each(CHIPS)('%s, host strategy', (chip) => {
  test('full run, verify, inspect, re-run and dry run', async () => {
    const r = await rig(SimulatedDevice.create({ chip, deviceId: '0011223344556677' }), `${chip} host`);
    const result = await run(r, 'provision');
    expect(result?.ok).toBe(true);
    addDeviceSecrets(r, 'provisioned');
    // The chip-off identity key is the one the run reported: the scan looks for the real key.
    const identity = deviceSecrets(r.device!, 'check').find((s) => s.label.endsWith('identity key'))!;
    expect(result?.outcome).toBe('provisioned');
    if (result?.outcome !== 'provisioned') return;
    expect(publicKeyHex(identity.bytes)).toBe(result.identityPublicKey!.hex);
    capture.add(`${r.label} verify`, await verify(r.session, { bootModel: (request) => r.device!.clone().bootTfm(request), onEvent: (e) => capture.add(`${r.label} verify event`, e) }));
    capture.add(`${r.label} inspect`, await inspect(r.session));
    expect((await run(r, 're-run'))?.outcome).toBe('alreadyProvisioned');
    const fresh = await rig(SimulatedDevice.create({ chip, deviceId: '8899aabbccddeeff' }), `${chip} dry`);
    expect((await run(fresh, 'dry run', { dryRun: true }))?.outcome).toBe('dryRun');
  });

  test('probe faults at spread-out operations, then the advised recovery', async () => {
    const clean = await rig(SimulatedDevice.create({ chip, deviceId: '0102030405060708' }), `${chip} clean`);
    await run(clean, 'provision');
    addDeviceSecrets(clean, 'provisioned');
    const operations = clean.binding!.operationCount(SERIAL);
    const kinds: SimFaultKind[] = ['error', 'disconnect', 'power-loss'];
    let i = 0;
    for (let k = 3; k < operations; k += 9) {
      const kind = kinds[i++ % kinds.length];
      const r = await rig(SimulatedDevice.create({ chip, deviceId: '0102030405060708' }), `${chip} ${kind}@${k}`);
      r.binding!.injectFault(SERIAL, { atOperation: k, kind });
      const first = await run(r, 'faulted');
      addDeviceSecrets(r, 'after the fault');
      await reopen(r);
      const second = await run(r, 're-run');
      if (!first?.ok && !second?.ok && second?.error?.details?.recovery === 'eraseAll') {
        capture.add(`${r.label} recover`, await recoverDevice(r.session, 'all'));
        await run(r, 'after recover');
        addDeviceSecrets(r, 'after recover');
      }
    }
  });

  test('refusals, the throwing variant and a careless identity-key wrapper', async () => {
    const partial = await rig(createPresetDevice({ chip, preset: 'partial', deviceId: '1111111111111111' }), `${chip} partial`);
    addDeviceSecrets(partial, 'preset');
    expect(await run(partial, 'refused')).toMatchObject({ ok: false, errorCode: 'PARTIALLY_PROVISIONED' });
    await run(partial, 'refused, throwing variant', {}, 'throw');

    // A user wrapper that puts the keys it was given into its error: the tool must not repeat it.
    const careless: IdentityKeyWrapper = {
      name: 'careless',
      wrap: ({ mkek, privateKey }) => {
        const error = new Error(`cannot wrap ${Buffer.from(privateKey).toString('hex')} under ${Buffer.from(mkek).toString('base64')}`);
        wrapperErrors.add(`${chip} careless wrapper's own error`, error);
        throw error;
      },
    };
    const r = await rig(SimulatedDevice.create({ chip, deviceId: '2222222222222222' }), `${chip} careless wrapper`);
    const result = await run(r, 'wrapper throws', { identityWrapper: careless });
    expect(result?.ok).toBe(false);
    await run(r, 'wrapper throws, throwing variant', { identityWrapper: careless }, 'throw');
    const short: IdentityKeyWrapper = { name: 'short', wrap: ({ privateKey }) => privateKey.slice(0, 16) };
    expect((await run(r, 'wrapper returns 16 bytes', { identityWrapper: short }))?.ok).toBe(false);
  });
});

describe.each(['nrf5340', 'nrf9160'] as ChipName[])('%s, image strategy', (chip) => {
  test('the provisioning image makes the keys on the chip; nothing of them reaches the host output', async () => {
    const device = SimulatedDevice.create({ chip, deviceId: '3333333333333333' });
    const r = await rig(device, `${chip} image`);
    const result = await run(r, 'provision', {
      strategy: 'image',
      image: { hex: syntheticImageHex({ chip, kind: 'provisioning' }), name: 'provisioning.hex' },
      clock: { now: () => device.virtualTimeUs / 1000, sleep: async (ms: number) => device.runFor(ms * 1000) },
    } as Partial<ProvisionOptions>);
    expect(result?.ok).toBe(true);
    addDeviceSecrets(r, 'provisioned on chip');
  });
});

describe('native addon on the fake nrfjprog library', () => {
  test('vendor log lines and vendor errors during key writes carry no key bytes', async () => {
    const fake = fakeNrfjprog({
      probes: [
        { serialNumber: 1001, chip: 'nrf9160', deviceId: '4444444444444444' },
        { serialNumber: 1002, chip: 'nrf5340', deviceId: '5555555555555555' },
      ],
      logMessages: 20,
      logIntervalUs: 100,
      // The second block write on probe 1002 (a KMU VALUE write, after the lifecycle word) fails in the library.
      failures: [{ code: -3, function: 'NRFJPROG_write_inst', call: 2, serialNumber: 1002 }],
    });
    const binding = fake.binding();
    for (const [serial, expectOk] of [
      [1001, true],
      [1002, false],
    ] as const) {
      const session = await binding.open(serial);
      session.onLog((entry) => capture.add(`native ${serial} probe log`, entry));
      const r: Rig = { session, label: `native ${serial}` };
      const result = await run(r, 'provision');
      expect(result?.ok).toBe(expectOk);
      if (!expectOk) expect(result?.afterWrite).toBe(true);
      await session.close();
    }
  });
});

test('key buffers are all zeros after provision() returned or threw, on every path', () => {
  expect(runs).toBeGreaterThan(60);
  expect(keyBuffers.length).toBeGreaterThan(100);
  expect(notZeroed).toEqual([]);
});

test('no key byte in any event, log line, context, result or error of those runs', () => {
  expect(scanner.size).toBeGreaterThan(200);
  const hits = capture.items.flatMap((item, i) => scanner.scan(item.value, `#${i} ${item.name}`));
  process.stdout.write(`key hygiene (library): ${capture.count} captured items from ${runs} runs scanned for ${scanner.size} secrets: ${hits.length} hits; ${keyBuffers.length} key buffers checked, ${notZeroed.length} not zeroed\n`);
  expect(describeHits(hits)).toBe('');
});

test('control: the keys the careless wrapper put in its own error are found by the same scan', () => {
  expect(wrapperErrors.count).toBeGreaterThanOrEqual(CHIPS.length);
  for (const item of wrapperErrors.items) {
    const labels = scanner.scan(item.value, item.name).map((h) => h.label);
    expect(labels.some((l) => /random draw/.test(l))).toBe(true);
  }
});

test('control: the same scan finds a key planted in one captured event', () => {
  const planted = new Capture();
  const secret = deviceSecretsForControl();
  planted.add('planted event', { type: 'stepEnd', detail: `slot value ${Buffer.from(secret).toString('hex')}` });
  const s = new SecretScanner([{ label: 'planted MKEK', bytes: secret }]);
  expect(planted.items.flatMap((item) => s.scan(item.value, item.name)).length).toBeGreaterThan(0);
});

function deviceSecretsForControl(): Uint8Array {
  return seededRandom('control').fill(new Uint8Array(32));
}
