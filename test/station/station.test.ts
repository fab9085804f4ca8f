import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readRecords, verifyRecordFile, type ProvisioningRecord, type ResultRecord } from '../../lib/records';
import { seededRandom } from '../../lib/random';
import { SimulatedDevice } from '../../lib/sim';
import { type DeviceOutcome, type StationEvent, runStation, stationExitCode } from '../../lib/station';
import { createSimFleet } from '../../lib/station/sim-fleet';
import { RecordingRandom } from '../hygiene/recording-random';
import { SecretScanner, describeHits } from '../hygiene/secret-scanner';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-station-'));
  env = { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks') };
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Index of the first non-volatile write in a clean run: faults before it change nothing, after it leave a partial device. */
async function firstNvmcWrite(): Promise<number> {
  const fleet = createSimFleet({ count: 1 });
  await runStation({ binding: fleet.binding, serialNumbers: fleet.serialNumbers, records: false, lockProbes: false });
  const index = fleet.sim.operations(fleet.serialNumbers[0]!).findIndex((op) => op.nvmc === true);
  expect(index).toBeGreaterThan(0);
  return index;
}

function byAttempt(records: ProvisioningRecord[]): Map<string, ProvisioningRecord[]> {
  const map = new Map<string, ProvisioningRecord[]>();
  for (const r of records) map.set(r.attempt, [...(map.get(r.attempt) ?? []), r]);
  return map;
}

describe('station on simulated devices', () => {
  it('provisions 16 devices in parallel; failures on some never stop the others, and the records match what happened', async () => {
    const firstWrite = await firstNvmcWrite();
    const fleet = createSimFleet({ count: 16 });
    const serial = (i: number): number => fleet.serialNumbers[i]!;

    // The cast of faults.
    fleet.sim.injectFault(serial(2), { atOperation: 0, kind: 'error', code: 'CANNOT_CONNECT' }); // nothing written
    fleet.sim.detach(serial(4));
    fleet.sim.attach(serial(4), SimulatedDevice.create({ chip: 'nrf5340', deviceId: 'aa00000000000004', state: { lifecycle: 'PROVISIONING' } })); // refused
    fleet.sim.injectFault(serial(6), { atOperation: firstWrite + 6, kind: 'error', code: 'NVMC_TIMEOUT' }); // fails after writing
    fleet.sim.injectFault(serial(8), { atOperation: firstWrite + 12, kind: 'power-loss' }); // torn write
    fleet.sim.injectFault(serial(10), { atOperation: firstWrite + 2, kind: 'disconnect' }); // probe lost mid-way
    fleet.sim.detach(serial(12));
    fleet.sim.attach(serial(12), SimulatedDevice.create({ chip: 'nrf9160', deviceId: 'aa0000000000000c' }));
    fleet.sim.detach(serial(14));
    fleet.sim.attach(serial(14), SimulatedDevice.create({ chip: 'nrf9161', deviceId: 'aa0000000000000e' }));

    // Device 12 is provisioned by an earlier run: the station finds it already provisioned.
    const earlier = await runStation({ binding: fleet.binding, serialNumbers: [serial(12)], records: false, env });
    expect(earlier.counts.passed).toBe(1);

    const randoms = new Map<number, RecordingRandom>();
    const events: StationEvent[] = [];
    const recordsFile = path.join(dir, 'records.jsonl');
    const summary = await runStation({
      binding: fleet.binding,
      serialNumbers: fleet.serialNumbers,
      parallel: 16,
      records: recordsFile,
      env,
      randomFor: (s) => {
        const random = new RecordingRandom(seededRandom(`station-test:${s}`));
        randoms.set(s, random);
        return random;
      },
      deviceOptions: (s) => ({ bootModel: fleet.bootModel(s) }),
      onEvent: (e) => events.push(e),
    });

    // Every probe ran at the same time: all 16 started before the first one ended.
    const firstEnd = events.findIndex((e) => e.type === 'deviceEnd');
    expect(events.slice(0, firstEnd).filter((e) => e.type === 'deviceStart')).toHaveLength(16);

    const outcome = (i: number): DeviceOutcome => summary.devices.find((d) => d.probeSerial === serial(i))!;
    expect(summary.devices).toHaveLength(16);
    expect(outcome(2)).toMatchObject({ outcome: 'failed', errorCode: 'CANNOT_CONNECT', afterWrite: false });
    expect(outcome(4)).toMatchObject({ outcome: 'refused', afterWrite: false });
    expect(outcome(6)).toMatchObject({ outcome: 'failed', afterWrite: true });
    expect(outcome(8)).toMatchObject({ outcome: 'failed', errorCode: 'PROBE_DISCONNECTED', afterWrite: true });
    expect(outcome(10)).toMatchObject({ outcome: 'failed', errorCode: 'PROBE_DISCONNECTED' });
    expect(outcome(12)).toMatchObject({ outcome: 'alreadyProvisioned', ok: true, chip: 'nrf9160' });
    expect(outcome(14)).toMatchObject({ outcome: 'provisioned', ok: true, chip: 'nrf9161' });
    const passed = [0, 1, 3, 5, 7, 9, 11, 13, 14, 15];
    for (const i of passed) expect(outcome(i)).toMatchObject({ outcome: 'provisioned', ok: true });
    expect(summary.counts).toEqual({ passed: 10, alreadyProvisioned: 1, refused: 1, failed: 4, interrupted: 0 });
    expect(summary.ok).toBe(false);
    expect(stationExitCode(summary)).toBe(4);
    expect(summary.devicesPerMinute).toBeGreaterThan(0);

    // The record file: an intact chain, one result per probe, an intent exactly where something was written.
    expect(await verifyRecordFile(recordsFile)).toMatchObject({ ok: true, results: 16 });
    const records = await readRecords(recordsFile);
    const attempts = byAttempt(records);
    expect(attempts.size).toBe(16);
    for (let i = 0; i < 16; i++) {
      const d = outcome(i);
      const own = attempts.get(d.attempt)!;
      const intent = own.find((r) => r.type === 'intent');
      const result = own.find((r) => r.type === 'result') as ResultRecord;
      expect(own.filter((r) => r.type === 'result')).toHaveLength(1);
      if (intent !== undefined) expect(own.indexOf(intent)).toBeLessThan(own.indexOf(result));
      expect(result).toMatchObject({ probeSerial: serial(i), outcome: d.outcome, wroteDevice: d.afterWrite, backend: 'sim', simulated: true });
      const device = fleet.sim.device(serial(i))!;
      const dump = device.dump();
      const lifecycleChanged = dump.lifecycle !== 'ASSEMBLY' && i !== 4 && i !== 12;
      const touched = lifecycleChanged || dump.kmuSlots.length > 0;
      // Every device whose state changed in this run has its intent; untouched ones have none.
      if (i === 4 || i === 12) expect(intent).toBeUndefined();
      else expect(intent !== undefined).toBe(touched || d.afterWrite);
      if (d.outcome === 'provisioned') {
        expect(result).toMatchObject({ verified: true, deviceId: dump.deviceId, chip: dump.chip, lifecycleBefore: 'ASSEMBLY', lifecycleAfter: 'PROVISIONING' });
        const boot = device.clone().bootTfm();
        expect(boot.ok).toBe(true);
        expect(result.identityPublicKey).toBe(boot.identityPublicKey);
        expect(result.instanceId).toBe(boot.instanceId);
        expect(intent).toMatchObject({ identityPublicKey: boot.identityPublicKey, deviceId: dump.deviceId });
      }
    }
    expect(outcome(2).deviceId).toBeUndefined();
    expect(fleet.sim.device(serial(2))!.dump().lifecycle).toBe('ASSEMBLY');

    // Never key material: not in the record file, not in any event the station emitted.
    const scanner = new SecretScanner();
    for (const [s, random] of randoms) for (const draw of random.draws) if (draw.copy.length >= 8) scanner.add(`probe ${s} draw ${draw.index}`, draw.copy);
    expect(scanner.size).toBeGreaterThanOrEqual(2 * 13); // HUKs and identity key of the 13 devices that got that far
    const hits = [...scanner.scan(await fsp.readFile(recordsFile, 'utf8'), 'records'), ...scanner.scan(events, 'events'), ...scanner.scan(summary, 'summary')];
    expect(describeHits(hits)).toBe(describeHits([]));
    for (const random of randoms.values()) {
      expect(random.notZeroed()).toEqual([]);
      random.wipe();
    }
  });

  it('stops on its signal: runs that began writing finish, the rest write nothing, no device is left half done', async () => {
    const fleet = createSimFleet({ count: 8, latencyMs: 1 });
    const controller = new AbortController();
    const recordsFile = path.join(dir, 'records.jsonl');
    let intents = 0;
    const summary = await runStation({
      binding: fleet.binding,
      serialNumbers: fleet.serialNumbers,
      parallel: 4,
      records: recordsFile,
      env,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'intentRecorded' && ++intents === 2) controller.abort();
      },
    });
    expect(summary.interrupted).toBe(true);
    expect(stationExitCode(summary)).toBe(130);
    expect(summary.devices).toHaveLength(8);
    const provisioned = summary.devices.filter((d) => d.outcome === 'provisioned');
    expect(provisioned.length).toBeGreaterThanOrEqual(1);
    expect(summary.counts.interrupted).toBe(8 - provisioned.length);
    expect(summary.counts.failed + summary.counts.refused).toBe(0);
    for (const d of summary.devices) {
      const dump = fleet.sim.device(d.probeSerial)!.dump();
      if (d.outcome === 'provisioned') expect(fleet.sim.device(d.probeSerial)!.clone().bootTfm().ok).toBe(true);
      else {
        expect(d).toMatchObject({ outcome: 'interrupted', afterWrite: false });
        expect(dump.lifecycle).toBe('ASSEMBLY');
        expect(dump.kmuSlots).toEqual([]);
      }
    }
    // Devices whose intent was being recorded when the signal came stop before their first write:
    // an intent without a write is allowed (at most one per worker), a write without an intent never.
    const records = await readRecords(recordsFile);
    const intentAttempts = new Set(records.filter((r) => r.type === 'intent').map((r) => r.attempt));
    for (const d of provisioned) expect(intentAttempts.has(d.attempt)).toBe(true);
    expect(intentAttempts.size).toBeLessThanOrEqual(4);
    const started = summary.devices.filter((d) => d.started);
    expect(started.length).toBe(4); // one per worker; none started after the signal
    expect(records.filter((r) => r.type === 'result')).toHaveLength(started.length);
  });

  it('watch mode: provisions each new device once, ignores one it has seen, and stops at --max-devices', async () => {
    const { SimBinding } = await import('../../lib/sim');
    const sim = new SimBinding({ latencyMs: 0 });
    const A = 200000001;
    const B = 200000002;
    const d1 = SimulatedDevice.create({ chip: 'nrf5340', deviceId: '0000000000000d01' });
    const d2 = SimulatedDevice.create({ chip: 'nrf9160', deviceId: '0000000000000d02' });
    const d3 = SimulatedDevice.create({ chip: 'nrf5340', deviceId: '0000000000000d03' });
    sim.attach(A, d1);

    const ended = new Map<string, () => void>();
    const endOf = (deviceId: string): Promise<void> => new Promise((resolve) => ended.set(deviceId, resolve));
    const waitingForRemoval: string[] = [];
    const d1Done = endOf('0000000000000d01');
    const d2Done = endOf('0000000000000d02');
    const d3Done = endOf('0000000000000d03');
    const run = runStation({
      binding: sim,
      serialNumbers: [A, B],
      records: path.join(dir, 'records.jsonl'),
      env,
      watch: { maxDevices: 3, pollMs: 2 },
      onEvent: (e) => {
        if (e.type === 'deviceEnd' && e.device.deviceId !== undefined) ended.get(e.device.deviceId)?.();
        if (e.type === 'waitingForRemoval') waitingForRemoval.push(e.deviceId);
      },
    });

    await d1Done;
    sim.detach(A);
    sim.attach(B, d1); // the same device moved to the other probe: already seen, left alone
    await new Promise((r) => setTimeout(r, 30));
    sim.attach(A, d2);
    await d2Done;
    sim.detach(B);
    sim.attach(B, d3);
    await d3Done;
    const summary = await run;

    expect(summary.devices.map((d) => [d.deviceId, d.outcome])).toEqual([
      ['0000000000000d01', 'provisioned'],
      ['0000000000000d02', 'provisioned'],
      ['0000000000000d03', 'provisioned'],
    ]);
    expect(summary.devices.map((d) => d.probeSerial)).toEqual([A, A, B]);
    expect(waitingForRemoval.slice(0, 2)).toEqual(['0000000000000d01', '0000000000000d02']);
    expect(stationExitCode(summary)).toBe(0);
  });

  it('watch mode ends at --duration with no device in flight', async () => {
    const { SimBinding } = await import('../../lib/sim');
    const sim = new SimBinding({ latencyMs: 0 });
    sim.attach(300000001, SimulatedDevice.create({ chip: 'nrf5340', state: { lifecycle: 'PROVISIONING' } }));
    const summary = await runStation({ binding: sim, serialNumbers: [300000001], records: false, env, watch: { durationMs: 100, pollMs: 5 } });
    expect(summary.devices).toHaveLength(1);
    expect(summary.devices[0]).toMatchObject({ outcome: 'refused' });
    expect(summary.interrupted).toBe(false);
    expect(stationExitCode(summary)).toBe(3);
  });
  it('watch mode on 16 probes: the abort listeners stay bounded across 48 devices (one per run, none left behind)', async () => {
    const { EventEmitter } = await import('node:events');
    const getEventListeners = (target: EventTarget, name: string): unknown[] => EventEmitter.getEventListeners(target, name);
    const { SimBinding } = await import('../../lib/sim');
    const { provision } = await import('../../lib/provision');
    const sim = new SimBinding({ latencyMs: 0 });
    const probes = Array.from({ length: 16 }, (_, i) => 400000001 + i);
    const total = 48;
    let made = 0;
    const place = (serial: number): void => {
      made++;
      sim.attach(serial, SimulatedDevice.create({ chip: 'nrf5340', deviceId: (0xe000 + made).toString(16).padStart(16, '0') }));
    };
    for (const serial of probes) place(serial);

    const caller = new AbortController();
    const atRunStart: number[] = [];
    const onCaller: number[] = [];
    const runSignals = new Set<AbortSignal>();
    const summary = await runStation({
      binding: sim,
      serialNumbers: probes,
      records: false,
      env,
      signal: caller.signal,
      watch: { maxDevices: total, pollMs: 1 },
      provisionFn: (session, options) => {
        // Another run's listener on this run's signal would mean the runs share one signal.
        atRunStart.push(getEventListeners(options.signal!, 'abort').length);
        onCaller.push(getEventListeners(caller.signal, 'abort').length);
        runSignals.add(options.signal!);
        return provision(session, options);
      },
      onEvent: (e) => {
        // The device is taken away once it is done, and a fresh one is placed while others are still running.
        if (e.type === 'deviceEnd') {
          sim.detach(e.device.probeSerial);
          if (made < total) place(e.device.probeSerial);
        }
      },
    });

    expect(summary.devices).toHaveLength(total);
    expect(summary.devices.every((d) => d.outcome === 'provisioned')).toBe(true);
    expect(runSignals.size).toBe(total); // a signal of its own for each run
    expect(Math.max(...atRunStart)).toBe(0);
    expect(Math.max(...onCaller)).toBe(1); // the station's one listener, however many runs are in flight
    for (const signal of runSignals) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });
});
