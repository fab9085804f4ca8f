/**
 * Many stations, one registry (issue 17's "Done when"), with the real CLI as child processes on
 * simulated devices in state files, against a private PostgreSQL server (test/support/postgres.ts):
 *  - 4 stations x 16 devices against a lot of quota 40: exactly 40 provisioned and registered,
 *    24 QUOTA_EXHAUSTED with their devices byte-for-byte unchanged, used + left = quota;
 *  - a station killed with SIGKILL mid-run, `registry reap`, a re-run: no unit leaked or counted twice;
 *  - the registry stopped mid-run, `registry sync`: the attempts and devices it would have had;
 *  - the same device IDs on a second station are refused (DEVICE_ALREADY_REGISTERED), untouched.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readRecords, type ResultRecord } from '../../lib/records';
import { SimulatedDevice } from '../../lib/sim';
import { createSimFleet } from '../../lib/station/sim-fleet';
import { pgTest, startPostgres, type PostgresServer } from '../support/postgres';
import { collect, ensureBuilt, jsonLines, runCliProcess, spawnCli, type CliRun } from '../cli/support/cli';

let server: PostgresServer | undefined;
let dir: string;
let stationUrl: string;

beforeAll(async () => {
  ensureBuilt();
  server = await startPostgres();
  if (server === undefined) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-registry-'));
  const migrate = await runCliProcess(['registry', 'migrate', '--registry', server.adminUrl, '--json']);
  expect(migrate.code).toBe(0);
  await server.sql(`CREATE ROLE line LOGIN; GRANT tfm_registry_station TO line;`);
  stationUrl = server.url('line');
}, 120_000);

afterAll(async () => {
  await server?.destroy();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

const pgIt = (name: string, body: () => Promise<void>, timeout = 240_000): void => pgTest(() => server, name, body, timeout);

const env = (): NodeJS.ProcessEnv => ({ ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks') });

async function admin(args: string[]): Promise<CliRun> {
  return runCliProcess(['registry', ...args, '--registry', server!.adminUrl], { env: env(), cwd: dir });
}

async function lotStatus(lot: string): Promise<Record<string, unknown>> {
  const run = await admin(['status', '--lot', lot, '--json']);
  expect(run.code).toBe(0);
  return jsonLines(run.stdout).find((l) => l.type === 'lot')!;
}

/** The fleet's state files, made as the CLI would make them, and their chip-off dumps now. */
function prepareFleet(name: string, count: number, seed: string): { stateDir: string; before: Map<string, string> } {
  const stateDir = path.join(dir, name);
  createSimFleet({ count, stateDir, deviceIds: { seed } });
  return { stateDir, before: dumps(stateDir) };
}

function dumps(stateDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of fs.readdirSync(stateDir).filter((f) => f.endsWith('.json'))) {
    const device = SimulatedDevice.load(path.join(stateDir, file));
    out.set(device.dump().deviceId, device.dumpHex({ withFlash: true }));
  }
  return out;
}

function stationArgs(name: string, stateDir: string, count: number, seed: string, lot: string, extra: string[] = []): string[] {
  return [
    'station',
    '--sim-count',
    String(count),
    '--sim-state-dir',
    stateDir,
    '--seed',
    seed,
    '--records',
    path.join(dir, `${name}.jsonl`),
    '--station-key',
    path.join(dir, `${name}.pem`),
    '--registry',
    stationUrl,
    '--lot',
    lot,
    '--json',
    ...extra,
  ];
}

/** Starts a station and resolves (with its run's promise) once one of its devices has been written. */
async function stationUntilWritten(name: string, fleet: { stateDir: string; before: Map<string, string> }, seed: string, lot: string, parallel: number) {
  const child = spawnCli(stationArgs(name, fleet.stateDir, fleet.before.size, seed, lot, ['--sim-latency', '3', '--parallel', String(parallel)]), { env: env(), cwd: dir });
  const done = collect(child);
  child.stdin?.end();
  const changed = (): boolean => [...dumps(fleet.stateDir)].some(([id, hex]) => fleet.before.get(id) !== hex);
  while (!changed()) {
    if (child.exitCode !== null) throw new Error('the station finished before any device was seen written; raise --sim-latency');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, done };
}

function devicesOf(run: CliRun): Array<Record<string, unknown>> {
  return jsonLines(run.stdout).filter((l) => l.type === 'device');
}

describe('stations sharing one registry', () => {
  pgIt('4 stations x 16 devices against quota 40: 40 provisioned and registered, 24 QUOTA_EXHAUSTED untouched, used + left = quota', async () => {
    expect((await admin(['lot', 'create', 'L40', '--chip', 'nrf5340', '--quota', '40'])).code).toBe(0);
    const fleets = [0, 1, 2, 3].map((i) => prepareFleet(`s${i}`, 16, `seed-${i}`));
    const runs = await Promise.all(
      fleets.map((f, i) => {
        const child = spawnCli(stationArgs(`s${i}`, f.stateDir, 16, `seed-${i}`, 'L40'), { env: env(), cwd: dir });
        const done = collect(child);
        child.stdin?.end();
        return done;
      }),
    );
    const devices = runs.flatMap(devicesOf);
    expect(devices).toHaveLength(64);
    const provisioned = devices.filter((d) => d.outcome === 'provisioned');
    const refused = devices.filter((d) => d.outcome === 'refused');
    expect(provisioned).toHaveLength(40);
    expect(refused).toHaveLength(24);
    expect(new Set(refused.map((d) => d.errorCode))).toEqual(new Set(['QUOTA_EXHAUSTED']));
    for (const d of refused) expect(d.afterWrite).toBe(false);
    // A station with refusals exits 3 (refused before writing); one with none exits 0.
    for (const r of runs) expect([0, 3]).toContain(r.code);
    // The quota left shows in the JSON stream.
    expect(runs.some((r) => jsonLines(r.stdout).some((l) => l.type === 'quota' && typeof l.left === 'number'))).toBe(true);
    expect(provisioned.every((d) => typeof d.quotaLeft === 'number' && d.registry === 'completed')).toBe(true);

    // Refused devices are byte-for-byte as they were; provisioned ones changed.
    const refusedIds = new Set(refused.map((d) => d.deviceId as string));
    for (const f of fleets) {
      const after = dumps(f.stateDir);
      for (const [id, hex] of f.before) {
        if (refusedIds.has(id)) expect({ id, same: after.get(id) === hex }).toEqual({ id, same: true });
        else expect({ id, same: after.get(id) === hex }).toEqual({ id, same: false });
      }
    }

    const status = await lotStatus('L40');
    expect({ used: status.used, reserved: status.reserved, left: status.left }).toEqual({ used: 40, reserved: 0, left: 0 });
    expect((status.used as number) + (status.left as number)).toBe(40);
    // Per station: the provisioned devices add up (a station that came late may have none).
    const perStation = status.stations as Array<{ provisioned: number }>;
    expect(perStation.length).toBeLessThanOrEqual(4);
    expect(perStation.reduce((n, st) => n + st.provisioned, 0)).toBe(40);

    // Registered = provisioned: the export holds exactly the 40 devices with the keys the records hold.
    const exported = await admin(['export', '--json', '--lot', 'L40']);
    expect(exported.code).toBe(0);
    const rows = jsonLines(exported.stdout).filter((l) => l.type === 'device');
    expect(rows).toHaveLength(40);
    const keys = new Map(provisioned.map((d) => [d.deviceId as string, d.identityPublicKey as string]));
    for (const row of rows) expect(row.identityPublicKey).toBe(keys.get(row.deviceId as string));
    const csv = await admin(['export', '--csv', '--lot', 'L40']);
    expect(csv.stdout.split('\r\n')[0]).toBe('lot,chip,device_id,identity_public_key,instance_id,instance_id_formula,implementation_id,station,probe_serial,provisioned_at');
    expect(csv.stdout.trim().split('\r\n')).toHaveLength(41);

    // Every attempt of every record file is in the registry, with its result.
    const attempts = new Set<string>();
    for (let i = 0; i < 4; i++) for (const r of await readRecords(path.join(dir, `s${i}.jsonl`))) if (r.type === 'result') attempts.add(r.attempt);
    const rowsInDb = await server!.sql(`SELECT attempt FROM tfm_registry.attempts WHERE result IS NOT NULL`);
    for (const a of attempts) expect(rowsInDb.some((r) => r.attempt === a)).toBe(true);

  });

  pgIt('the same device IDs on a second station are refused DEVICE_ALREADY_REGISTERED, untouched, no unit spent', async () => {
    expect((await admin(['lot', 'create', 'D10', '--chip', 'nrf5340', '--quota', '10'])).code).toBe(0);
    const first = prepareFleet('d1', 3, 'dup');
    expect((await runCliProcess(stationArgs('d1', first.stateDir, 3, 'dup', 'D10'), { env: env(), cwd: dir })).code).toBe(0);
    // Another station (its own key) whose devices carry the same IDs.
    const copy = prepareFleet('d2', 3, 'dup');
    const again = await runCliProcess(stationArgs('d2', copy.stateDir, 3, 'dup', 'D10'), { env: env(), cwd: dir });
    expect(again.code).toBe(3);
    expect(devicesOf(again).map((d) => d.errorCode)).toEqual(Array(3).fill('DEVICE_ALREADY_REGISTERED'));
    expect(dumps(copy.stateDir)).toEqual(copy.before);
    const status = await lotStatus('D10');
    expect({ used: status.used, reserved: status.reserved, left: status.left }).toEqual({ used: 3, reserved: 0, left: 7 });
  });

  pgIt('kill -9 of a station mid-run, registry reap, recover and re-run: every device counted once, nothing leaked', async () => {
    expect((await admin(['lot', 'create', 'K8', '--chip', 'nrf5340', '--quota', '8'])).code).toBe(0);
    const fleet = prepareFleet('k', 8, 'kill');
    const records = path.join(dir, 'k.jsonl');
    // Killed once a device has been written (some reservations are held then).
    const { child, done } = await stationUntilWritten('k', fleet, 'kill', 'K8', 4);
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    const held = await lotStatus('K8');
    expect(held.reserved as number).toBeGreaterThan(0);

    const reap = await admin(['reap', '--older-than', '0s', '--lot', 'K8', '--json']);
    expect(reap.code).toBe(0);
    const reaped = jsonLines(reap.stdout).filter((l) => l.type === 'reaped');
    expect(reaped.length).toBe(held.reserved);
    expect((await lotStatus('K8')).reserved).toBe(0);

    // Devices the kill left half written need an erase-all first (the tool's own advice), then the re-run.
    for (let round = 0; round < 3; round++) {
      const rerun = await runCliProcess(stationArgs('k', fleet.stateDir, 8, 'kill', 'K8'), { env: env(), cwd: dir });
      const partial = devicesOf(rerun).filter((d) => d.errorCode === 'PARTIALLY_PROVISIONED' || d.errorCode === 'KMU_SLOT_NOT_EMPTY' || d.errorCode === 'LIFECYCLE_NOT_ASSEMBLY');
      if (partial.length === 0) {
        expect(rerun.code).toBe(0);
        break;
      }
      for (const d of partial) {
        const recover = await runCliProcess(['recover', '--sim', fleet.stateDir + `/${d.probeSerial as number}.json`, '--yes', '--json'], { env: env(), cwd: dir });
        expect(recover.code).toBe(0);
      }
    }
    const status = await lotStatus('K8');
    expect({ used: status.used, reserved: status.reserved, left: status.left }).toEqual({ used: 8, reserved: 0, left: 0 });
    const rows = await server!.sql(`SELECT state, count(*)::int AS n FROM tfm_registry.devices WHERE lot = 'K8' GROUP BY state`);
    expect(rows).toEqual([{ state: 'provisioned', n: 8 }]);
    // The registry's keys are the ones the devices hold now (the last verified result of each).
    const results = (await readRecords(records)).filter((r): r is ResultRecord => r.type === 'result' && r.verified);
    const last = new Map(results.map((r) => [r.deviceId!, r.identityPublicKey]));
    const exported = jsonLines((await admin(['export', '--json', '--lot', 'K8'])).stdout).filter((l) => l.type === 'device');
    for (const row of exported) expect(row.identityPublicKey).toBe(last.get(row.deviceId as string));
  });

  pgIt('the registry stopped mid-run: the run finishes on its records, registry sync replays them once', async () => {
    expect((await admin(['lot', 'create', 'S20', '--chip', 'nrf5340', '--quota', '20'])).code).toBe(0);
    const fleet = prepareFleet('y', 8, 'sync');
    const records = path.join(dir, 'y.jsonl');
    const { done } = await stationUntilWritten('y', fleet, 'sync', 'S20', 3);
    await server!.stop();
    const run = await done;
    await server!.start();
    const devices = devicesOf(run);
    expect(devices).toHaveLength(8);
    const provisioned = devices.filter((d) => d.outcome === 'provisioned');
    const unavailable = devices.filter((d) => d.errorCode === 'REGISTRY_UNAVAILABLE');
    // Every device either finished (it had begun writing) or was refused before writing; none in between.
    expect(provisioned.length + unavailable.length).toBe(8);
    expect(provisioned.length).toBeGreaterThan(0);
    for (const d of unavailable) expect(d.afterWrite).toBe(false);
    const deferred = provisioned.filter((d) => d.registry === 'deferred');
    expect(deferred.length).toBeGreaterThan(0);
    expect(jsonLines(run.stdout).some((l) => l.type === 'warning' && l.code === 'REGISTRY_DEFERRED')).toBe(true);
    // Refused devices are untouched.
    const after = dumps(fleet.stateDir);
    for (const d of unavailable) expect(after.get(d.deviceId as string)).toBe(fleet.before.get(d.deviceId as string));

    const sync = await runCliProcess(['registry', 'sync', records, '--lot', 'S20', '--registry', stationUrl, '--json'], { env: env(), cwd: dir });
    expect(sync.code).toBe(0);
    const result = jsonLines(sync.stdout).find((l) => l.type === 'result')!;
    expect(result.replayed as number).toBeGreaterThanOrEqual(deferred.length);
    expect(result.authorship).toBe('verified');
    // As it would have been: each provisioned device registered with its key, nothing reserved.
    const status = await lotStatus('S20');
    expect({ used: status.used, reserved: status.reserved }).toEqual({ used: provisioned.length, reserved: 0 });
    const rows = await server!.sql(`SELECT device_id, state, identity_public_key FROM tfm_registry.devices WHERE lot = 'S20' AND state = 'provisioned'`);
    expect(new Map(rows.map((r) => [r.device_id, r.identity_public_key]))).toEqual(new Map(provisioned.map((d) => [d.deviceId, d.identityPublicKey])));
    const results = (await readRecords(records)).filter((r) => r.type === 'result');
    const attempts = await server!.sql(`SELECT attempt FROM tfm_registry.attempts WHERE result IS NOT NULL`);
    for (const r of results) expect(attempts.some((a) => a.attempt === r.attempt)).toBe(true);
    // A second sync changes nothing.
    const again = await runCliProcess(['registry', 'sync', records, '--lot', 'S20', '--registry', stationUrl, '--json'], { env: env(), cwd: dir });
    expect(jsonLines(again.stdout).find((l) => l.type === 'result')!.replayed).toBe(0);
    expect(await lotStatus('S20')).toEqual(status);
  });
});
