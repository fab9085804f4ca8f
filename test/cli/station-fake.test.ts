/**
 * CLI rules through the real native addon on the fake nrfjprog library: list, probe selection,
 * the probe lock between two processes, exit codes, JSON Lines, recover, and the typed
 * confirmation. The confirmation only applies to real probes, so those tests use the fake built
 * without its marker symbol (test/cli/support/unmarked-fake.ts), which the addon takes for real.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT } from '../../lib/exit-codes';
import { runCli } from '../../lib/cli/program';
import { readRecords, verifyRecordFile } from '../../lib/records';
import { fakeNrfjprog, type FakeNrfjprogOptions } from '../support/fake-vendor';
import { collect, ensureBuilt, jsonLines, runCliProcess, spawnCli, waitForOutput } from './support/cli';
import { captureIo } from './support/io';
import { ownStationKeyEnv } from '../support/own-station-key';
import { unmarkedFakeLibrary } from './support/unmarked-fake';

const A = 1050123456;
const B = 1050654321;
const C = 683000111;

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => ensureBuilt());
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-fake-cli-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Configures the fake (for this process and, through FAKE_NRFJPROG_CONFIG, for child processes). */
function configure(options: FakeNrfjprogOptions = {}): { library: string; args: string[]; trace: () => string[] } {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: A }, { serialNumber: B, chip: 'nrf9160' }, { serialNumber: C, chip: 'nrf9161' }], ...options });
  env = { ...process.env, FAKE_NRFJPROG_CONFIG: fake.configPath, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks'), ...ownStationKeyEnv(dir) };
  return {
    library: fake.libraryPath,
    args: ['--backend', 'nrfjprog', '--library', fake.libraryPath],
    trace: () => fake.readTrace().map((t) => `${t.serialNumber} ${t.function} ${t.args.join(' ')}`.trim()),
  };
}

describe('CLI on the fake nrfjprog library', () => {
  it('list --json: every probe with its chip and device ID, then the result line', async () => {
    const fake = configure();
    const run = await runCliProcess(['list', '--json', ...fake.args], { env, cwd: dir });
    expect(run.code).toBe(EXIT.OK);
    const lines = jsonLines(run.stdout);
    expect(lines.map((l) => l.type)).toEqual(['probe', 'probe', 'probe', 'result']);
    expect(lines.find((l) => l.serialNumber === A)).toMatchObject({ device: { chip: 'nrf5340', deviceId: expect.stringMatching(/^[0-9a-f]{16}$/) }, busyPid: null, errorCode: null });
    expect(lines.find((l) => l.serialNumber === B)).toMatchObject({ device: { chip: 'nrf9160' } });
    expect(lines.find((l) => l.serialNumber === C)).toMatchObject({ device: { chip: 'nrf9161' } });
    expect(lines[3]).toMatchObject({ type: 'result', command: 'list', ok: true, count: 3, backend: 'nrfjprog' });

    const human = await runCliProcess(['list', ...fake.args], { env, cwd: dir });
    expect(human.stdout.split('\n')[0]).toMatch(/^probe\s+chip\s+device ID/);
    expect(human.stdout).toContain(String(C));
  });

  it('station on three probes: all provisioned in one run, records chained, JSON Lines shape', async () => {
    const fake = configure();
    const records = path.join(dir, 'records.jsonl');
    const run = await runCliProcess(['station', '--all', '--json', '--records', records, ...fake.args], { env, cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT.OK);
    const lines = jsonLines(run.stdout);
    expect(lines[0]).toMatchObject({ type: 'station', probes: [A, B, C], parallel: 3, watch: false });
    expect(lines[lines.length - 1]).toMatchObject({ type: 'result', ok: true, counts: { passed: 3 } });
    const devices = lines.filter((l) => l.type === 'device');
    expect(devices.map((d) => [d.probe, d.outcome]).sort()).toEqual([
      [C, 'provisioned'],
      [A, 'provisioned'],
      [B, 'provisioned'],
    ].sort());
    const report = await verifyRecordFile(records);
    expect(report).toMatchObject({ ok: true, intents: 3, results: 3 });
    for (const r of await readRecords(records)) expect(r).toMatchObject({ backend: 'nrfjprog', simulated: true });
  });

  it('probe selection: several probes and no --snr is PROBE_SELECTION_REQUIRED; an unknown serial is PROBE_NOT_FOUND listing the present ones', async () => {
    const fake = configure({ trace: true });
    const recover = await runCliProcess(['recover', '--json', ...fake.args], { env, cwd: dir });
    expect(recover.code).toBe(EXIT.USAGE);
    expect(recover.stderr).toContain(`PROBE_SELECTION_REQUIRED: 3 probes are connected (${A}, ${B}, ${C})`);
    expect(jsonLines(recover.stdout)).toEqual([expect.objectContaining({ type: 'result', ok: false, errorCode: 'PROBE_SELECTION_REQUIRED' })]);

    const station = await runCliProcess(['station', '--snr', `${A},424242`, ...fake.args], { env, cwd: dir });
    expect(station.code).toBe(EXIT.ENVIRONMENT);
    expect(station.stderr).toContain(`PROBE_NOT_FOUND: Probe 424242 is not connected. Connected: ${A}, ${B}, ${C}.`);
    expect(fake.trace().some((line) => /write/.test(line))).toBe(false);
  });

  it('one process per probe: a second process on the same probe gets PROBE_BUSY with the first one\'s PID', async () => {
    const fake = configure({ latencyUs: 20_000 });
    const first = spawnCli(['station', '--snr', String(A), '--json', '--records', path.join(dir, 'a.jsonl'), ...fake.args], { env, cwd: dir });
    const firstDone = collect(first);
    first.stdin?.end();
    await waitForOutput(first, (out) => out.includes('"deviceStart"'));

    const second = await runCliProcess(['station', '--snr', String(A), '--json', '--records', path.join(dir, 'b.jsonl'), ...fake.args], { env, cwd: dir });
    expect(second.code).toBe(EXIT.ENVIRONMENT);
    expect(second.stderr).toContain(`PROBE_BUSY`);
    expect(second.stderr).toContain(`in use by process ${first.pid}`);
    expect(jsonLines(second.stdout).find((l) => l.type === 'device')).toMatchObject({ outcome: 'failed', errorCode: 'PROBE_BUSY', afterWrite: false });
    const recorded = await readRecords(path.join(dir, 'b.jsonl'));
    expect(recorded).toEqual([expect.objectContaining({ type: 'result', errorCode: 'PROBE_BUSY', wroteDevice: false })]);

    const recover = await runCliProcess(['recover', '--snr', String(A), ...fake.args], { env, cwd: dir });
    expect(recover.code).toBe(EXIT.ENVIRONMENT);
    expect(recover.stderr).toContain(`in use by process ${first.pid}`);
    first.kill('SIGTERM');
    await firstDone;
  });

  it('exit 4 when a write fails after the first irreversible write, 0 for the others', async () => {
    const fake = configure({ failures: [{ code: -20, function: 'NRFJPROG_write_inst', call: 2, count: 0, serialNumber: B }] });
    const records = path.join(dir, 'records.jsonl');
    const run = await runCliProcess(['station', '--all', '--json', '--records', records, ...fake.args], { env, cwd: dir });
    expect(run.code).toBe(EXIT.FAILED_AFTER_WRITE);
    const lines = jsonLines(run.stdout);
    expect(lines.find((l) => l.type === 'device' && l.probe === B)).toMatchObject({ outcome: 'failed', afterWrite: true });
    expect(lines.filter((l) => l.type === 'device' && l.probe !== B).map((l) => l.outcome)).toEqual(['provisioned', 'provisioned']);
    expect(lines[lines.length - 1]).toMatchObject({ ok: false, counts: { passed: 2, failed: 1 } });
    const forB = (await readRecords(records)).filter((r) => r.probeSerial === B);
    expect(forB.map((r) => r.type)).toEqual(['intent', 'result']);
    expect(forB[1]).toMatchObject({ outcome: 'failed', wroteDevice: true });
    expect(run.stderr).toMatch(/failed, some after writing/);
  });

  it('the vendor library does not implement a call (NOT_IMPLEMENTED) before any write: exit 5 (environment), not 1; a re-run would not help (recovery none: another library is the fix)', async () => {
    const fake = configure({ failures: [{ code: -255, function: 'NRFJPROG_read_u32_inst', call: 1, count: 0, serialNumber: A }] });
    const run = await runCliProcess(['provision', '--snr', String(A), '--json', '--records', path.join(dir, 'r.jsonl'), ...fake.args], { env, cwd: dir });
    expect(run.code).toBe(EXIT.ENVIRONMENT);
    expect(jsonLines(run.stdout).pop()).toMatchObject({ type: 'result', ok: false, outcome: 'failed', errorCode: 'NOT_IMPLEMENTED', afterWrite: false, writes: 0, recovery: 'none' });
    expect(run.stderr).not.toMatch(/\n\s+at /u);
  });

  it('recover: network core first on nRF5340, and an open APPROTECT written by the recover is set back to Protected', async () => {
    const fake = configure({ trace: true });
    const run = await runCliProcess(['recover', '--snr', String(A), '--json', ...fake.args], { env, cwd: dir });
    expect(run.code).toBe(EXIT.OK);
    const result = jsonLines(run.stdout).pop()!;
    expect(result).toMatchObject({ command: 'recover', ok: true, chip: 'nrf5340', erased: ['network', 'application'], warnings: [] });
    expect(result.protection).toEqual([
      expect.objectContaining({ core: 'application', state: 'protected', approtect: 0, openedByRecover: true, closedByTool: true }),
      expect.objectContaining({ core: 'network', state: 'protected', approtect: 0, openedByRecover: true, closedByTool: true }),
    ]);
    const calls = fake.trace().filter((line) => /select_coprocessor|recover_inst/.test(line));
    const firstRecover = calls.findIndex((line) => line.includes('recover_inst'));
    expect(calls[firstRecover - 1]).toMatch(/select_coprocessor_inst 2$/); // CP_NETWORK
    expect(calls[firstRecover + 1]).toMatch(/select_coprocessor_inst 0$/); // CP_APPLICATION
    expect(calls[firstRecover + 2]).toMatch(/recover_inst/);

    const kept = configure();
    const open = await runCliProcess(['recover', '--snr', String(A), '--leave-open', '--json', ...kept.args], { env, cwd: dir });
    const openResult = jsonLines(open.stdout);
    expect(openResult.filter((l) => l.type === 'warning').map((l) => l.code)).toEqual(['APPROTECT_LEFT_OPEN', 'APPROTECT_LEFT_OPEN']);
    expect(openResult.pop()!.protection).toEqual([expect.objectContaining({ state: 'open', approtect: 0x50fa50fa }), expect.objectContaining({ state: 'open' })]);

    const plain = configure({ recoverWritesApprotect: false });
    const erased = await runCliProcess(['recover', '--snr', String(C), '--json', ...plain.args], { env, cwd: dir });
    expect(jsonLines(erased.stdout).pop()).toMatchObject({ chip: 'nrf9161', erased: ['application'], protection: [expect.objectContaining({ state: 'lockedAtReset', approtect: 0xffffffff, closedByTool: false })] });
    const nrf91Network = await runCliProcess(['recover', '--snr', String(B), '--core', 'network', ...plain.args], { env, cwd: dir });
    expect(nrf91Network.code).toBe(EXIT.USAGE);
  });
});

describe('typed confirmation on a probe the addon takes for real', () => {
  function configureReal(options: FakeNrfjprogOptions = {}): { args: string[]; trace: () => string[] } {
    const fake = fakeNrfjprog({ probes: [{ serialNumber: A }], trace: true, ...options });
    env = { ...process.env, FAKE_NRFJPROG_CONFIG: fake.configPath, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks'), ...ownStationKeyEnv(dir) };
    return {
      args: ['--backend', 'nrfjprog', '--library', unmarkedFakeLibrary()],
      trace: () => fake.readTrace().map((t) => `${t.function} ${t.args.join(' ')}`),
    };
  }
  const writes = (trace: string[]): string[] => trace.filter((line) => /write|recover|erase/.test(line));

  it('without a terminal and without --yes: CONFIRMATION_REQUIRED (3), nothing written, no records', async () => {
    const real = configureReal();
    const records = path.join(dir, 'records.jsonl');
    const station = await runCliProcess(['station', '--snr', String(A), '--allow-model-wrapper', '--json', '--records', records, ...real.args], { env, cwd: dir });
    expect(station.code).toBe(EXIT.REFUSED);
    expect(station.stderr).toContain('CONFIRMATION_REQUIRED');
    expect(station.stderr).toContain('--yes');
    expect(jsonLines(station.stdout)).toEqual([expect.objectContaining({ type: 'result', ok: false, errorCode: 'CONFIRMATION_REQUIRED' })]);
    await expect(fsp.stat(records)).rejects.toMatchObject({ code: 'ENOENT' });

    const recover = await runCliProcess(['recover', '--snr', String(A), ...real.args], { env, cwd: dir });
    expect(recover.code).toBe(EXIT.REFUSED);
    expect(recover.stderr).toContain('CONFIRMATION_REQUIRED');
    expect(writes(real.trace())).toEqual([]);
  });

  it('--yes skips the question; a real probe still refuses seeded keys', async () => {
    const real = configureReal();
    const run = await runCliProcess(['station', '--snr', String(A), '--yes', '--allow-model-wrapper', '--records', path.join(dir, 'r.jsonl'), ...real.args], { env, cwd: dir });
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toMatch(/passed\s+1/);
    const seeded = await runCliProcess(['station', '--snr', String(A), '--yes', '--seed', 'x', ...real.args], { env, cwd: dir });
    expect(seeded.code).toBe(EXIT.REFUSED);
    expect(seeded.stderr).toContain('SEEDED_RANDOM_REFUSED');
  });

  it('on a terminal: asks for the last 6 digits of the serial; the right answer proceeds, a wrong one refuses with nothing written', async () => {
    const wrong = configureReal();
    const no = captureIo({ isTTY: true, env, cwd: dir });
    no.stdin.write('654321\n');
    expect(await runCli(['recover', '--snr', String(A), ...wrong.args], no.io)).toBe(EXIT.REFUSED);
    expect(no.stderr()).toContain(`probe ${A}`);
    expect(no.stderr()).toContain('Type the last 6 digits of the probe serial');
    expect(no.stderr()).toContain('CONFIRMATION_MISMATCH');
    expect(writes(wrong.trace())).toEqual([]);

    const right = configureReal();
    const yes = captureIo({ isTTY: true, env, cwd: dir });
    yes.stdin.write('123456\n');
    expect(await runCli(['recover', '--snr', String(A), '--json', ...right.args], yes.io)).toBe(EXIT.OK);
    expect(writes(right.trace()).some((line) => line.startsWith('NRFJPROG_recover_inst'))).toBe(true);
    expect(jsonLines(yes.stdout()).pop()).toMatchObject({ ok: true, erased: ['network', 'application'] });

    const stationTty = configureReal();
    const station = captureIo({ isTTY: true, env, cwd: dir });
    station.stdin.write('123456\n');
    expect(await runCli(['station', '--snr', String(A), '--allow-model-wrapper', '--json', '--records', path.join(dir, 's.jsonl'), ...stationTty.args], station.io)).toBe(EXIT.OK);
    expect(station.stderr()).toContain('Type the last 6 digits');
  });

  it('provision on a terminal names the chip as people know it (nRF5340) and still asks for the serial digits', async () => {
    const wrong = configureReal();
    const no = captureIo({ isTTY: true, env, cwd: dir });
    no.stdin.write('nRF5340\n');
    const noArgs = ['provision', '--snr', String(A), '--allow-model-wrapper', '--records', path.join(dir, 'p.jsonl'), ...wrong.args];
    expect(await runCli(noArgs, no.io)).toBe(EXIT.REFUSED);
    expect(no.stderr()).toMatch(/About to provision nRF5340 [0-9a-f]{16} \(lifecycle, keys, network-core debug lock/u);
    expect(no.stderr()).not.toMatch(/provision nrf5340/u);
    expect(no.stderr()).toContain('CONFIRMATION_MISMATCH');
    // The preflight's register writes (KMU selection, FORCEOFF) happen; no non-volatile one does.
    expect(no.stdout()).toContain('(0 non-volatile writes)');
    expect(writes(wrong.trace()).filter((line) => !/^NRFJPROG_write_u32_inst 0x5(0039500|0005614) /u.test(line))).toEqual([]);

    const right = configureReal();
    const yes = captureIo({ isTTY: true, env, cwd: dir });
    yes.stdin.write('123456\n');
    expect(await runCli(['provision', '--snr', String(A), '--allow-model-wrapper', '--json', '--records', path.join(dir, 'q.jsonl'), ...right.args], yes.io)).toBe(EXIT.OK);
    expect(yes.stderr()).toContain('About to provision nRF5340 ');
    expect(jsonLines(yes.stdout()).pop()).toMatchObject({ ok: true, outcome: 'provisioned', chip: 'nrf5340' });
  });

  it('simulated devices need no confirmation, even on a terminal', async () => {
    configure();
    const io = captureIo({ isTTY: true, env, cwd: dir });
    expect(await runCli(['station', '--sim-count', '1', '--json', '--records', path.join(dir, 'r.jsonl')], io.io)).toBe(EXIT.OK);
    expect(io.stderr()).not.toContain('Type the');
    const fakeIo = captureIo({ isTTY: true, env, cwd: dir });
    const fake = configure();
    expect(await runCli(['recover', '--snr', String(A), '--json', ...fake.args], fakeIo.io)).toBe(EXIT.OK);
    expect(fakeIo.stderr()).not.toContain('Type the');
  });
});
