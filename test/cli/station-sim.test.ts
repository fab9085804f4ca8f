/**
 * CLI rules on the simulator, through separate processes (no terminal) and in-process runs with an
 * injected terminal: probe selection, the probe lock between two processes, exit codes, JSON Lines.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT } from '../../lib/exit-codes';
import { runCli } from '../../lib/cli/program';
import { readRecords, verifyRecordFile } from '../../lib/records';
import { SimulatedDevice } from '../../lib/sim';
import { SIM_FLEET_FIRST_SERIAL } from '../../lib/station';
import { collect, ensureBuilt, jsonLines, runCliProcess, spawnCli, waitForOutput } from './support/cli';
import { captureIo } from './support/io';
import { ownStationKeyEnv } from '../support/own-station-key';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => ensureBuilt());
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-station-cli-'));
  env = { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks'), ...ownStationKeyEnv(dir) };
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const S1 = SIM_FLEET_FIRST_SERIAL;
const STATION_EVENT_TYPES = new Set([
  'station',
  'deviceStart',
  'deviceIdentified',
  'stepBegin',
  'stepEnd',
  'message',
  'warning',
  'preflight',
  'plan',
  'intentRecorded',
  'device',
  'waitingForDevice',
  'waitingForRemoval',
  'stopping',
  'result',
]);

describe('station command on the simulator', () => {
  it('--json: stdout is JSON Lines only, every line typed, the last one the result; records written and chained', async () => {
    const records = path.join(dir, 'records.jsonl');
    const run = await runCliProcess(['station', '--sim-count', '3', '--json', '--records', records], { env, cwd: dir });
    expect(run.code).toBe(EXIT.OK);
    const lines = jsonLines(run.stdout);
    for (const line of lines) expect(STATION_EVENT_TYPES.has(String(line.type))).toBe(true);
    for (const line of lines.filter((l) => l.type !== 'station' && l.type !== 'result' && l.type !== 'stopping')) expect(typeof line.probe).toBe('number');
    const result = lines[lines.length - 1]!;
    expect(Object.keys(result).sort()).toEqual(['command', 'counts', 'devices', 'devicesPerMinute', 'durationMs', 'errorCode', 'interrupted', 'ok', 'records', 'schema', 'type'].sort());
    expect(result).toMatchObject({ type: 'result', command: 'station', ok: true, errorCode: null, counts: { passed: 3, failed: 0, refused: 0, alreadyProvisioned: 0 } });
    expect(lines.filter((l) => l.type === 'device')).toHaveLength(3);
    expect(lines.filter((l) => l.type === 'message' && l.text === 'Success!')).toHaveLength(3);
    expect(await verifyRecordFile(records)).toMatchObject({ ok: true, intents: 3, results: 3 });
  });

  it('16+ probes, once through and in --watch: nothing on stderr (no MaxListenersExceededWarning from one shared abort signal)', async () => {
    const once = await runCliProcess(['station', '--sim-count', '20', '--json', '--records', path.join(dir, 'once.jsonl')], { env, cwd: dir });
    expect(once.code).toBe(EXIT.OK);
    expect(once.stderr).not.toContain('MaxListenersExceededWarning');
    expect(once.stderr).toBe('');
    expect(jsonLines(once.stdout).pop()).toMatchObject({ type: 'result', counts: { passed: 20 } });
    // In watch mode the 20 idle probes also wait on the stop signal, all at once, until --duration.
    const watch = await runCliProcess(['station', '--sim-count', '20', '--json', '--watch', '--duration', '2', '--poll-ms', '5', '--records', path.join(dir, 'watch.jsonl')], { env, cwd: dir });
    expect(watch.code).toBe(EXIT.OK);
    expect(watch.stderr).toBe('');
    expect(jsonLines(watch.stdout).pop()).toMatchObject({ type: 'result', counts: { passed: 20 } });
  });

  it('--sim-state-dir: fresh devices of two directories have different device IDs (two simulated stations can share a registry); a directory keeps its IDs', async () => {
    const idsOf = async (stateDir: string): Promise<string[]> => {
      const run = await runCliProcess(['station', '--sim-count', '2', '--sim-state-dir', stateDir, '--no-records', '--json'], { env, cwd: dir });
      return jsonLines(run.stdout).filter((l) => l.type === 'device').map((l) => String(l.deviceId));
    };
    const a = await idsOf('A');
    const b = await idsOf('B');
    expect(a).toHaveLength(2);
    expect(b).toHaveLength(2);
    expect(a.filter((id) => b.includes(id))).toEqual([]);
    // The devices live on in A: a second run there finds the same devices (already provisioned).
    expect((await idsOf('A')).sort()).toEqual([...a].sort());
  });

  it('writes the record file under the working directory by default', async () => {
    const run = await runCliProcess(['station', '--sim-count', '1'], { env, cwd: dir });
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('PASS');
    expect(run.stdout).toMatch(/passed\s+1/);
    expect(run.stdout).toMatch(/devices per minute\s+\d/);
    expect(await verifyRecordFile(path.join(dir, 'tfm-provision-records.jsonl'))).toMatchObject({ ok: true, results: 1 });
  });

  it('never guesses probes: no selection is PROBE_SELECTION_REQUIRED (2), an unknown serial PROBE_NOT_FOUND (5) listing those present', async () => {
    const none = captureIo({ env, cwd: dir });
    expect(await runCli(['station'], none.io)).toBe(EXIT.USAGE);
    expect(none.stderr()).toContain('PROBE_SELECTION_REQUIRED');

    const unknown = await runCliProcess(['station', '--sim-count', '3', '--snr', `${S1},999`, '--json'], { env, cwd: dir });
    expect(unknown.code).toBe(EXIT.ENVIRONMENT);
    expect(unknown.stderr).toContain(`PROBE_NOT_FOUND: Probe 999 is not connected. Connected: ${S1}, ${S1 + 1}, ${S1 + 2}.`);
    expect(jsonLines(unknown.stdout)).toEqual([expect.objectContaining({ type: 'result', ok: false, errorCode: 'PROBE_NOT_FOUND' })]);

    const recover = captureIo({ env, cwd: dir });
    expect(await runCli(['recover', '--sim-count', '2'], recover.io)).toBe(EXIT.USAGE);
    expect(recover.stderr()).toContain(`PROBE_SELECTION_REQUIRED: 2 probes are connected (${S1}, ${S1 + 1}); choose one with --snr.`);

    const subset = await runCliProcess(['station', '--sim-count', '3', '--snr', String(S1 + 1), '--json'], { env, cwd: dir });
    expect(subset.code).toBe(EXIT.OK);
    expect(jsonLines(subset.stdout).filter((l) => l.type === 'device').map((l) => l.probe)).toEqual([S1 + 1]);
  });

  it('exit codes: usage 2, refused 3 (nothing written), and the worst device decides for a station', async () => {
    const usage = captureIo({ env, cwd: dir });
    expect(await runCli(['station', '--sim-count', '0'], usage.io)).toBe(EXIT.USAGE);
    expect(await runCli(['station', '--sim-count', '2', '--max-devices', '3'], captureIo({ env, cwd: dir }).io)).toBe(EXIT.USAGE);
    expect(await runCli(['station', '--snr', '12', '--all'], captureIo({ env, cwd: dir }).io)).toBe(EXIT.USAGE);

    // Probe 2 holds a device already in PROVISIONING without keys: refused, nothing written.
    const states = path.join(dir, 'states');
    await fsp.mkdir(states);
    SimulatedDevice.create({ chip: 'nrf5340', deviceId: 'abcdef0000000002', state: { lifecycle: 'PROVISIONING' } }).save(path.join(states, `${S1 + 1}.json`));
    const before = await fsp.readFile(path.join(states, `${S1 + 1}.json`), 'utf8');
    const records = path.join(dir, 'records.jsonl');
    const run = await runCliProcess(['station', '--sim-count', '2', '--sim-state-dir', states, '--records', records, '--json'], { env, cwd: dir });
    expect(run.code).toBe(EXIT.REFUSED);
    const result = jsonLines(run.stdout).pop()!;
    expect(result).toMatchObject({ ok: false, errorCode: 'PARTIALLY_PROVISIONED', counts: { passed: 1, refused: 1 } });
    expect(SimulatedDevice.load(path.join(states, `${S1 + 1}.json`)).dump()).toEqual(SimulatedDevice.fromJSON(JSON.parse(before)).dump());
    const mine = (await readRecords(records)).filter((r) => r.probeSerial === S1 + 1);
    expect(mine.map((r) => r.type)).toEqual(['result']);
    expect(mine[0]).toMatchObject({ outcome: 'refused', wroteDevice: false, errorCode: 'PARTIALLY_PROVISIONED' });

    // Run again: probe 1 is now already provisioned (0 for it), probe 2 still refused: 3.
    const again = await runCliProcess(['station', '--sim-count', '2', '--sim-state-dir', states, '--records', records, '--json'], { env, cwd: dir });
    expect(again.code).toBe(EXIT.REFUSED);
    expect(jsonLines(again.stdout).pop()).toMatchObject({ counts: { passed: 0, alreadyProvisioned: 1, refused: 1 } });
    expect(await verifyRecordFile(records)).toMatchObject({ ok: true });
  });

  it('refuses an ERASEPROTECT device unchanged, and provisions it with --allow-erase-protected', async () => {
    const states = path.join(dir, 'states');
    await fsp.mkdir(states);
    const file = path.join(states, `${S1}.json`);
    SimulatedDevice.create({ chip: 'nrf5340', deviceId: 'abcdef0000000003', state: { eraseProtect: true } }).save(file);
    const before = SimulatedDevice.load(file).dump();
    const refused = await runCliProcess(['station', '--sim-count', '1', '--sim-state-dir', states, '--records', path.join(dir, 'r.jsonl'), '--json'], { env, cwd: dir });
    expect(refused.code).toBe(EXIT.REFUSED);
    expect(jsonLines(refused.stdout).pop()).toMatchObject({ ok: false, errorCode: 'ERASE_PROTECTED', counts: { refused: 1 } });
    expect(SimulatedDevice.load(file).dump()).toEqual(before);

    const allowed = await runCliProcess(
      ['station', '--sim-count', '1', '--sim-state-dir', states, '--records', path.join(dir, 'r.jsonl'), '--json', '--allow-erase-protected'],
      { env, cwd: dir },
    );
    expect(allowed.code).toBe(EXIT.OK);
    expect(jsonLines(allowed.stdout).pop()).toMatchObject({ ok: true, counts: { passed: 1 } });
  });

  it('one process per probe: a second station on the same simulated devices gets PROBE_BUSY naming the first one\'s PID', async () => {
    // Simulated devices in a state directory are shared between processes, so they are locked;
    // devices that live only in one process's memory are not (nothing to share).
    const states = path.join(dir, 'states');
    const first = spawnCli(['station', '--sim-count', '2', '--sim-state-dir', states, '--sim-latency', '20', '--json', '--records', path.join(dir, 'a.jsonl')], { env, cwd: dir });
    const firstDone = collect(first);
    first.stdin?.end();
    await waitForOutput(first, (out) => out.includes('"deviceStart"'));

    const second = await runCliProcess(['station', '--sim-count', '2', '--sim-state-dir', states, '--json', '--records', path.join(dir, 'b.jsonl')], { env, cwd: dir });
    expect(second.code).toBe(EXIT.ENVIRONMENT);
    expect(second.stderr).toContain(`in use by process ${first.pid}`);
    const devices = jsonLines(second.stdout).filter((l) => l.type === 'device');
    expect(devices).toHaveLength(2);
    for (const d of devices) expect(d).toMatchObject({ outcome: 'failed', errorCode: 'PROBE_BUSY', afterWrite: false });

    const list = await runCliProcess(['list', '--sim-count', '2', '--sim-state-dir', states, '--json'], { env, cwd: dir });
    const probes = jsonLines(list.stdout).filter((l) => l.type === 'probe');
    expect(probes).toHaveLength(2);
    for (const p of probes) expect(p).toMatchObject({ busyPid: first.pid, errorCode: 'PROBE_BUSY', device: null });

    const recover = await runCliProcess(['recover', '--sim-count', '2', '--sim-state-dir', states, '--snr', String(S1)], { env, cwd: dir });
    expect(recover.code).toBe(EXIT.ENVIRONMENT);
    expect(recover.stderr).toContain(`PROBE_BUSY: Probe ${S1} is in use by process ${first.pid}`);

    // In-memory simulated devices of another process are not the same devices: no lock between them.
    const separate = await runCliProcess(['station', '--sim-count', '2', '--json', '--records', path.join(dir, 'c.jsonl')], { env, cwd: dir });
    expect(separate.code).toBe(EXIT.OK);
    expect((await firstDone).code).toBe(EXIT.OK);
  });

  it('Ctrl-C: finishes the writes in flight, leaves the rest untouched, prints a summary and exits 130', async () => {
    const states = path.join(dir, 'states');
    const records = path.join(dir, 'records.jsonl');
    const child = spawnCli(['station', '--sim-count', '6', '--parallel', '2', '--sim-latency', '5', '--sim-state-dir', states, '--records', records], { env, cwd: dir });
    const done = collect(child);
    child.stdin?.end();
    // Wait until the first devices are being written, then interrupt.
    for (;;) {
      await new Promise((r) => setTimeout(r, 20));
      const text = await fsp.readFile(records, 'utf8').catch(() => '');
      if (text.includes('"intent"')) break;
    }
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(EXIT.INTERRUPTED);
    expect(run.stdout).toContain('Station stopped');
    expect(run.stdout).toMatch(/not started \(stopped\)\s+[1-9]/);
    expect(run.stderr).toContain('INTERRUPTED');
    const all = await readRecords(records);
    for (let i = 0; i < 6; i++) {
      const serial = S1 + i;
      const dump = SimulatedDevice.load(path.join(states, `${serial}.json`)).dump();
      const result = all.find((r) => r.probeSerial === serial && r.type === 'result');
      if (dump.lifecycle === 'ASSEMBLY') {
        expect(dump.kmuSlots).toEqual([]);
        if (result !== undefined) expect(result).toMatchObject({ wroteDevice: false });
      } else {
        // Begun: finished completely, verified, and recorded.
        expect(result).toMatchObject({ outcome: 'provisioned', verified: true });
        expect(SimulatedDevice.load(path.join(states, `${serial}.json`)).bootTfm().ok).toBe(true);
      }
    }
    expect(await verifyRecordFile(records)).toMatchObject({ ok: true });
  });
});
