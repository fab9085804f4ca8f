/**
 * The provision / verify / inspect commands as a user runs them: `node dist/cli/main.js ...` in a
 * child process (dist/ is built by `npm run build:ts`; npm test's pretest does it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seededRandom } from '../../lib/random';
import { SimulatedDevice } from '../../lib/sim';
import { SAMPLE_MESSAGES } from '../../lib/provision/events';
import { SecretScanner, describeHits } from '../hygiene/secret-scanner';
import { ownStationKeyEnv } from '../support/own-station-key';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const FIVE_LINES = Object.values(SAMPLE_MESSAGES);
let dir: string;
let keyEnv: NodeJS.ProcessEnv;

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = keyEnv): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks'), ...extraEnv } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function jsonLines(stdout: string): Array<Record<string, any>> {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

beforeAll(() => {
  if (!fs.existsSync(MAIN)) execFileSync('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-provision-cli-'));
  // The checks of stderr below must not depend on which test first created a station key.
  keyEnv = ownStationKeyEnv(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tfm-provision provision', () => {
  it('--sim: prints the sample\'s five lines in order, then a summary, and exits 0', () => {
    const r = cli(['provision', '--sim']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 5)).toEqual(FIVE_LINES);
    expect(r.stdout).toMatch(/Provisioned and verified: nRF5340 [0-9a-f]{16}/);
    expect(r.stdout).toMatch(/lifecycle\s+ASSEMBLY -> PROVISIONING/);
    expect(r.stdout).toMatch(/identity key\s+04[0-9a-f]{128}/);
    expect(r.stdout).toMatch(/instance ID\s+01[0-9a-f]{64}/);
    expect(r.stdout).toMatch(/TF-M boot model: SECURED/);
    expect(r.stderr).toBe('');
  });

  it('the first run without a station key creates one and says so on stderr (only then); stdout is the same', () => {
    const file = path.join(dir, 'first-use', 'station-key.pem');
    const first = cli(['provision', '--sim'], { TFM_PROVISION_STATION_KEY: file });
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/^created the station key .*station-key\.pem \(key ID [0-9a-f]{16}\.\.\.\); records are signed with it\./);
    expect(fs.existsSync(file)).toBe(true);
    expect(first.stdout.split('\n').slice(0, 5)).toEqual(FIVE_LINES);
    const second = cli(['provision', '--sim'], { TFM_PROVISION_STATION_KEY: file });
    expect(second.code).toBe(0);
    expect(second.stderr).toBe('');
  });

  it('--sim FILE --json: JSON Lines only, the last one the result; runs chain through the state file', () => {
    const file = path.join(dir, 'chain.json');
    const r = cli(['provision', '--sim', file, '--chip', 'nrf9161', '--json', '--seed', 'cli-1', '--export-public-key', 'key.pem']);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.every((l) => typeof l.type === 'string')).toBe(true);
    expect(lines.filter((l) => l.type === 'message').map((l) => l.text)).toEqual(FIVE_LINES);
    const result = lines[lines.length - 1];
    expect(lines.filter((l) => l.type === 'result')).toHaveLength(1);
    expect(result).toMatchObject({ type: 'result', ok: true, outcome: 'provisioned', chip: 'nrf9161', lifecycle: 'PROVISIONING', errorCode: null });
    expect(result.deviceId).toMatch(/^[0-9a-f]{16}$/);
    expect(result.identityPublicKey).toMatch(/^04[0-9a-f]{128}$/);
    expect(result.instanceId).toMatch(/^01[0-9a-f]{64}$/);
    expect(fs.readFileSync(path.join(dir, 'key.pem'), 'utf8')).toBe(result.identityPublicKeyPem);

    // The state file carries the device: the next run finds it provisioned and writes nothing.
    const again = cli(['provision', '--sim', file, '--json']);
    expect(again.code).toBe(0);
    const last = jsonLines(again.stdout).pop()!;
    expect(last).toMatchObject({ ok: true, outcome: 'alreadyProvisioned', writes: 0, deviceId: result.deviceId, identityPublicKey: result.identityPublicKey });
    expect(cli(['verify', '--sim', file]).code).toBe(0);
  });

  it('refuses a partly provisioned device with exit 3, leaving the state file\'s device unchanged', () => {
    const file = path.join(dir, 'partial.json');
    expect(cli(['sim', 'create', file, '--chip', 'nrf5340', '--state', 'partial']).code).toBe(0);
    const before = SimulatedDevice.load(file).dump();
    const human = cli(['provision', '--sim', file]);
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/^error PARTIALLY_PROVISIONED: .*erase-all/m);
    expect(human.stdout).toMatch(/Refused: nRF5340 [0-9a-f]{16}\. No non-volatile writes \(register writes only: KMU slot select, FORCEOFF\)\./);
    expect(human.stdout).not.toMatch(/Success!/);
    const json = cli(['provision', '--sim', file, '--json']);
    expect(json.code).toBe(3);
    expect(jsonLines(json.stdout).pop()).toMatchObject({ type: 'result', ok: false, outcome: 'refused', errorCode: 'PARTIALLY_PROVISIONED', afterWrite: false, writes: 0 });
    expect(SimulatedDevice.load(file).dump()).toEqual(before);
    expect(cli(['verify', '--sim', file]).code).toBe(3); // not verified: verify writes nothing (issue 14)
  });

  it('--export-public-key into a missing directory (exit 5) or onto a directory (exit 2) is refused before the device is touched', () => {
    const file = path.join(dir, 'export.json');
    expect(cli(['sim', 'create', file, '--chip', 'nrf5340']).code).toBe(0);
    const before = fs.readFileSync(file, 'utf8');
    const missing = cli(['provision', '--sim', file, '--export-public-key', path.join(dir, 'no', 'such', 'key.pem')]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/^error FILE_ERROR: .*does not exist/m);
    const onDirectory = cli(['provision', '--sim', file, '--json', '--export-public-key', dir]);
    expect(onDirectory.code).toBe(2);
    expect(jsonLines(onDirectory.stdout).pop()).toMatchObject({ type: 'result', ok: false, errorCode: 'USAGE', afterWrite: false });
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    const ok = cli(['provision', '--sim', file, '--export-public-key', 'key.pem']);
    expect(ok.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'key.pem'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('refuses an ERASEPROTECT device (exit 3) unless --allow-erase-protected', () => {
    const file = path.join(dir, 'erase-protected.json');
    expect(cli(['sim', 'create', file, '--chip', 'nrf9160', '--state', 'erase-protected']).code).toBe(0);
    const refused = cli(['provision', '--sim', file]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^error ERASE_PROTECTED: .*--allow-erase-protected/m);
    const allowed = cli(['provision', '--sim', file, '--allow-erase-protected']);
    expect(allowed.code).toBe(0);
    expect(allowed.stderr).toMatch(/warning: UICR.ERASEPROTECT is set/);
  });

  it('--dry-run prints the plan with key placeholders and changes nothing', () => {
    const file = path.join(dir, 'dry.json');
    expect(cli(['sim', 'create', file, '--chip', 'nrf9160']).code).toBe(0);
    const before = SimulatedDevice.load(file).dump();
    const r = cli(['provision', '--sim', file, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Dry run: nRF9160 [0-9a-f]{16}\. No non-volatile writes \(register writes only: KMU slot select\)\./);
    expect(r.stdout).toMatch(/0x00FF8108\s+0xFFFF0000\s+NVMC/);
    expect(r.stdout).toMatch(/<MKEK\[0\.\.15\]>/);
    expect(r.stdout).not.toMatch(/Successfully/);
    expect(SimulatedDevice.load(file).dump()).toEqual(before);
  });

  it('takes an identity key wrapper module', () => {
    const wrapper = path.join(dir, 'wrapper.js');
    fs.writeFileSync(
      wrapper,
      `const { wrapIdentityKeyModel } = require(${JSON.stringify(path.join(ROOT, 'dist', 'keys', 'wrapping-model.js'))});\n` +
        `module.exports = { name: 'site-wrapper', wrap: ({ mkek, deviceId, privateKey }) => wrapIdentityKeyModel(mkek, deviceId, privateKey) };\n`,
    );
    const r = cli(['provision', '--sim', '--json', '--identity-wrapper', 'wrapper.js']);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).pop()).toMatchObject({ ok: true, identityWrapper: 'site-wrapper' });
    const bad = cli(['provision', '--sim', '--identity-wrapper', 'missing.js']);
    expect(bad.code).toBe(2);
  });

  it('prints no key bytes, in either mode', () => {
    const seed = 'cli-hygiene';
    const random = seededRandom(seed);
    const huks = random.fill(new Uint8Array(64));
    const d = random.fill(new Uint8Array(32));
    const scanner = new SecretScanner([
      { label: 'MKEK', bytes: huks.subarray(0, 32) },
      { label: 'MEXT', bytes: huks.subarray(32) },
      { label: 'identity key', bytes: d },
    ]);
    for (const args of [['provision', '--sim', '--seed', seed], ['provision', '--sim', '--seed', seed, '--json']]) {
      const r = cli(args);
      expect(r.code).toBe(0);
      expect(describeHits(scanner.scan({ stdout: r.stdout, stderr: r.stderr }, args.join(' ')))).toBe(describeHits([]));
    }
  });

  it('usage errors exit 2, a missing probe library exits 5', () => {
    expect(cli(['provision']).code).toBe(2);
    expect(cli(['provision', '--sim', '--snr', '123']).code).toBe(2);
    expect(cli(['provision', '--sim', '--implementation-id', 'abcd']).code).toBe(2);
    expect(cli(['provision', '--sim', '--chip', 'nrf52840']).code).toBe(2);
    const r = cli(['provision', '--snr', '123456789', '--backend', 'nrfjprog', '--library', path.join(dir, 'no-such-library.so'), '--json']);
    expect(r.code).toBe(5);
    expect(jsonLines(r.stdout).pop()).toMatchObject({ type: 'result', ok: false });
  });
});

describe('tfm-provision inspect', () => {
  it('reports the state and what provision would do, in text and JSON, writing nothing', () => {
    const file = path.join(dir, 'inspect.json');
    expect(cli(['sim', 'create', file, '--chip', 'nrf5340', '--state', 'provisioning']).code).toBe(0);
    const before = SimulatedDevice.load(file).dump();
    const text = cli(['inspect', '--sim', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/lifecycle\s+PROVISIONING \(PSA 0x2000\)/);
    expect(text.stdout).toMatch(/provision would: refuse with PARTIALLY_PROVISIONED/);
    const json = cli(['inspect', '--sim', file, '--json']);
    const lines = jsonLines(json.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'result', ok: true, chip: 'nrf5340', lifecycle: 'PROVISIONING', report: { decision: { action: 'refuse', errorCode: 'PARTIALLY_PROVISIONED' } } });
    expect(SimulatedDevice.load(file).dump()).toEqual(before);
  });
});
