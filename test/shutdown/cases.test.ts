/**
 * Issue 14's run-time cases, each as the operator's rig met it: a closed stdout pipe (`| head`),
 * SIGTERM and SIGHUP, locks (a second process on one probe or one state file), a state file that
 * cannot be saved, strict parsing and true exit codes, and the advice after a failed write.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { confirmIrreversible } from '../../lib/cli/confirm';
import { parseImplementationId } from '../../lib/cli/options';
import { runCli } from '../../lib/cli/program';
import { parseSerialNumber } from '../../lib/cli/session';
import { Shutdown } from '../../lib/cli/shutdown';
import { TfmError } from '../../lib/errors';
import { EXIT, exitCodeFor } from '../../lib/exit-codes';
import { decide, preflight, provision, type ProvisionResultFields } from '../../lib/provision';
import { readRecords } from '../../lib/records';
import { seededRandom } from '../../lib/random';
import { SimBinding, SimulatedDevice } from '../../lib/sim';
import { acquireProbeLock, acquireStateFileLock } from '../../lib/station/probe-lock';
import { collect, ensureBuilt, jsonLines, runCliProcess, spawnCli } from '../cli/support/cli';
import { captureIo } from '../cli/support/io';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => ensureBuilt());
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tfm-shutdown-'));
  env = { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function dumpOf(file: string): { lifecycle: string; kmu: number; implementationId: string } {
  const d = SimulatedDevice.load(file).dump();
  return { lifecycle: d.lifecycle, kmu: d.kmuSlots.length, implementationId: d.implementationId };
}
const untouched = (d: { lifecycle: string; kmu: number; implementationId: string }): boolean => d.lifecycle === 'ASSEMBLY' && d.kmu === 0 && /^(ff)+$/u.test(d.implementationId);

async function orphanIntents(file: string): Promise<number> {
  const all = await readRecords(file);
  const results = new Set(all.filter((r) => r.type === 'result').map((r) => (r as { attempt?: string }).attempt));
  return all.filter((r) => r.type === 'intent' && !results.has((r as { attempt?: string }).attempt)).length;
}

describe('a closed stdout pipe (`| head -N`)', () => {
  it.each([1, 3, 13])('provision --json | head -%i: no stack trace, the device untouched or complete, a result for its intent', async (lines) => {
    const state = path.join(dir, 'dev.json');
    const records = path.join(dir, 'records.jsonl');
    const child = spawnCli(['provision', '--sim', state, '--records', records, '--json'], { env, cwd: dir });
    child.stdin?.end();
    let seen = 0;
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString().split('\n').length - 1;
      if (seen >= lines) child.stdout?.destroy();
    });
    const run = await collect(child);
    expect(run.signal).toBeNull();
    expect(run.stderr).not.toMatch(/internal error|EPIPE|\n\s+at /u);
    const d = dumpOf(state);
    const complete = d.lifecycle === 'PROVISIONING';
    expect(untouched(d) || complete).toBe(true);
    // The outcome stands: 0 when it finished; 141 (128 + SIGPIPE) when it stopped before writing.
    expect(run.code).toBe(complete ? 0 : 141);
    expect(await orphanIntents(records)).toBe(0);
  });

  it('station --sim-count 4 --json | head -45: no device left partly provisioned, a result for every intent', async () => {
    const states = path.join(dir, 'sd');
    const records = path.join(dir, 'records.jsonl');
    const child = spawnCli(['station', '--sim-count', '4', '--sim-latency', '3', '--sim-state-dir', states, '--records', records, '--json'], { env, cwd: dir });
    child.stdin?.end();
    let seen = 0;
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString().split('\n').length - 1;
      if (seen >= 45) child.stdout?.destroy();
    });
    const run = await collect(child);
    expect(run.signal).toBeNull();
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /u);
    const devices = ['100000001', '100000002', '100000003', '100000004'].map((s) => dumpOf(path.join(states, `${s}.json`)));
    expect(devices.filter((d) => !untouched(d) && d.lifecycle !== 'PROVISIONING')).toEqual([]);
    expect(await orphanIntents(records)).toBe(0);
    expect([0, 141]).toContain(run.code);
  });

  it('station --sim-count 4 --json | head -1: exit 141, and the message does not say an operator stopped it', async () => {
    const states = path.join(dir, 'sd');
    const child = spawnCli(['station', '--sim-count', '4', '--sim-latency', '20', '--sim-state-dir', states, '--no-records', '--json'], { env, cwd: dir });
    child.stdin?.end();
    child.stdout?.once('data', () => child.stdout?.destroy());
    const run = await collect(child);
    expect(run.signal).toBeNull();
    if (run.code === 141) {
      expect(run.stderr).toMatch(/error INTERRUPTED: Stopped \(a signal, or the output was closed\) before every device was started; \d devices? left untouched/u);
    } else {
      expect(run.code).toBe(0); // every device had started before the pipe closed (a slow machine)
    }
    expect(run.stderr).not.toMatch(/by the operator/u);
  });
});

describe('SIGTERM and SIGHUP in the middle of the KMU slot writes', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s: the writes in flight finish, the result is recorded, exit %i', async (signal, code) => {
    const state = path.join(dir, 'dev.json');
    const records = path.join(dir, 'records.jsonl');
    // Operation 60 of 113 is among the MKEK/MEXT slot writes of a clean nRF5340 run.
    const run = await runCliProcess(['provision', '--sim', state, '--records', records, '--json'], { env: { ...env, TFM_PROVISION_SIM_STOP_AT: `60:${signal}` }, cwd: dir });
    expect(run.signal).toBeNull();
    expect(run.code).toBe(code);
    expect(dumpOf(state).lifecycle).toBe('PROVISIONING');
    const result = jsonLines(run.stdout).find((l) => l.type === 'result');
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned' });
    expect(jsonLines(run.stdout).some((l) => l.type === 'warning' && l.code === 'ABORT_AFTER_FIRST_WRITE')).toBe(true);
    expect(await orphanIntents(records)).toBe(0);
    expect((await readRecords(records)).filter((r) => r.type === 'result')).toHaveLength(1);
  });

  it('a stop before the first write leaves the device untouched and exits 143', async () => {
    const state = path.join(dir, 'dev.json');
    const run = await runCliProcess(['provision', '--sim', state, '--no-records'], { env: { ...env, TFM_PROVISION_SIM_STOP_AT: '2:SIGTERM' }, cwd: dir });
    expect(run.code).toBe(143);
    expect(untouched(dumpOf(state))).toBe(true);
    expect(run.stderr).toContain('INTERRUPTED');
  });
});

describe('locks: taken before the probe is opened, by every device command', () => {
  it.each(['inspect', 'verify', 'provision'])('%s --snr: PROBE_BUSY while another process holds the probe, before the library is even loaded', async (command) => {
    const lock = await acquireProbeLock(123456789, { backend: 'jlink', purpose: 'test', env });
    try {
      const run = await runCliProcess([command, '--snr', '123456789', '--backend', 'nrfjprog', '--library', path.join(dir, 'no-such-library.so'), ...(command === 'provision' ? ['--yes'] : [])], { env, cwd: dir });
      expect(run.stderr).toContain('PROBE_BUSY');
      expect(run.code).toBe(EXIT.ENVIRONMENT);
    } finally {
      await lock.release();
    }
  });

  it.each(['provision', 'inspect', 'verify'])('%s --sim FILE: SIM_STATE_BUSY while another process has the state file, which is left unchanged', async (command) => {
    const state = path.join(dir, 'dev.json');
    expect(await runCli(['sim', 'create', state, '--chip', 'nrf5340'], captureIo({ cwd: dir, env }).io)).toBe(0);
    const before = readFileSync(state, 'utf8');
    // Through a symlink: the lock follows the file, not its name.
    const link = path.join(dir, 'link.json');
    require('node:fs').symlinkSync(state, link);
    const lock = await acquireStateFileLock(state, { purpose: 'test', env });
    try {
      const run = await runCliProcess([command, '--sim', link, '--no-records'].filter((a) => command === 'provision' || a !== '--no-records'), { env, cwd: dir });
      expect(run.stderr).toContain('SIM_STATE_BUSY');
      expect(run.code).toBe(EXIT.ENVIRONMENT);
      expect(readFileSync(state, 'utf8')).toBe(before);
    } finally {
      await lock.release();
    }
  });

  it('two provision runs on one state file, 10 trials: never two "provisioned" results, never two identity keys for one device', async () => {
    for (let trial = 0; trial < 10; trial++) {
      const state = path.join(dir, `dev${trial}.json`);
      const records = path.join(dir, `records${trial}.jsonl`);
      const runs = await Promise.all([0, 1].map(() => runCliProcess(['provision', '--sim', state, '--records', records, '--json'], { env, cwd: dir })));
      const results = runs.map((r) => jsonLines(r.stdout).find((l) => l.type === 'result')!);
      const outcomes = results.map((r) => (r.outcome === 'provisioned' ? 'provisioned' : r.outcome === 'alreadyProvisioned' ? 'already' : String(r.errorCode)));
      expect(outcomes.filter((o) => o === 'provisioned')).toHaveLength(1);
      for (const o of outcomes) expect(['provisioned', 'already', 'SIM_STATE_BUSY']).toContain(o);
      const verified = (await readRecords(records)).filter((r) => r.type === 'result' && (r as { outcome?: string }).outcome === 'provisioned');
      expect(verified).toHaveLength(1);
    }
  }, 180_000);
});

describe('a state file that cannot be saved', () => {
  it('its directory is not a directory: FILE_ERROR before the device is touched, no "Success!", no provisioned record', async () => {
    writeFileSync(path.join(dir, 'notadir'), 'x');
    const records = path.join(dir, 'records.jsonl');
    const run = await runCliProcess(['provision', '--sim', path.join(dir, 'notadir', 'dev.json'), '--records', records], { env, cwd: dir });
    expect(run.stdout).not.toContain('Success!');
    expect(run.stderr).toContain('FILE_ERROR');
    expect(run.code).toBe(EXIT.ENVIRONMENT);
    const all = existsSync(records) ? await readRecords(records) : [];
    expect(all.filter((r) => r.type === 'intent')).toEqual([]);
  });

  it('the simulator never saves a state file it would refuse to load (a clock at MAX_SAFE_INTEGER)', async () => {
    const state = path.join(dir, 'dev.json');
    const device = SimulatedDevice.create({ chip: 'nrf5340' });
    device.advanceTo(Number.MAX_SAFE_INTEGER - 5);
    device.save(state);
    expect(() => SimulatedDevice.load(state)).not.toThrow();
    const run = await runCliProcess(['provision', '--sim', state, '--no-records'], { env, cwd: dir });
    expect(() => SimulatedDevice.load(state)).not.toThrow();
    expect(run.code).not.toBe(EXIT.OK);
    expect(run.stdout).not.toContain('Provisioned and verified');
  });
});

describe('strict parsing and true exit codes', () => {
  it.each(['0x3e8', '1e3', '0b1111101000', '1000.0', '+1000', '0o1750', ' ', '-5', '0'])('--snr %p is refused (decimal only)', (text) => {
    expect(() => parseSerialNumber(text)).toThrow(TfmError);
  });
  it('--snr 1000 is 1000', () => expect(parseSerialNumber('1000')).toBe(1000));

  it('an implementation ID with an all-ones word (reads as erased OTP) is refused by the CLI and by the library', async () => {
    expect(() => parseImplementationId('ff'.repeat(32))).toThrow(/0xFFFFFFFF/u);
    expect(() => parseImplementationId(`${'aa'.repeat(28)}ffffffff`)).toThrow(/word 7/u);
    const binding = new SimBinding();
    binding.attach(1, SimulatedDevice.create({ chip: 'nrf5340' }));
    const session = await binding.open(1);
    const result: ProvisionResultFields = await provision(session, { implementationId: new Uint8Array(32).fill(0xff), random: seededRandom('x') });
    expect(result).toMatchObject({ ok: false, outcome: 'refused', errorCode: 'INVALID_PARAMETER', writes: 0 });
  });

  it('Ctrl-C at the typed confirmation prompt: INTERRUPTED (exit 130), nothing asked again', async () => {
    const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
    stdin.isTTY = true;
    const stderr = new PassThrough();
    const controller = new AbortController();
    const asked = confirmIrreversible({ stdin, stderr }, { action: 'provision', serialNumbers: [1050012345], yes: false, simulated: false, signal: controller.signal });
    controller.abort();
    const error = await asked.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TfmError);
    expect((error as TfmError).code).toBe('INTERRUPTED');
    expect(exitCodeFor(error)).toBe(EXIT.INTERRUPTED);
    const shutdown = new Shutdown();
    shutdown.stop('SIGINT');
    expect(shutdown.exitCode(exitCodeFor(error))).toBe(130);
  });

  it('the vendor library lacks a function (NOT_IMPLEMENTED) before any write: exit 5, not 1', () => {
    expect(exitCodeFor(new TfmError('NOT_IMPLEMENTED', 'x'))).toBe(EXIT.ENVIRONMENT);
    expect(exitCodeFor(new TfmError('NOT_IMPLEMENTED', 'x', { afterWrite: true }))).toBe(EXIT.FAILED_AFTER_WRITE);
  });

  it('verify of a blank device exits 3 ("not verified"), not 4: it writes nothing', async () => {
    const blank = path.join(dir, 'blank.json');
    expect(await runCli(['sim', 'create', blank, '--chip', 'nrf5340'], captureIo({ cwd: dir, env }).io)).toBe(0);
    expect(await runCli(['verify', '--sim', blank], captureIo({ cwd: dir, env }).io)).toBe(EXIT.REFUSED);
  });

  it('station --sim-state-dir /dev/null: FILE_ERROR (exit 5), not INTERNAL_ERROR', async () => {
    const c = captureIo({ cwd: dir, env });
    expect(await runCli(['station', '--sim-count', '2', '--sim-state-dir', '/dev/null', '--records', path.join(dir, 'r.jsonl')], c.io)).toBe(EXIT.ENVIRONMENT);
    expect(c.stderr()).toContain('FILE_ERROR');
  });
});

describe('a failure after writing says what to do', () => {
  it('a one-shot probe error among the slot writes: recovery read from the device, present/missing read back, a message naming tfm-provision recover', async () => {
    const binding = new SimBinding();
    binding.attach(1, SimulatedDevice.create({ chip: 'nrf5340' }));
    const session = await binding.open(1);
    binding.injectFault(1, { atOperation: 50, kind: 'error', code: 'PROBE_TRANSFER_ERROR' });
    const result: ProvisionResultFields = await provision(session, { random: seededRandom('x') });
    expect(result).toMatchObject({ ok: false, outcome: 'failed', afterWrite: true, componentsFrom: 'device' });
    // The preflight saw nothing present; the read-back sees the lifecycle at least.
    expect(result.present).toContain('lifecycle');
    const now = decide(await preflight(session, {}));
    expect(result.present).toEqual(now.present);
    expect(result.missing).toEqual(now.missing);
    expect(result.recovery).toBe(now.finishOnly === true || now.action === 'alreadyProvisioned' ? 'rerun' : 'recover-then-rerun');
    if (result.recovery === 'recover-then-rerun') expect(result.error?.message).toContain('tfm-provision recover');
    expect(result.error?.message).not.toContain('nrfjprog --recover');
  });

  it('a disconnect: the device cannot be read back, so recover then re-run, and present/missing are not the preflight\'s', async () => {
    const binding = new SimBinding();
    binding.attach(1, SimulatedDevice.create({ chip: 'nrf5340' }));
    const session = await binding.open(1);
    binding.injectFault(1, { atOperation: 50, kind: 'disconnect' });
    const result: ProvisionResultFields = await provision(session, { random: seededRandom('x') });
    expect(result).toMatchObject({ ok: false, outcome: 'failed', afterWrite: true, componentsFrom: 'unreadable', recovery: 'recover-then-rerun' });
    expect(result.present).toBeUndefined();
    expect(result.missing).toBeUndefined();
    expect(result.error?.message).toContain('tfm-provision recover');
  });

  it('PARTIALLY_PROVISIONED names tfm-provision recover, not the archived nrfjprog --recover, and says recover-then-rerun', async () => {
    const binding = new SimBinding();
    binding.attach(1, SimulatedDevice.create({ chip: 'nrf5340' }));
    const first = await binding.open(1);
    binding.injectFault(1, { atOperation: 50, kind: 'disconnect' });
    await provision(first, { random: seededRandom('x') });
    await first.close().catch(() => undefined);
    const again = await binding.open(1);
    const result: ProvisionResultFields = await provision(again, { random: seededRandom('y') });
    if (result.errorCode === 'PARTIALLY_PROVISIONED') {
      expect(result.recovery).toBe('recover-then-rerun');
      expect(result.error?.message).toContain('tfm-provision recover');
      expect(result.error?.message).not.toContain('nrfjprog --recover');
    } else {
      expect(result.ok).toBe(true);
    }
  });
});
