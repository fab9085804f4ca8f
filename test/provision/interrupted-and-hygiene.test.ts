/**
 * A run cut off half way (probe disconnect): the error says afterWrite, the keys are zeroed, and the
 * re-run diagnoses the partial device without writing. And across full runs, refusals and failures:
 * no key byte in any event, result, error or probe log, and every key buffer zeroed afterwards.
 */
import { provision, type ProvisionEvent, type ProvisionResult, type ProvisionResultFields } from '../../lib/provision';
import { wrapIdentityKeyModel } from '../../lib/keys/wrapping-model';
import type { ProbeLogEntry } from '../../lib/probe/types';
import { seededRandom } from '../../lib/random';
import { getTarget, type ChipName } from '../../lib/targets';
import { RecordingRandom } from '../hygiene/recording-random';
import { SecretScanner, describeHits } from '../hygiene/secret-scanner';
import { CHIPS, DEVICE_ID, nvmcOperations, simDevice } from './helpers';

/** Secrets of a run: MKEK, MEXT (the first draw) and d (the second), plus the wrapped blob. */
function secretsOf(chip: ChipName, random: RecordingRandom): SecretScanner {
  const scanner = new SecretScanner();
  const size = getTarget(chip).huk.size;
  const [huks, d] = random.draws.map((x) => x.copy);
  if (huks) {
    scanner.add('MKEK', huks.subarray(0, size));
    scanner.add('MEXT', huks.subarray(size));
  }
  if (d) {
    scanner.add('identity private key', d);
    if (huks) scanner.add('identity blob', wrapIdentityKeyModel(huks.subarray(0, size), Buffer.from(DEVICE_ID, 'hex'), d));
  }
  return scanner;
}

describe.each(CHIPS)('%s', (chip) => {
  it('a run interrupted after the first write fails with afterWrite; the re-run is PARTIALLY_PROVISIONED and writes nothing', async () => {
    const { binding, device, session, bootModel } = await simDevice(chip);
    // Find the operation index of the first MEXT write on a dry copy of the sequence, then cut there.
    const marks: Record<string, number> = {};
    const probe = await simDevice(chip);
    await provision(probe.session, { random: seededRandom(1), onEvent: (e) => e.type === 'stepBegin' && (marks[e.step] = probe.binding.operations(probe.session.serialNumber).length) });
    binding.injectFault(session.serialNumber, { atOperation: marks.mext + 2, kind: 'disconnect' });

    const random = new RecordingRandom(seededRandom(1));
    const events: ProvisionEvent[] = [];
    const result: ProvisionResultFields = await provision(session, { random, bootModel, onEvent: (e) => events.push(e) });
    expect(result).toMatchObject({ ok: false, outcome: 'failed', afterWrite: true, errorCode: 'PROBE_DISCONNECTED', lifecycleAfter: 'PROVISIONING' });
    expect(result.error?.afterWrite).toBe(true);
    expect(result.steps.find((s) => s.name === 'mext')).toMatchObject({ ok: false });
    expect(random.notZeroed()).toEqual([]);
    const hits = secretsOf(chip, random).scan({ result, events }, 'interrupted run');
    expect(describeHits(hits)).toBe(describeHits([]));

    const reopened = await binding.open(session.serialNumber);
    const before = device.dump();
    const opsBefore = binding.operations(session.serialNumber).length;
    const rerun = await provision(reopened, { random: seededRandom(2), bootModel });
    expect(rerun).toMatchObject({ ok: false, outcome: 'refused', errorCode: 'PARTIALLY_PROVISIONED', afterWrite: false, writes: 0 });
    expect(rerun.present).toEqual(expect.arrayContaining(['lifecycle', 'mkek']));
    expect(rerun.missing).toEqual(expect.arrayContaining(['mext', 'identityKey', 'implementationId']));
    expect(nvmcOperations(binding.operations(session.serialNumber).slice(opsBefore))).toBe(0);
    expect(device.dump()).toEqual(before);
  });

  it('leaks no key bytes into events, results, errors or probe logs, and zeroes every key buffer', async () => {
    const documents: Array<[string, unknown]> = [];
    const scanners: SecretScanner[] = [];
    const check = async (label: string, run: (random: RecordingRandom, events: ProvisionEvent[], logs: ProbeLogEntry[]) => Promise<ProvisionResult>): Promise<void> => {
      const random = new RecordingRandom(seededRandom(label));
      const events: ProvisionEvent[] = [];
      const logs: ProbeLogEntry[] = [];
      const result = await run(random, events, logs);
      expect(random.notZeroed()).toEqual([]);
      const scanner = secretsOf(chip, random);
      // The scanner knows this run's keys: a planted leak of one KMU slot's worth is found.
      if (label !== 're-run') {
        expect(scanner.size).toBeGreaterThanOrEqual(3);
        expect(scanner.scan({ planted: Buffer.from(random.draws[0].copy.subarray(0, 16)).toString('hex') }, 'control')).not.toEqual([]);
      } else {
        expect(random.draws).toEqual([]); // a complete device needs no keys
      }
      scanners.push(scanner);
      documents.push([label, { result, events, logs, json: JSON.stringify({ result, events }) }]);
    };
    // A full run, a re-run, and a run that fails after keys exist.
    const { session, bootModel, binding } = await simDevice(chip);
    session.onLog(() => undefined);
    await check('full', async (random, events, logs) => {
      session.onLog((l) => logs.push(l));
      return provision(session, { random, bootModel, onEvent: (e) => events.push(e) });
    });
    await check('re-run', (random, events) => provision(session, { random, bootModel, onEvent: (e) => events.push(e) }));
    // Operation 40 is inside the KMU writes on every chip (after preflight and the lifecycle).
    const broken = await simDevice(chip);
    broken.binding.injectFault(broken.session.serialNumber, { atOperation: 40, kind: 'error', code: 'NVMC_TIMEOUT' });
    await check('failure', async (random, events) => {
      const r = await provision(broken.session, { random, bootModel: broken.bootModel, onEvent: (e) => events.push(e) });
      expect(r).toMatchObject({ ok: false, afterWrite: true });
      return r;
    });
    await check('verify failure', async (random, events) => {
      const d = await simDevice(chip);
      // A boot model that disagrees: the run fails at verification, with every key already written.
      return provision(d.session, { random, bootModel: () => ({ ok: false, lifecycle: 'PROVISIONING', errorCode: 'TFM_PROVISIONING_FAILED', message: 'no' }), onEvent: (e) => events.push(e) });
    });
    for (const scanner of scanners) {
      for (const [label, doc] of documents) expect(describeHits(scanner.scan(doc, label))).toBe(describeHits([]));
    }
    expect(binding).toBeDefined();
  });
});
