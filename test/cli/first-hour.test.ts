/**
 * Issue 15's command-line findings, each pinned: one way to say "simulated" (--sim FILE on every
 * device command, a missing state file refused), inputs checked before the probe opens, JSON Lines
 * on every path asked for with --json (global too, a schema version on every line, an errorCode on
 * every failure), --serial-number, one chip spelling in human output, station --no-records and
 * fresh device IDs per demo.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/cli/program';
import { JSON_SCHEMA_VERSION } from '../../lib/cli/output';
import { EXIT } from '../../lib/exit-codes';
import { SimBinding } from '../../lib/sim';
import { captureIo } from './support/io';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tfm-first-hour-'));
});
afterEach(() => jest.restoreAllMocks());

async function run(...args: string[]) {
  const c = captureIo({ cwd: dir, env: {} });
  const code = await runCli(args, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

function lines(stdout: string): Array<Record<string, any>> {
  // Every stdout line must be JSON: a line that is not makes JSON.parse throw here.
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** The JSON Lines rules: every line typed and versioned, the last a result, a failure with a code. */
function expectStream(stdout: string, ok: boolean): Record<string, any> {
  const all = lines(stdout);
  expect(all.length).toBeGreaterThan(0);
  for (const line of all) {
    expect(typeof line.type).toBe('string');
    expect(line.schema).toBe(JSON_SCHEMA_VERSION);
  }
  const last = all[all.length - 1]!;
  expect(last.type).toBe('result');
  expect(last.ok).toBe(ok);
  if (!ok) {
    expect(typeof last.errorCode).toBe('string');
    // docs/json.md: a failed result's `error` is { code, message, category, afterWrite, details? }.
    expect(last.error).toEqual({ code: last.errorCode, message: expect.any(String), category: expect.any(String), afterWrite: expect.any(Boolean), ...(last.error?.details !== undefined ? { details: expect.any(Object) } : {}) });
  }
  return last;
}

describe('a missing --sim state file is refused, nothing created', () => {
  test.each([
    ['verify', ['verify', '--sim', 'missing.json']],
    ['inspect', ['inspect', '--sim', 'missing.json']],
    ['recover', ['recover', '--sim', 'missing.json', '--yes']],
    ['list', ['list', '--sim', 'missing.json']],
    ['station', ['station', '--sim', 'missing.json', '--no-records']],
    ['sim show', ['sim', 'show', 'missing.json']],
    ['sim boot', ['sim', 'boot', 'missing.json']],
  ])('%s on missing.json: SIM_STATE_NOT_FOUND, exit 2, no file', async (_name, args) => {
    const r = await run(...args);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('error SIM_STATE_NOT_FOUND');
    expect(existsSync(path.join(dir, 'missing.json'))).toBe(false);
  });

  test('provision --sim FILE starts a new state file (its input is a fresh device); verify then reads it', async () => {
    expect((await run('provision', '--sim', 'new.json', '--no-records')).code).toBe(EXIT.OK);
    expect(existsSync(path.join(dir, 'new.json'))).toBe(true);
    expect((await run('verify', '--sim', 'new.json')).code).toBe(EXIT.OK);
  });
});

test('recover, list and station take --sim FILE and work on the device in it', async () => {
  expect((await run('sim', 'create', 'd.json', '--chip', 'nrf9160')).code).toBe(EXIT.OK);
  const station = await run('station', '--sim', 'd.json', '--no-records', '--json');
  expect(station.code).toBe(EXIT.OK);
  expect(expectStream(station.stdout, true).counts.passed).toBe(1);
  const listed = await run('list', '--sim', 'd.json', '--json');
  const probe = lines(listed.stdout).find((l) => l.type === 'probe')!;
  const shown = lines((await run('sim', 'show', 'd.json', '--json')).stdout)[0]!;
  expect(probe.device.deviceId).toBe(shown.deviceId);
  expect(shown.lifecycle).toBe('PROVISIONING');
  const recovered = await run('recover', '--sim', 'd.json', '--yes');
  expect(recovered.code).toBe(EXIT.OK);
  expect(lines((await run('sim', 'show', 'd.json', '--json')).stdout)[0]!.lifecycle).toBe('ASSEMBLY');
});

test('provision --sim --strategy image --image missing.hex fails before the probe is opened: 0 operations', async () => {
  const opens = jest.spyOn(SimBinding.prototype, 'open');
  const r = await run('provision', '--sim', '--strategy', 'image', '--image', 'missing.hex', '--json', '--no-records');
  expect(r.code).toBe(EXIT.USAGE);
  const result = expectStream(r.stdout, false);
  expect(result.errorCode).toBe('IMAGE_INVALID');
  expect(result.operations).toBe(0);
  expect(opens).not.toHaveBeenCalled();
});

describe('JSON Lines on every path --json is accepted', () => {
  test.each([
    ['an unknown option', ['provision', '--sim', '--json', '--bogus'], 'USAGE'],
    ['a missing record file', ['records', 'verify', 'missing.jsonl', '--json'], 'FILE_ERROR'],
    ['a missing state file', ['sim', 'show', 'missing.json', '--json'], 'SIM_STATE_NOT_FOUND'],
    ['an unknown command', ['--json', 'provison'], 'USAGE'],
    ['--json on a command without JSON output', ['--json', 'records', 'export', 'x.jsonl'], 'USAGE'],
    ['a nonce of the wrong size', ['attest', 'verify', 't.cbor', '--records', 'r.jsonl', '--nonce', 'abcd', '--json'], 'INVALID_PARAMETER'],
    ['doctor without a usable library', ['doctor', '--nrfjprog-library', 'no/libnrfjprogdll.so', '--jlink-library', 'no/libjlinkarm.so', '--json'], 'VENDOR_LIBRARY_NOT_FOUND'],
  ])('%s: one result line with its errorCode', async (_name, args, code) => {
    const r = await run(...args);
    expect(r.code).not.toBe(EXIT.OK);
    expect(expectStream(r.stdout, false).errorCode).toBe(code);
  });

  test('a token that fails a check: the result line has the check\'s code and the error', async () => {
    expect((await run('provision', '--sim', '--records', 'r.jsonl')).code).toBe(EXIT.OK);
    require('node:fs').writeFileSync(path.join(dir, 't.cbor'), '');
    const r = await run('attest', 'verify', 't.cbor', '--records', 'r.jsonl', '--json');
    expect(r.code).toBe(EXIT.REFUSED);
    expect(expectStream(r.stdout, false)).toMatchObject({ errorCode: 'ATTEST_MALFORMED', error: { code: 'ATTEST_MALFORMED', category: 'refused' } });
  });

  test('a station with a refused device: the result line carries the error', async () => {
    expect((await run('sim', 'create', 'locked.json', '--chip', 'nrf5340', '--state', 'protected')).code).toBe(EXIT.OK);
    const r = await run('station', '--sim', 'locked.json', '--no-records', '--json');
    expect(r.code).toBe(EXIT.REFUSED);
    expect(expectStream(r.stdout, false)).toMatchObject({ errorCode: 'DEVICE_PROTECTED', error: { code: 'DEVICE_PROTECTED', category: 'refused', afterWrite: false } });
  });

  test.each([
    [['registry', 'export', '--csv', '--json', '--registry', 'postgresql://u@127.0.0.1:1/db'], 'registry export'],
    [['--json', 'registry', 'lot', 'create', 'L1', '--quota', '3'], 'registry lot create'],
    [['records', 'verify', '--json'], 'records verify'],
    [['--json', 'provison'], 'provison'],
  ])('a failure before the command writes its result names the command as typed: %j', async (args, command) => {
    const r = await run(...args);
    expect(r.code).toBe(EXIT.USAGE);
    expect(expectStream(r.stdout, false)).toMatchObject({ command, errorCode: 'USAGE' });
  });

  test('the global --json before the command is the command\'s --json', async () => {
    const before = await run('--json', 'list', '--sim-count', '2');
    const after = await run('list', '--sim-count', '2', '--json');
    for (const r of [before, after]) {
      expect(r.code).toBe(EXIT.OK);
      expectStream(r.stdout, true);
      expect(lines(r.stdout).filter((l) => l.type === 'probe')).toHaveLength(2);
    }
  });

  test('a broken chain\'s result has ok false and errorCode RECORDS_CHAIN_BROKEN', async () => {
    expect((await run('provision', '--sim', '--records', 'r.jsonl')).code).toBe(EXIT.OK);
    const file = path.join(dir, 'r.jsonl');
    const text = readFileSync(file, 'utf8').split('\n');
    text[0] = text[0]!.replace(/"probeSerial":\d+/u, '"probeSerial":1');
    require('node:fs').writeFileSync(file, text.join('\n'));
    const r = await run('records', 'verify', 'r.jsonl', '--json');
    expect(r.code).not.toBe(EXIT.OK);
    expect(expectStream(r.stdout, false).errorCode).toBe('RECORDS_CHAIN_BROKEN');
  });

  test('sim create, show, boot and dump lines are typed results; lifecycle in the library\'s spelling', async () => {
    const created = expectStream((await run('sim', 'create', 'p.json', '--chip', 'nrf5340', '--state', 'provisioned', '--json')).stdout, true);
    expect(created.lifecycle).toBe('PROVISIONING');
    expect(expectStream((await run('sim', 'show', 'p.json', '--json')).stdout, true).lifecycle).toBe('PROVISIONING');
    expect(expectStream((await run('sim', 'boot', 'p.json', '--json')).stdout, true).lifecycle).toBe('SECURED');
    expectStream((await run('sim', 'dump', 'p.json', '--out', 'p.hex', '--json')).stdout, true);
    const refused = await run('sim', 'boot', 'p.json', '--json');
    expect(refused.code).toBe(EXIT.OK); // SECURED boots again
    const fresh = await run('sim', 'create', 'a.json', '--chip', 'nrf5340');
    expect(fresh.code).toBe(EXIT.OK);
    const failed = await run('sim', 'boot', 'a.json', '--json');
    expect(failed.code).not.toBe(EXIT.OK);
    expect(expectStream(failed.stdout, false).errorCode).toBe('TFM_LIFECYCLE_REFUSED');
  });

  test('provision and verify streams: every event line carries type and schema', async () => {
    const r = await run('provision', '--sim', 'v.json', '--json', '--no-records');
    expect(r.code).toBe(EXIT.OK);
    expect(lines(r.stdout).length).toBeGreaterThan(5);
    expect(expectStream(r.stdout, true).lifecycle).toBe('PROVISIONING');
    expectStream((await run('verify', '--sim', 'v.json', '--json')).stdout, true);
  });
});

test('--serial-number is --snr; both naming different probes is a usage error', async () => {
  const both = await run('verify', '--serial-number', '5', '--snr', '6');
  expect(both.code).toBe(EXIT.USAGE);
  expect(both.stderr).toContain('--serial-number 5');
  // With the simulator as well, the alias is a probe selection like --snr: the two conflict.
  const withSim = await run('inspect', '--sim', '--serial-number', '5');
  expect(withSim.code).toBe(EXIT.USAGE);
  expect(withSim.stderr).toContain('PROBE_SELECTION_REQUIRED');
});

test('human output names chips as the targets do (nRF9160), in verify, list and recover', async () => {
  await run('sim', 'create', 'n.json', '--chip', 'nrf9160');
  expect((await run('provision', '--sim', 'n.json', '--no-records')).code).toBe(EXIT.OK);
  const outputs = [await run('verify', '--sim', 'n.json'), await run('list', '--sim', 'n.json'), await run('recover', '--sim', 'n.json', '--yes')];
  for (const r of outputs) {
    expect(r.stdout).toContain('nRF9160');
    expect(r.stdout).not.toMatch(/nrf9160/u);
  }
});

describe('station --sim-count demos', () => {
  const ids = async (...extra: string[]) =>
    lines((await run('station', '--sim-count', '2', '--no-records', '--json', ...extra)).stdout)
      .filter((l) => l.type === 'device')
      .map((l) => l.deviceId as string)
      .sort();

  test('two runs are two batches of devices: fresh device IDs each time', async () => {
    const first = await ids();
    const second = await ids();
    expect(first).toHaveLength(2);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
  });

  test('--seed repeats the device IDs', async () => {
    expect(await ids('--seed', 's')).toEqual(await ids('--seed', 's'));
  });

  test('--no-records writes no record file', async () => {
    const r = await run('station', '--sim-count', '1', '--no-records');
    expect(r.code).toBe(EXIT.OK);
    expect(readdirSync(dir).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
  });
});
